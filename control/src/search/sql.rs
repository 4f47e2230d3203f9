//! Turns a search `Query` into one SQL statement for a backend, without
//! touching a database: the keyword match and its relevance (`Field`), the
//! filters, the order and the keyset condition that starts a page after the
//! previous one's last hit.

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

impl Direction {
    /// The comparison of a value that comes after another in this order.
    fn beyond(self) -> &'static str {
        match self {
            Direction::Asc => ">",
            Direction::Desc => "<",
        }
    }
}

/// The columns (of the inner select) a sort orders by, in order.
pub fn sort_keys(sort: Sort) -> &'static [(&'static str, Direction, KeyKind)] {
    use Direction::*;
    match sort {
        Sort::Relevance => &[
            ("score", Desc, KeyKind::Float),
            ("consultations", Desc, KeyKind::Int),
            ("last_active_at", Desc, KeyKind::Int),
            ("id", Asc, KeyKind::Text),
        ],
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

/// Where a keyword matched. A hit's relevance adds up, over the keywords, the
/// weight of the best field each one matched in; equal scores go to the more
/// popular expert (the popularity sort's keys follow the score). How often a
/// word is repeated does not count, so stuffing a bio with it gains nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Domains,
    Bio,
}

impl Field {
    /// Best first.
    pub const ALL: [Field; 3] = [Field::Name, Field::Domains, Field::Bio];

    /// A match in a name outweighs one in domains, which outweighs one in a
    /// bio.
    pub fn weight(self) -> f64 {
        match self {
            Field::Name => 4.0,
            Field::Domains => 2.0,
            Field::Bio => 1.0,
        }
    }

    /// PostgreSQL's tsvector of this field alone.
    fn document(self) -> &'static str {
        match self {
            Field::Name => "name_doc",
            Field::Domains => "domains_doc",
            Field::Bio => "bio_doc",
        }
    }

    /// FTS5's column.
    fn column(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Domains => "domains",
            Field::Bio => "bio",
        }
    }
}

/// Which keyword matches a statement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// All of them, each scored.
    All,
    /// PostgreSQL, one keyword: those whose best field is `field` (one score
    /// for all, so they are in popularity order). With a `window`, only among
    /// that many experts in popularity order from the cursor on: bounded work
    /// whatever the word's frequency, exact when it fills the page.
    Tier { field: Field, window: Option<usize> },
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
pub fn required_tags(q: &Query) -> Vec<Vec<String>> {
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

/// SQLite's full-text query, one FTS5 expression: every keyword as a word
/// prefix in the text fields, and every required tag group in the tags.
/// Words and tokens are folded to letters and digits, so nothing in them is
/// syntax.
fn fts5_expression(words: &[String], tags: &[Vec<String>]) -> String {
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
    parts.join(" AND ")
}

/// PostgreSQL's tsquery over the tags' tsvector, if any tag is required.
fn tags_tsquery(tags: &[Vec<String>]) -> Option<String> {
    let groups: Vec<String> = tags
        .iter()
        .map(|group| format!("({})", group.join(" | ")))
        .collect();
    (!groups.is_empty()).then(|| groups.join(" & "))
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

/// One statement returning up to `limit` hits of `part` after `after`, in
/// order. The candidates are found, filtered, ordered and cut to the page on
/// narrow rows first; only the page's rows are then joined to the profile and
/// account.
pub fn build(
    backend: Backend,
    q: &Query,
    part: Part,
    after: Option<&[Key]>,
    limit: usize,
) -> (String, Vec<Bind>) {
    let mut b = Builder { binds: Vec::new() };
    let price = q.filters.price_service().price_column();
    let keywords = !q.words.is_empty();
    let columns = format!(
        "c.{price} AS price, c.consultations, c.last_active_at, c.rating_milli, c.rating_count"
    );
    // Set apart from the ordered, limited select so the planner cannot walk
    // the popularity index hoping for early matches: a `Tier` without a window
    // runs when its window found them sparse.
    let mut fence = "";
    let (candidates, conditions) = match (backend, keywords, part) {
        (_, false, _) => {
            let (joins, mut conditions) = filter_clauses(&mut b, q, "c", false);
            conditions.insert(0, "c.listed = 1".to_owned());
            (
                format!(
                    "SELECT c.account_id AS id, CAST(0 AS DOUBLE PRECISION) AS score, {columns} \
                     FROM experts c{joins}"
                ),
                conditions,
            )
        }
        (Backend::Sqlite, true, _) => {
            let m = b.bind(Bind::Text(fts5_expression(&q.words, &required_tags(q))));
            // Each field's matches found once by FTS5, with a column filter.
            let score = relevance(&q.words, |field, w| {
                let m = b.bind(Bind::Text(format!("{} : \"{w}\"*", field.column())));
                format!("c.id IN (SELECT rowid FROM expert_fts WHERE expert_fts MATCH {m})")
            });
            // `expert_fts_keys` carries what filters and sorts read, so a
            // match costs one integer-key lookup, not a join to `experts`.
            let (_, mut conditions) = filter_clauses(&mut b, q, "c", true);
            conditions.insert(0, format!("expert_fts MATCH {m}"));
            (
                format!(
                    "SELECT c.account_id AS id, CAST({score} AS DOUBLE PRECISION) AS score, \
                     {columns} FROM expert_fts JOIN expert_fts_keys c ON c.id = expert_fts.rowid"
                ),
                conditions,
            )
        }
        (Backend::Postgres, true, part) => {
            // `expert_search` holds listed experts only, with a tsvector per
            // text field and one of facet tokens, each answered exactly by its
            // GIN index. Each keyword is a word prefix.
            let words: Vec<String> = q
                .words
                .iter()
                .map(|w| b.bind(Bind::Text(format!("{w}:*"))))
                .collect();
            let tags = tags_tsquery(&required_tags(q)).map(|g| b.bind(Bind::Text(g)));
            let (_, mut conditions) = filter_clauses(&mut b, q, "c", true);
            let in_field = |field: Field, w: &str| {
                format!("c.{} @@ to_tsquery('simple', {w})", field.document())
            };
            let (score, mut matched, from) = match part {
                Part::All => (
                    relevance(&words, in_field),
                    words
                        .iter()
                        .map(|w| {
                            let any: Vec<String> =
                                Field::ALL.iter().map(|f| in_field(*f, w)).collect();
                            format!("({})", any.join(" OR "))
                        })
                        .collect(),
                    "expert_search c".to_owned(),
                ),
                Part::Tier { field, window } => {
                    let w = &words[0];
                    // Its best field is this one: not in a better one.
                    let mut matched = vec![in_field(field, w)];
                    matched.extend(
                        Field::ALL
                            .iter()
                            .take_while(|better| **better != field)
                            .map(|better| format!("NOT {}", in_field(*better, w))),
                    );
                    let from = match window {
                        Some(rows) => {
                            // The cursor's place in popularity order, when it
                            // is in this tier; from a better tier, the whole
                            // tier follows it.
                            let start = after
                                .filter(|keys| keys.first() == Some(&Key::Float(field.weight())))
                                .map(|keys| {
                                    let popularity = [
                                        ("w.consultations", Direction::Desc),
                                        ("w.last_active_at", Direction::Desc),
                                        ("w.account_id", Direction::Asc),
                                    ];
                                    format!(" WHERE {}", keyset(&mut b, &popularity, &keys[1..]))
                                })
                                .unwrap_or_default();
                            let rows = b.bind(Bind::Int(rows as i64));
                            format!(
                                "(SELECT * FROM expert_search w{start} ORDER BY \
                                 w.consultations DESC, w.last_active_at DESC, w.account_id ASC \
                                 LIMIT {rows}) c"
                            )
                        }
                        None => {
                            fence = " OFFSET 0";
                            "expert_search c".to_owned()
                        }
                    };
                    (field.weight().to_string(), matched, from)
                }
            };
            matched.extend(tags.map(|g| format!("c.tags_doc @@ to_tsquery('simple', {g})")));
            conditions.splice(0..0, matched);
            (
                format!(
                    "SELECT c.account_id AS id, CAST({score} AS DOUBLE PRECISION) AS score, \
                     {columns} FROM {from}"
                ),
                conditions,
            )
        }
    };
    let keys = sort_keys(q.sort);
    let page_condition = after.map(|values| {
        let columns: Vec<(&str, Direction)> = keys.iter().map(|(c, d, _)| (*c, *d)).collect();
        keyset(&mut b, &columns, values)
    });
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
         FROM (SELECT * FROM ({candidates} WHERE {}{fence}) s{} ORDER BY {} LIMIT {limit}) p \
         JOIN experts e ON e.account_id = p.id JOIN accounts a ON a.id = p.id ORDER BY {}",
        conditions.join(" AND "),
        page_condition.map(|c| format!(" WHERE {c}")).unwrap_or_default(),
        order(""),
        order("p."),
    );
    (sql, b.binds)
}

/// The relevance of a keyword match: per keyword, the weight of the best
/// field it is in, `in_field` being the backend's test of a field (a match in
/// no better field is in the bio).
fn relevance(words: &[String], mut in_field: impl FnMut(Field, &str) -> String) -> String {
    let per_word: Vec<String> = words
        .iter()
        .map(|w| {
            let mut case = String::from("CASE");
            for field in [Field::Name, Field::Domains] {
                case.push_str(&format!(
                    " WHEN {} THEN {}",
                    in_field(field, w),
                    field.weight()
                ));
            }
            format!("{case} ELSE {} END", Field::Bio.weight())
        })
        .collect();
    format!("({})", per_word.join(" + "))
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
fn keyset(b: &mut Builder, keys: &[(&str, Direction)], values: &[Key]) -> String {
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
    // The first key's bound, implied by the alternatives but usable as an
    // index range start, so a deep page does not walk every row before it.
    let first = format!("{} {}= {}", keys[0].0, keys[0].1.beyond(), placeholders[0]);
    let mut alternatives = Vec::new();
    for i in 0..keys.len() {
        let mut parts: Vec<String> = (0..i)
            .map(|j| format!("{} = {}", keys[j].0, placeholders[j]))
            .collect();
        parts.push(format!(
            "{} {} {}",
            keys[i].0,
            keys[i].1.beyond(),
            placeholders[i]
        ));
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    format!("({first} AND ({}))", alternatives.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Filters;

    /// "yoga", no filter, ten a page.
    fn yoga(sort: Sort) -> Query {
        Query {
            words: vec!["yoga".into()],
            filters: Filters::default(),
            sort,
            after: None,
            limit: 10,
        }
    }

    #[test]
    fn keyset_condition_and_binds_follow_the_sort() {
        let q = yoga(Sort::Popularity);
        let after = [Key::Int(7), Key::Int(100), Key::Text("x".into())];
        let (sql, binds) = build(Backend::Postgres, &q, Part::All, Some(&after), 11);
        assert!(sql.contains(
            "(consultations <= $2 AND ((consultations < $2) OR \
             (consultations = $2 AND last_active_at < $3) OR \
             (consultations = $2 AND last_active_at = $3 AND id > $4)))"
        ));
        assert!(sql.contains("ORDER BY consultations DESC, last_active_at DESC, id ASC LIMIT $5"));
        assert!(sql.ends_with("ORDER BY p.consultations DESC, p.last_active_at DESC, p.id ASC"));
        assert_eq!(binds[0], Bind::Text("yoga:*".into()));
        assert_eq!(binds[4], Bind::Int(11));
        // A facet filter goes to the tags' tsvector, in its own query.
        let mut with_domain = q.clone();
        with_domain.filters.domain = Some("well-being".into());
        let (sql, binds) = build(Backend::Postgres, &with_domain, Part::All, None, 11);
        assert!(sql.contains(
            "(c.name_doc @@ to_tsquery('simple', $1) OR c.domains_doc @@ to_tsquery('simple', $1) \
             OR c.bio_doc @@ to_tsquery('simple', $1))"
        ));
        assert!(sql.contains("c.tags_doc @@ to_tsquery('simple', $2)"));
        assert_eq!(binds[1], Bind::Text("(zqdwellbeing)".into()));
        let mut q = q;
        q.filters.domain = Some("well-being".into());
        let (sql, binds) = build(Backend::Sqlite, &q, Part::All, None, 5);
        assert!(sql.contains("expert_fts MATCH $1"));
        assert_eq!(
            binds[0],
            Bind::Text("{name domains bio} : (\"yoga\"*) AND tags : (\"zqdwellbeing\")".into())
        );
        // Each keyword scores its best field, found by a column filter.
        assert_eq!(binds[1], Bind::Text("name : \"yoga\"*".into()));
        assert_eq!(binds[2], Bind::Text("domains : \"yoga\"*".into()));
        assert!(sql.contains("THEN 4 WHEN c.id IN"), "{sql}");
    }

    #[test]
    fn a_tier_excludes_better_fields_and_windows_from_the_cursor() {
        let q = yoga(Sort::Relevance);
        let tier = |window| Part::Tier {
            field: Field::Domains,
            window,
        };
        let (sql, binds) = build(Backend::Postgres, &q, tier(Some(640)), None, 11);
        assert!(sql.contains(
            "c.domains_doc @@ to_tsquery('simple', $1) AND NOT c.name_doc @@ to_tsquery('simple', $1)"
        ));
        assert!(!sql.contains("bio_doc"));
        assert!(sql.contains("CAST(2 AS DOUBLE PRECISION) AS score"));
        assert!(sql.contains(
            "(SELECT * FROM expert_search w ORDER BY w.consultations DESC, \
             w.last_active_at DESC, w.account_id ASC LIMIT $2) c"
        ));
        assert_eq!(
            binds,
            [Bind::Text("yoga:*".into()), Bind::Int(640), Bind::Int(11)]
        );
        // A cursor in this tier starts the window at its place in popularity.
        let id = Key::Text("x".into());
        let here = [Key::Float(2.0), Key::Int(7), Key::Int(100), id.clone()];
        let (sql, _) = build(Backend::Postgres, &q, tier(Some(640)), Some(&here), 11);
        assert!(sql.contains("FROM expert_search w WHERE (w.consultations <= $2 AND"));
        // One in a better tier: all of this one follows it.
        let better = [Key::Float(4.0), Key::Int(7), Key::Int(100), id];
        let (sql, _) = build(Backend::Postgres, &q, tier(Some(640)), Some(&better), 11);
        assert!(sql.contains("FROM expert_search w ORDER BY"));
        assert!(sql.contains("(score <= $"));
        // Without a window: every match, fenced from the popularity order.
        let (sql, _) = build(Backend::Postgres, &q, tier(None), None, 11);
        assert!(sql.contains("FROM expert_search c WHERE"));
        assert!(sql.contains(" OFFSET 0) s ORDER BY score DESC, consultations DESC"));
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
        let (sql, binds) = build(Backend::Postgres, &q, Part::All, None, 11);
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
        let (sql, _) = build(Backend::Sqlite, &q, Part::All, None, 11);
        assert!(
            sql.contains("r.weekday IN ($1, $2, $3, $4, $5, $6, $7)"),
            "{sql}"
        );
    }
}
