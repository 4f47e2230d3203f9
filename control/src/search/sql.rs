//! Turns a search `Query` into one SQL statement for a backend, without
//! touching a database: the keyword match and its score (FTS5's bm25 or
//! PostgreSQL's ts_rank), the filters, the order and the keyset condition
//! that starts a page after the previous one's last hit.

use platform::db::Backend;

use super::cursor::Key;
use super::{geo, tags, Query, Sort};

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

/// The facet tokens the filters require (see `tags`): every group must
/// match, and within a group any token.
fn required_tags(q: &Query) -> Vec<Vec<String>> {
    let f = &q.filters;
    let service = f.price_service();
    let mut out = Vec::new();
    if let Some(d) = &f.domain {
        out.push(vec![tags::domain(d)]);
    }
    if let Some(l) = &f.language {
        out.push(vec![tags::language(l)]);
    }
    if f.service.is_some() || matches!(q.sort, Sort::PriceAsc | Sort::PriceDesc) {
        out.push(vec![tags::service(service)]);
    }
    out.extend(
        f.max_price
            .and_then(|v| tags::price_at_most(service, v))
            .map(|t| vec![t]),
    );
    out.extend(
        f.min_price
            .and_then(|v| tags::price_at_least(service, v))
            .map(|t| vec![t]),
    );
    out.extend(
        f.min_rating_milli
            .and_then(tags::rating_at_least)
            .map(|t| vec![t]),
    );
    out.extend(f.near.and_then(|n| tags::near(n.centre, n.radius_m)));
    out
}

/// The full-text query in each engine's syntax: every keyword as a word
/// prefix in the text fields, and every required tag group in the tags.
/// SQLite's is one FTS5 expression; PostgreSQL's is two tsqueries, one for
/// the text and one (possibly none) for the tags, each over its own
/// tsvector. Words and tokens are folded to letters and digits, so nothing
/// in them is syntax.
fn match_expression(
    backend: Backend,
    words: &[String],
    tags: &[Vec<String>],
) -> (String, Option<String>) {
    match backend {
        Backend::Sqlite => {
            let text = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let mut parts = vec![format!("{{name domains bio}} : ({text})")];
            parts.extend(tags.iter().map(|group| {
                let any: Vec<String> = group.iter().map(|t| format!("\"{t}\"")).collect();
                format!("tags : ({})", any.join(" OR "))
            }));
            (parts.join(" AND "), None)
        }
        Backend::Postgres => {
            let text = words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            let tags = tags
                .iter()
                .map(|group| format!("({})", group.join(" | ")))
                .collect::<Vec<_>>();
            (text, (!tags.is_empty()).then(|| tags.join(" & ")))
        }
    }
}

/// The joins and conditions of the filters, on the experts row `t`. Domain
/// and language are joins on their indexed link tables (one row per expert
/// and value, so no duplicates), which lets the planner start from them.
/// With `facets_matched`, domain, language and service are already required
/// by the full-text query and are left out here.
fn filter_clauses(
    b: &mut Builder,
    q: &Query,
    t: &str,
    facets_matched: bool,
) -> (String, Vec<String>) {
    let f = &q.filters;
    let price = f.price_service().price_column();
    let mut joins = String::new();
    let mut conditions = Vec::new();
    if let (false, Some(d)) = (facets_matched, &f.domain) {
        let p = b.bind(Bind::Text(d.clone()));
        joins.push_str(&format!(
            " JOIN expert_domains xd ON xd.account_id = {t}.account_id AND xd.domain = {p}"
        ));
    }
    if let (false, Some(l)) = (facets_matched, &f.language) {
        let p = b.bind(Bind::Text(l.clone()));
        joins.push_str(&format!(
            " JOIN expert_languages xl ON xl.account_id = {t}.account_id AND xl.language = {p}"
        ));
    }
    let priced = f.service.is_some() || matches!(q.sort, Sort::PriceAsc | Sort::PriceDesc);
    if priced && !facets_matched {
        conditions.push(format!("{t}.{price} IS NOT NULL"));
    }
    if let Some(v) = f.min_price {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("{t}.{price} >= {p}"));
    }
    if let Some(v) = f.max_price {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("{t}.{price} <= {p}"));
    }
    if let Some(v) = f.min_rating_milli {
        let p = b.bind(Bind::Int(v));
        conditions.push(format!("{t}.rating_count > 0 AND {t}.rating_milli >= {p}"));
    }
    if let Some(near) = &f.near {
        let bbox = geo::bounding_box(near.centre, near.radius_m);
        let (s, n) = (
            b.bind(Bind::Int(bbox.latitude.0)),
            b.bind(Bind::Int(bbox.latitude.1)),
        );
        conditions.push(format!("{t}.latitude_e6 BETWEEN {s} AND {n}"));
        match bbox.longitude {
            Some((west, east)) => {
                let (w, e) = (b.bind(Bind::Int(west)), b.bind(Bind::Int(east)));
                conditions.push(format!("{t}.longitude_e6 BETWEEN {w} AND {e}"));
            }
            None => conditions.push(format!("{t}.longitude_e6 IS NOT NULL")),
        }
    }
    if let Some(free) = &f.free {
        conditions.push(availability_candidates(b, free.from, free.to, t));
    }
    (joins, conditions)
}

/// One statement returning up to `limit` hits after `after`, in order. The
/// candidates are found, filtered, ordered and cut to the page on narrow rows
/// first; only the page's rows are then joined to the profile and account.
pub fn build(
    backend: Backend,
    q: &Query,
    after: Option<&[Key]>,
    limit: usize,
) -> (String, Vec<Bind>) {
    let mut b = Builder { binds: Vec::new() };
    let price = q.filters.price_service().price_column();
    let keywords = !q.words.is_empty();
    let (candidates, conditions) = match (backend, keywords) {
        (_, false) => {
            let (joins, mut conditions) = filter_clauses(&mut b, q, "c", false);
            conditions.insert(0, "c.listed = 1".to_owned());
            (
                format!(
                    "SELECT c.account_id AS id, CAST(0 AS DOUBLE PRECISION) AS score, \
                     c.{price} AS price, c.consultations, c.last_active_at, c.rating_milli, \
                     c.rating_count FROM experts c{joins}"
                ),
                conditions,
            )
        }
        (Backend::Sqlite, true) => {
            let (expression, _) = match_expression(backend, &q.words, &required_tags(q));
            let m = b.bind(Bind::Text(expression));
            // `expert_fts_keys` carries what filters and sorts read, so a
            // match costs one integer-key lookup, not a join to `experts`.
            let (_, mut conditions) = filter_clauses(&mut b, q, "c", true);
            conditions.insert(0, format!("expert_fts MATCH {m}"));
            (
                // bm25 is lower for better matches; columns: name, domains,
                // bio, tags (which only filter).
                format!(
                    "SELECT c.account_id AS id, -bm25(expert_fts, 10.0, 4.0, 1.0, 0.0) AS score, \
                     c.{price} AS price, c.consultations, c.last_active_at, c.rating_milli, \
                     c.rating_count FROM expert_fts JOIN expert_fts_keys c ON c.id = expert_fts.rowid"
                ),
                conditions,
            )
        }
        (Backend::Postgres, true) => {
            let (text, tags) = match_expression(backend, &q.words, &required_tags(q));
            let t = b.bind(Bind::Text(text));
            let g = tags.map(|tags| b.bind(Bind::Text(tags)));
            let (_, mut conditions) = filter_clauses(&mut b, q, "c", true);
            // `expert_search` holds listed experts only. The keywords and the
            // facet tokens are separate tsvectors: neither query restricts
            // weights, so the GIN indexes answer without rechecking rows,
            // and ranking reads only the (smaller) text one.
            conditions.insert(0, format!("c.text_doc @@ to_tsquery('simple', {t})"));
            if let Some(g) = g {
                conditions.insert(1, format!("c.tags_doc @@ to_tsquery('simple', {g})"));
            }
            (
                format!(
                    "SELECT c.account_id AS id, \
                     CAST(ts_rank(c.text_doc, to_tsquery('simple', {t})) AS DOUBLE PRECISION) AS score, \
                     c.{price} AS price, c.consultations, c.last_active_at, c.rating_milli, \
                     c.rating_count FROM expert_search c"
                ),
                conditions,
            )
        }
    };
    let keys = sort_keys(q.sort);
    let page_condition = after.map(|values| keyset(&mut b, keys, values));
    let order = |table: &str| {
        keys.iter()
            .map(|(column, dir, _)| match dir {
                Direction::Asc => format!("{table}{column} ASC"),
                Direction::Desc => format!("{table}{column} DESC"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let limit = b.bind(Bind::Int(limit as i64));
    let sql = format!(
        "SELECT p.id, a.first_name, a.last_name, a.photo_key, e.city, e.languages, e.price_text, \
         e.price_video, e.price_call, e.instant_booking, e.rating_count, e.rating_sum, e.rating_milli, \
         e.consultations, e.last_active_at, e.latitude_e6, e.longitude_e6, p.score, p.price \
         FROM (SELECT * FROM ({candidates} WHERE {}) s{} ORDER BY {} LIMIT {limit}) p \
         JOIN experts e ON e.account_id = p.id JOIN accounts a ON a.id = p.id ORDER BY {}",
        conditions.join(" AND "),
        page_condition.map(|c| format!(" WHERE {c}")).unwrap_or_default(),
        order(""),
        order("p."),
    );
    (sql, b.binds)
}

/// Experts who could have free time in `[from, to)`: weekly hours on a
/// weekday the range touches, or extra hours on a date it touches. Dates are
/// widened by a day each side, since the experts' zones are not known here;
/// the exact check (zones, exceptions, bookings, notice, horizon) is
/// `calendar::slots`, run on the candidates by `store`.
fn availability_candidates(b: &mut Builder, from: i64, to: i64, t: &str) -> String {
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
        "(EXISTS (SELECT 1 FROM availability_rules r WHERE r.expert_id = {t}.account_id \
         AND r.weekday IN ({})) OR EXISTS (SELECT 1 FROM availability_exceptions x \
         WHERE x.expert_id = {t}.account_id AND x.kind = 'extra' AND x.day BETWEEN {lo} AND {hi}))",
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
        assert!(sql.contains("ORDER BY consultations DESC, last_active_at DESC, id ASC LIMIT $5"));
        assert!(sql.ends_with("ORDER BY p.consultations DESC, p.last_active_at DESC, p.id ASC"));
        assert_eq!(binds[0], Bind::Text("yoga:*".into()));
        assert_eq!(binds[4], Bind::Int(11));
        // A facet filter goes to the tags' tsvector, in its own query.
        let mut with_domain = q.clone();
        with_domain.filters.domain = Some("well-being".into());
        let (sql, binds) = build(Backend::Postgres, &with_domain, None, 11);
        assert!(sql.contains("c.text_doc @@ to_tsquery('simple', $1)"));
        assert!(sql.contains("c.tags_doc @@ to_tsquery('simple', $2)"));
        assert_eq!(binds[1], Bind::Text("(zqdwellbeing)".into()));
        let mut q = q;
        q.filters.domain = Some("well-being".into());
        let (sql, binds) = build(Backend::Sqlite, &q, None, 5);
        assert!(sql.contains("expert_fts MATCH $1"));
        assert_eq!(
            binds[0],
            Bind::Text("{name domains bio} : (\"yoga\"*) AND tags : (\"zqdwellbeing\")".into())
        );
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
