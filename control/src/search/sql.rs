//! Turns a search `Query` into one SQL statement for a backend, without
//! touching a database: the keyword match and its score (FTS5's bm25 or
//! PostgreSQL's ts_rank), the filters, the order and the keyset condition
//! that starts a page after the previous one's last hit.

use platform::db::Backend;

use super::cursor::Key;
use super::{geo, Query, Sort};

/// A value bound to a placeholder, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Float,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// The columns (of the inner select) a sort orders by, in order.
pub fn sort_keys(sort: Sort) -> &'static [(&'static str, Direction, KeyKind)] {
    use Direction::*;
    match sort {
        Sort::Relevance => &[("score", Desc, KeyKind::Float), ("id", Asc, KeyKind::Text)],
        Sort::Popularity => &[
            ("consultations", Desc, KeyKind::Int),
            ("last_active_at", Desc, KeyKind::Int),
            ("id", Asc, KeyKind::Text),
        ],
        Sort::PriceAsc => &[("price", Asc, KeyKind::Int), ("id", Asc, KeyKind::Text)],
        Sort::PriceDesc => &[("price", Desc, KeyKind::Int), ("id", Asc, KeyKind::Text)],
        Sort::Rating => &[
            ("rating_milli", Desc, KeyKind::Int),
            ("rating_count", Desc, KeyKind::Int),
            ("id", Asc, KeyKind::Text),
        ],
    }
}

/// The hit columns every search returns, in this order.
pub const HIT_COLUMNS: &str = "id, first_name, last_name, photo_key, city, languages, price_text, \
    price_video, price_call, instant_booking, rating_count, rating_sum, rating_milli, consultations, \
    last_active_at, latitude_e6, longitude_e6, score, price";

struct Builder {
    binds: Vec<Bind>,
}

impl Builder {
    /// Binds `v` and returns its placeholder.
    fn bind(&mut self, v: Bind) -> String {
        self.binds.push(v);
        format!("${}", self.binds.len())
    }
}

/// The keyword query in each engine's syntax. Words are folded to letters and
/// digits, so nothing in them is syntax.
fn match_expression(backend: Backend, words: &[String]) -> String {
    match backend {
        Backend::Sqlite => words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND "),
        Backend::Postgres => words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    }
}

/// One statement returning up to `limit` hits after `after`, in order.
pub fn build(
    backend: Backend,
    q: &Query,
    after: Option<&[Key]>,
    limit: usize,
) -> (String, Vec<Bind>) {
    let mut b = Builder { binds: Vec::new() };
    let mut conditions = vec!["e.listed = 1".to_owned()];
    let keywords = !q.words.is_empty();
    let (from, score) = match (backend, keywords) {
        (_, false) => (
            "experts e".to_owned(),
            "CAST(0 AS DOUBLE PRECISION)".to_owned(),
        ),
        (Backend::Sqlite, true) => {
            let m = b.bind(Bind::Text(match_expression(backend, &q.words)));
            conditions.push(format!("expert_fts MATCH {m}"));
            (
                "expert_fts JOIN expert_fts_keys k ON k.id = expert_fts.rowid \
                 JOIN experts e ON e.account_id = k.account_id"
                    .to_owned(),
                // bm25 is lower for better matches; columns: name, domains, bio.
                "-bm25(expert_fts, 10.0, 4.0, 1.0)".to_owned(),
            )
        }
        (Backend::Postgres, true) => {
            let m = b.bind(Bind::Text(match_expression(backend, &q.words)));
            conditions.push(format!("e.search_doc @@ to_tsquery('simple', {m})"));
            (
                "experts e".to_owned(),
                format!(
                    "CAST(ts_rank(e.search_doc, to_tsquery('simple', {m})) AS DOUBLE PRECISION)"
                ),
            )
        }
    };
    let f = &q.filters;
    let price = f.price_service().price_column();
    if let Some(d) = &f.domain {
        let p = b.bind(Bind::Text(d.clone()));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM expert_domains xd WHERE xd.account_id = e.account_id AND xd.domain = {p})"
        ));
    }
    if let Some(l) = &f.language {
        let p = b.bind(Bind::Text(l.clone()));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM expert_languages xl WHERE xl.account_id = e.account_id AND xl.language = {p})"
        ));
    }
    if f.service.is_some() || matches!(q.sort, Sort::PriceAsc | Sort::PriceDesc) {
        conditions.push(format!("e.{price} IS NOT NULL"));
    }
    if let Some(v) = f.min_price {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("e.{price} >= {p}"));
    }
    if let Some(v) = f.max_price {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("e.{price} <= {p}"));
    }
    if let Some(v) = f.min_rating_milli {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("e.rating_count > 0 AND e.rating_milli >= {p}"));
    }
    if let Some(near) = &f.near {
        let bbox = geo::bounding_box(near.centre, near.radius_m);
        let (s, n) = (
            b.bind(Bind::Int(bbox.latitude.0)),
            b.bind(Bind::Int(bbox.latitude.1)),
        );
        conditions.push(format!("e.latitude_e6 BETWEEN {s} AND {n}"));
        match bbox.longitude {
            Some((west, east)) => {
                let (w, e) = (b.bind(Bind::Int(west)), b.bind(Bind::Int(east)));
                conditions.push(format!("e.longitude_e6 BETWEEN {w} AND {e}"));
            }
            None => conditions.push("e.longitude_e6 IS NOT NULL".to_owned()),
        }
    }
    if let Some(free) = &f.free {
        conditions.push(availability_candidates(&mut b, free.from, free.to));
    }
    let keys = sort_keys(q.sort);
    let page_condition = after.map(|values| keyset(&mut b, keys, values));
    let order = keys
        .iter()
        .map(|(column, dir, _)| match dir {
            Direction::Asc => format!("{column} ASC"),
            Direction::Desc => format!("{column} DESC"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let limit = b.bind(Bind::Int(limit as i64));
    let sql = format!(
        "SELECT {HIT_COLUMNS} FROM (SELECT e.account_id AS id, a.first_name, a.last_name, a.photo_key, \
         e.city, e.languages, e.price_text, e.price_video, e.price_call, e.instant_booking, \
         e.rating_count, e.rating_sum, e.rating_milli, e.consultations, e.last_active_at, \
         e.latitude_e6, e.longitude_e6, {score} AS score, e.{price} AS price \
         FROM {from} JOIN accounts a ON a.id = e.account_id WHERE {}) s{} ORDER BY {order} LIMIT {limit}",
        conditions.join(" AND "),
        page_condition.map(|c| format!(" WHERE {c}")).unwrap_or_default(),
    );
    (sql, b.binds)
}

/// Experts who could have free time in `[from, to)`: weekly hours on a
/// weekday the range touches, or extra hours on a date it touches. Dates are
/// widened by a day each side, since the experts' zones are not known here;
/// the exact check (zones, exceptions, bookings, notice, horizon) is
/// `calendar::slots`, run on the candidates by `store`.
fn availability_candidates(b: &mut Builder, from: i64, to: i64) -> String {
    use jiff::Timestamp;
    let day = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
    };
    let (Some(first), Some(last)) = (
        day(from).and_then(|d| d.yesterday().ok()),
        day(to).and_then(|d| d.tomorrow().ok()),
    ) else {
        return "1 = 0".to_owned();
    };
    let mut weekdays: Vec<i64> = Vec::new();
    let mut d = first;
    while d <= last && weekdays.len() < 7 {
        let w = i64::from(d.weekday().to_monday_one_offset());
        if !weekdays.contains(&w) {
            weekdays.push(w);
        }
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    weekdays.sort_unstable();
    let list: Vec<String> = weekdays.into_iter().map(|w| b.bind(Bind::Int(w))).collect();
    let (lo, hi) = (
        b.bind(Bind::Text(first.to_string())),
        b.bind(Bind::Text(last.to_string())),
    );
    format!(
        "(EXISTS (SELECT 1 FROM availability_rules r WHERE r.expert_id = e.account_id \
         AND r.weekday IN ({})) OR EXISTS (SELECT 1 FROM availability_exceptions x \
         WHERE x.expert_id = e.account_id AND x.kind = 'extra' AND x.day BETWEEN {lo} AND {hi}))",
        list.join(", ")
    )
}

/// Rows strictly after `values` in the order of `keys`: for keys k1..kn,
/// (k1 beyond v1) OR (k1 = v1 AND k2 beyond v2) OR ...
fn keyset(b: &mut Builder, keys: &[(&str, Direction, KeyKind)], values: &[Key]) -> String {
    let placeholders: Vec<String> = values
        .iter()
        .map(|v| {
            b.bind(match v {
                Key::Int(i) => Bind::Int(*i),
                Key::Float(f) => Bind::Float(*f),
                Key::Text(t) => Bind::Text(t.clone()),
            })
        })
        .collect();
    let mut alternatives = Vec::new();
    for i in 0..keys.len() {
        let mut parts: Vec<String> = (0..i)
            .map(|j| format!("{} = {}", keys[j].0, placeholders[j]))
            .collect();
        let op = match keys[i].1 {
            Direction::Asc => ">",
            Direction::Desc => "<",
        };
        parts.push(format!("{} {op} {}", keys[i].0, placeholders[i]));
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    format!("({})", alternatives.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Filters;

    #[test]
    fn keyset_condition_and_binds_follow_the_sort() {
        let q = Query {
            words: vec!["yoga".into()],
            filters: Filters::default(),
            sort: Sort::Popularity,
            after: None,
            limit: 10,
        };
        let after = [Key::Int(7), Key::Int(100), Key::Text("x".into())];
        let (sql, binds) = build(Backend::Postgres, &q, Some(&after), 11);
        assert!(sql.contains(
            "((consultations < $2) OR (consultations = $2 AND last_active_at < $3) OR \
             (consultations = $2 AND last_active_at = $3 AND id > $4))"
        ));
        assert!(sql.ends_with("ORDER BY consultations DESC, last_active_at DESC, id ASC LIMIT $5"));
        assert_eq!(binds[0], Bind::Text("yoga:*".into()));
        assert_eq!(binds[4], Bind::Int(11));
        let (sql, binds) = build(Backend::Sqlite, &q, None, 5);
        assert!(sql.contains("expert_fts MATCH $1"));
        assert_eq!(binds[0], Bind::Text("\"yoga\"*".into()));
    }

    #[test]
    fn availability_candidates_cover_the_range_a_day_wider_each_side() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let mut q = Query {
            words: Vec::new(),
            filters: Filters::default(),
            sort: Sort::Popularity,
            after: None,
            limit: 10,
        };
        // Wednesday 10:00 to 12:00 UTC: Tuesday to Thursday, 2031-06-03 to 05.
        q.filters.free = Some(crate::search::Free {
            from: at("2031-06-04T10:00:00Z"),
            to: at("2031-06-04T12:00:00Z"),
            now: 0,
        });
        let (sql, binds) = build(Backend::Postgres, &q, None, 11);
        assert!(sql.contains("r.weekday IN ($1, $2, $3)"), "{sql}");
        assert!(sql.contains("x.day BETWEEN $4 AND $5"));
        assert_eq!(&binds[..3], &[Bind::Int(2), Bind::Int(3), Bind::Int(4)]);
        assert_eq!(binds[3], Bind::Text("2031-06-03".into()));
        assert_eq!(binds[4], Bind::Text("2031-06-05".into()));
        // A week or more: every weekday.
        q.filters.free = Some(crate::search::Free {
            from: at("2031-06-04T10:00:00Z"),
            to: at("2031-06-09T10:00:00Z"),
            now: 0,
        });
        let (sql, _) = build(Backend::Sqlite, &q, None, 11);
        assert!(
            sql.contains("r.weekday IN ($1, $2, $3, $4, $5, $6, $7)"),
            "{sql}"
        );
    }
}
