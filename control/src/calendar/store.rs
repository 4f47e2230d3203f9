//! Availability and busy time in the database: what `slots` needs, for one
//! expert or for a page of search candidates at once.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::slots::{self, Span};
use super::{zone, Availability, Exception, ExceptionKind, Rule, MAX_BUFFER_MINUTES, MINUTE_MS};

/// Booking states that occupy the expert's time.
pub const BUSY_STATES: &str = "('reserving', 'requested', 'proposed', 'confirmed')";

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The availability of each of `ids` that has set one.
pub async fn load_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Availability>, sqlx::Error> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = placeholders(1, ids.len());
    let sql = format!(
        "SELECT expert_id, time_zone, buffer_minutes, min_notice_minutes, horizon_days \
         FROM expert_calendars WHERE expert_id IN ({list})"
    );
    let mut q = sqlx::query_as::<_, (String, String, i64, i64, i64)>(&sql);
    for id in ids {
        q = q.bind(id);
    }
    for (id, tz, buffer, notice, horizon) in q.fetch_all(&mut *conn).await? {
        // A zone the database stopped knowing (renamed in a tz update) has no hours
        // rather than failing every page that shows the expert.
        let Some(time_zone) = zone(&tz) else {
            tracing::warn!(expert = %id, zone = %tz, "unknown time zone in a stored calendar");
            continue;
        };
        out.insert(
            id,
            Availability {
                time_zone,
                rules: Vec::new(),
                exceptions: Vec::new(),
                buffer_minutes: buffer,
                min_notice_minutes: notice,
                horizon_days: horizon,
            },
        );
    }
    let sql = format!(
        "SELECT expert_id, weekday, start_minute, end_minute FROM availability_rules \
         WHERE expert_id IN ({list}) ORDER BY expert_id, weekday, start_minute"
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64, i64)>(&sql);
    for id in ids {
        q = q.bind(id);
    }
    for (id, weekday, start_minute, end_minute) in q.fetch_all(&mut *conn).await? {
        if let Some(a) = out.get_mut(&id) {
            a.rules.push(Rule {
                weekday: weekday as i8,
                start_minute,
                end_minute,
            });
        }
    }
    let sql = format!(
        "SELECT expert_id, day, kind, start_minute, end_minute FROM availability_exceptions \
         WHERE expert_id IN ({list}) ORDER BY expert_id, day, kind, start_minute"
    );
    let mut q = sqlx::query_as::<_, (String, String, String, i64, i64)>(&sql);
    for id in ids {
        q = q.bind(id);
    }
    for (id, day, kind, start_minute, end_minute) in q.fetch_all(&mut *conn).await? {
        let (Some(a), Ok(day), Some(kind)) =
            (out.get_mut(&id), day.parse(), ExceptionKind::parse(&kind))
        else {
            continue;
        };
        a.exceptions.push(Exception {
            day,
            kind,
            start_minute,
            end_minute,
        });
    }
    Ok(out)
}

pub async fn load(
    conn: &mut AnyConnection,
    expert_id: &str,
) -> Result<Option<Availability>, sqlx::Error> {
    Ok(load_many(conn, &[expert_id.to_owned()])
        .await?
        .remove(expert_id))
}

/// Replaces an expert's availability.
pub async fn save(
    conn: &mut AnyConnection,
    expert_id: &str,
    a: &Availability,
    now: i64,
) -> Result<(), sqlx::Error> {
    let tz = a.time_zone.iana_name().unwrap_or("UTC");
    sqlx::query(
        "INSERT INTO expert_calendars (expert_id, time_zone, buffer_minutes, min_notice_minutes, \
         horizon_days, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (expert_id) DO UPDATE SET time_zone = $2, buffer_minutes = $3, \
         min_notice_minutes = $4, horizon_days = $5, updated_at = $6",
    )
    .bind(expert_id)
    .bind(tz)
    .bind(a.buffer_minutes)
    .bind(a.min_notice_minutes)
    .bind(a.horizon_days)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for table in ["availability_rules", "availability_exceptions"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE expert_id = $1"))
            .bind(expert_id)
            .execute(&mut *conn)
            .await?;
    }
    for r in &a.rules {
        sqlx::query(
            "INSERT INTO availability_rules (expert_id, weekday, start_minute, end_minute) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(expert_id)
        .bind(i64::from(r.weekday))
        .bind(r.start_minute)
        .bind(r.end_minute)
        .execute(&mut *conn)
        .await?;
    }
    for x in &a.exceptions {
        sqlx::query(
            "INSERT INTO availability_exceptions (expert_id, day, kind, start_minute, end_minute) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(expert_id)
        .bind(x.day.to_string())
        .bind(x.kind.as_str())
        .bind(x.start_minute)
        .bind(x.end_minute)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Each of `ids`' bookings that occupy time overlapping `[from, to)`,
/// leaving out booking `except` (the one being moved).
pub async fn busy_many(
    conn: &mut AnyConnection,
    ids: &[String],
    from: i64,
    to: i64,
    except: Option<&str>,
) -> Result<HashMap<String, Vec<Span>>, sqlx::Error> {
    let mut out: HashMap<String, Vec<Span>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT expert_id, start_at, end_at FROM bookings WHERE expert_id IN ({}) \
         AND state IN {BUSY_STATES} AND start_at < $1 AND end_at > $2 AND id <> $3",
        placeholders(4, ids.len())
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql)
        .bind(to)
        .bind(from)
        .bind(except.unwrap_or(""));
    for id in ids {
        q = q.bind(id);
    }
    for (id, s, e) in q.fetch_all(&mut *conn).await? {
        out.entry(id).or_default().push((s, e));
    }
    Ok(out)
}

/// Free time in `[from, to)` at `now` for each of `ids` that has set its
/// availability (see `slots::free`), leaving booking `except` out of the
/// busy time.
pub async fn free_many(
    conn: &mut AnyConnection,
    ids: &[String],
    now: i64,
    (from, to): Span,
    except: Option<&str>,
) -> Result<HashMap<String, Vec<Span>>, sqlx::Error> {
    let availability = load_many(conn, ids).await?;
    // Bookings just outside the range still reach into it by their buffer.
    let reach = MAX_BUFFER_MINUTES * MINUTE_MS;
    let busy = busy_many(conn, ids, from - reach, to + reach, except).await?;
    Ok(availability
        .into_iter()
        .map(|(id, a)| {
            let free = slots::free(
                &a,
                busy.get(&id).map_or(&[][..], Vec::as_slice),
                now,
                from,
                to,
            );
            (id, free)
        })
        .collect())
}
