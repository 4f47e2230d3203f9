//! Runs searches: the statement `sql` builds, the exact distance and
//! free-time filters the database cannot do, and the hits' domains.

use platform::Database;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Bind};
use super::{geo, Free, Hit, Page, Query};
use crate::bookings::MIN_MINUTES;
use crate::calendar::{self, MINUTE_MS};
use crate::experts::store::position_of;
use crate::experts::Prices;

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

async fn fetch(db: &Database, statement: &str, binds: Vec<Bind>) -> Result<Vec<Hit>, sqlx::Error> {
    let mut q = sqlx::query(statement);
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(v),
            Bind::Float(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        };
    }
    q.fetch_all(db.pool()).await?.iter().map(decode).collect()
}

/// One page of results: `q.limit` hits at most, and the keys to continue
/// from when there are more.
pub async fn search(db: &Database, q: &Query) -> Result<Page, sqlx::Error> {
    let price_service = q.filters.price_service();
    let mut after = q.after.clone();
    let mut hits = Vec::with_capacity(q.limit + 1);
    // The distance and free-time filters discard part of what the SQL lets
    // through, so they read ahead in larger batches until the page is full.
    let batch = if q.filters.near.is_some() || q.filters.free.is_some() {
        (q.limit + 1) * 4
    } else {
        q.limit + 1
    };
    loop {
        let (statement, binds) = sql::build(db.backend(), q, after.as_deref(), batch);
        let rows = fetch(db, &statement, binds).await?;
        let exhausted = rows.len() < batch;
        if let Some(last) = rows.last() {
            after = Some(last.keys(q.sort, price_service));
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
        for hit in kept {
            hits.push(hit);
            if hits.len() > q.limit {
                break;
            }
        }
        if exhausted || hits.len() > q.limit {
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
