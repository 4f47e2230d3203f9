//! Search page cursors: the sort keys of the last hit of a page, tagged with
//! the sort they belong to, opaque to clients. Floats travel as their bits so
//! a relevance score comes back exactly as the database computed it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use super::Sort;

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Int(i64),
    Float(f64),
    Text(String),
}

pub fn encode(sort: Sort, keys: &[Key]) -> String {
    let mut raw = sort.name().to_owned();
    for k in keys {
        raw.push('|');
        match k {
            Key::Int(v) => raw.push_str(&format!("i{v}")),
            Key::Float(v) => raw.push_str(&format!("f{:x}", v.to_bits())),
            Key::Text(v) => raw.push_str(&format!("t{v}")),
        }
    }
    B64.encode(raw)
}

/// The keys of a cursor made for `sort`; `None` for anything we did not give
/// (including a cursor of another sort).
pub fn decode(sort: Sort, cursor: &str) -> Option<Vec<Key>> {
    let raw = String::from_utf8(B64.decode(cursor).ok()?).ok()?;
    let mut parts = raw.split('|');
    if parts.next()? != sort.name() {
        return None;
    }
    let keys = parts
        .map(|p| {
            let (tag, v) = p.split_at_checked(1)?;
            match tag {
                "i" => v.parse().ok().map(Key::Int),
                "f" => u64::from_str_radix(v, 16)
                    .ok()
                    .map(f64::from_bits)
                    .filter(|f| f.is_finite())
                    .map(Key::Float),
                "t" if uuid::Uuid::parse_str(v).is_ok() => Some(Key::Text(v.to_owned())),
                _ => None,
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let shape_ok = keys.len() == super::sql::sort_keys(sort).len()
        && keys
            .iter()
            .zip(super::sql::sort_keys(sort))
            .all(|(k, (_, _, kind))| {
                matches!(
                    (k, kind),
                    (Key::Int(_), super::sql::KeyKind::Int)
                        | (Key::Float(_), super::sql::KeyKind::Float)
                        | (Key::Text(_), super::sql::KeyKind::Text)
                )
            });
    shape_ok.then_some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly_and_refuses_what_we_did_not_give() {
        let id = "0190d3c4-0000-7000-8000-000000000001".to_owned();
        let keys = vec![
            Key::Float(0.1 + 0.2),
            Key::Int(3),
            Key::Int(-5),
            Key::Text(id.clone()),
        ];
        let c = encode(Sort::Relevance, &keys);
        assert_eq!(decode(Sort::Relevance, &c), Some(keys));
        assert_eq!(decode(Sort::Popularity, &c), None, "another sort's cursor");
        let pop = vec![Key::Int(3), Key::Int(-5), Key::Text(id.clone())];
        assert_eq!(
            decode(Sort::Popularity, &encode(Sort::Popularity, &pop)),
            Some(pop)
        );
        for bad in [
            "",
            "!!",
            "cmVsZXZhbmNl",
            &B64.encode("relevance|i1|tnot-a-uuid"),
            // The shape of a relevance cursor before popularity broke ties.
            &B64.encode(format!("relevance|f{:x}|t{id}", 1.5f64.to_bits())),
        ] {
            assert_eq!(decode(Sort::Relevance, bad), None, "{bad}");
        }
    }
}
