//! Runs searches: the statements `sql` builds (tier by tier, each tried on a
//! window of popular experts first, for one keyword on PostgreSQL), the exact
//! distance and free-time filters the database cannot do, and the hits'
//! domains.

use platform::db::Backend;
use platform::Database;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::cursor::Key;
use super::density::Densities;
use super::sql::{self, Bind, Field, Part};
use super::{fold, geo, suggest, Free, Hit, Page, Query, Sort};
use crate::bookings::MIN_MINUTES;
use crate::calendar::{self, MINUTE_MS};
use crate::experts::store::position_of;
use crate::experts::{self, Prices};

fn decode(r: &AnyRow) -> Result<Hit, sqlx::Error> {
    let languages: String = r.try_get("languages")?;
    let position = position_of(r)?;
    Ok(Hit {
        account_id: r.try_get("id")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        photo_key: r.try_get("photo_key")?,
        city: r.try_get("city")?,
        languages: serde_json::from_str(&languages).unwrap_or_default(),
        domains: Vec::new(),
        prices: Prices {
            text_message: r.try_get("price_text")?,
            video_message: r.try_get("price_video")?,
            video_call: r.try_get("price_call")?,
        },
        instant_booking: r.try_get::<i64, _>("instant_booking")? != 0,
        rating_count: r.try_get("rating_count")?,
        rating_sum: r.try_get("rating_sum")?,
        rating_milli: r.try_get("rating_milli")?,
        consultations: r.try_get("consultations")?,
        last_active_at: r.try_get("last_active_at")?,
        position,
        score: r.try_get("score")?,
        distance_m: None,
    })
}

async fn fetch(
    db: &Database,
    q: &Query,
    statement: &str,
    binds: Vec<Bind>,
) -> Result<Vec<Hit>, sqlx::Error> {
    // With keywords, planned with this query's values, not a generic plan:
    // how many experts a word selects decides the plan, and varies a
    // thousandfold.
    let mut query = sqlx::query(statement).persistent(q.words.is_empty());
    for b in binds {
        query = match b {
            Bind::Int(v) => query.bind(v),
            Bind::Float(v) => query.bind(v),
            Bind::Text(v) => query.bind(v),
        };
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// How a search runs. Results never depend on it, only the work does (the
/// tests compare every setting with scoring every match).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// On PostgreSQL, one keyword by relevance goes tier by tier (see
    /// `sql::Part`), so a common word costs a page's worth of rows, not every
    /// expert who wrote it.
    pub tiers: bool,
    /// Experts read in popularity order per row a tier's page needs, before a
    /// window that did not fill it gives way to the exact statement.
    pub window_per_row: usize,
    /// Skip the window when the statistics (`density`) say it would not fill
    /// the page.
    pub estimates: bool,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            tiers: true,
            window_per_row: 64,
            estimates: true,
        }
    }
}

/// One statement of a search and how to run it.
struct Step {
    part: Part,
    /// The estimated fraction of experts matching, which skips the window
    /// when too sparse to fill the page.
    density: Option<f64>,
}

/// The statements a search runs, in order.
async fn steps(db: &Database, q: &Query, plan: Plan) -> Result<Vec<Step>, sqlx::Error> {
    let all = vec![Step {
        part: Part::All,
        density: None,
    }];
    let [word] = q.words.as_slice() else {
        return Ok(all);
    };
    if !plan.tiers || db.backend() != Backend::Postgres || q.sort != Sort::Relevance {
        return Ok(all);
    }
    let mut conn = db.pool().acquire().await?;
    // A tier known to be empty costs nothing: most keywords are in no name,
    // which `expert_terms` (the listed names' words) tells by a range lookup,
    // and in no domain, which the taxonomy tells.
    let (from, to) = suggest::range(word);
    let in_names: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM expert_terms WHERE term >= $1 AND term < $2 LIMIT 1) t",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    let in_domains = experts::store::domains(&mut conn).await?.iter().any(|d| {
        fold::words(&format!("{} {} {}", d.slug, d.name_fr, d.name_en))
            .iter()
            .any(|w| w.starts_with(word.as_str()))
    });
    drop(conn);
    let densities = if plan.estimates {
        Densities::load(db).await?
    } else {
        Densities::default()
    };
    let tags = sql::required_tags(q);
    let mut steps = Vec::new();
    for (field, present) in [
        (Field::Name, in_names > 0),
        (Field::Domains, in_domains),
        (Field::Bio, true),
    ] {
        if present {
            steps.push(Step {
                part: Part::Tier {
                    field,
                    window: None,
                },
                density: densities.estimate(field, word, &tags),
            });
        }
    }
    Ok(steps)
}

/// One page of results: `q.limit` hits at most, and the keys to continue
/// from when there are more.
pub async fn search(db: &Database, q: &Query) -> Result<Page, sqlx::Error> {
    search_with(db, q, Plan::default()).await
}

/// `search`, run as `plan` says.
pub async fn search_with(db: &Database, q: &Query, plan: Plan) -> Result<Page, sqlx::Error> {
    let price_service = q.filters.price_service();
    let mut after = q.after.clone();
    let mut hits = Vec::with_capacity(q.limit + 1);
    for step in steps(db, q, plan).await? {
        let part = step.part;
        if let (Part::Tier { field, .. }, Some(Key::Float(score))) =
            (part, after.as_ref().and_then(|keys| keys.first()))
        {
            if *score < field.weight() {
                continue; // the cursor is past this tier
            }
        }
        fill(db, q, &step, plan.window_per_row, &mut after, &mut hits).await?;
        if hits.len() > q.limit {
            break;
        }
    }
    let more = hits.len() > q.limit;
    hits.truncate(q.limit);
    attach_domains(db, &mut hits).await?;
    let next = if more {
        hits.last().map(|h| h.keys(q.sort, price_service))
    } else {
        None
    };
    Ok(Page { hits, next })
}

/// Adds `step`'s hits after `after` to `hits` until the page has one more
/// than it shows (or `step` has no more), moving `after` along.
async fn fill(
    db: &Database,
    q: &Query,
    step: &Step,
    window_per_row: usize,
    after: &mut Option<Vec<Key>>,
    hits: &mut Vec<Hit>,
) -> Result<(), sqlx::Error> {
    let price_service = q.filters.price_service();
    let wanted = q.limit + 1;
    // The distance and free-time filters discard part of what the SQL lets
    // through, so they read ahead in larger batches until the page is full.
    let batch = if q.filters.near.is_some() || q.filters.free.is_some() {
        wanted * 4
    } else {
        wanted
    };
    let window_rows = batch * window_per_row;
    let window = match step.part {
        // A name word is shared by a cohort of experts, not by most: read
        // exactly.
        Part::Tier { field, .. }
            if field != Field::Name
                && step
                    .density
                    .is_none_or(|d| d * window_rows as f64 >= batch as f64) =>
        {
            Some(Part::Tier {
                field,
                window: Some(window_rows),
            })
        }
        _ => None,
    };
    while hits.len() < wanted {
        let mut rows = Vec::new();
        if let Some(window) = window {
            let (statement, binds) = sql::build(db.backend(), q, window, after.as_deref(), batch);
            rows = fetch(db, q, &statement, binds).await?;
        }
        if rows.len() < batch {
            let (statement, binds) =
                sql::build(db.backend(), q, step.part, after.as_deref(), batch);
            rows = fetch(db, q, &statement, binds).await?;
        }
        let exhausted = rows.len() < batch;
        if let Some(last) = rows.last() {
            *after = Some(last.keys(q.sort, price_service));
        }
        let mut kept: Vec<Hit> = rows
            .into_iter()
            .filter_map(|mut hit| {
                if let (Some(near), Some(p)) = (q.filters.near, hit.position) {
                    let d = geo::distance_m(near.centre, p);
                    if d > near.radius_m {
                        return None;
                    }
                    hit.distance_m = Some(d);
                }
                Some(hit)
            })
            .collect();
        if let Some(free) = q.filters.free {
            keep_free(db, &mut kept, free).await?;
        }
        hits.extend(kept.into_iter().take(wanted - hits.len()));
        if exhausted {
            break;
        }
    }
    Ok(())
}

/// Keeps the hits with a free slot of the shortest bookable length in the
/// filter's range: the calendar's own computation, for the whole batch at
/// once.
async fn keep_free(db: &Database, hits: &mut Vec<Hit>, free: Free) -> Result<(), sqlx::Error> {
    if hits.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = hits.iter().map(|h| h.account_id.clone()).collect();
    let mut conn = db.pool().acquire().await?;
    let spans =
        calendar::store::free_many(&mut conn, &ids, free.now, (free.from, free.to), None).await?;
    let shortest = MIN_MINUTES * MINUTE_MS;
    hits.retain(|h| {
        spans
            .get(&h.account_id)
            .is_some_and(|s| calendar::slots::has_room(s, shortest))
    });
    Ok(())
}

async fn attach_domains(db: &Database, hits: &mut [Hit]) -> Result<(), sqlx::Error> {
    if hits.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=hits.len()).map(|i| format!("${i}")).collect();
    let statement = format!(
        "SELECT account_id, domain FROM expert_domains WHERE account_id IN ({}) ORDER BY domain",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, String)>(&statement);
    for h in hits.iter() {
        q = q.bind(&h.account_id);
    }
    for (id, domain) in q.fetch_all(db.pool()).await? {
        if let Some(h) = hits.iter_mut().find(|h| h.account_id == id) {
            h.domains.push(domain);
        }
    }
    Ok(())
}
