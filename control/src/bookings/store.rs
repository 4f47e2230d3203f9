//! Bookings in the database. Every write happens in a transaction that took
//! the expert's lock first (`lock_expert`), so a check of the expert's time
//! and the write that relies on it never interleave with another's.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rules::Change;
use super::{Booking, Settlement, Side, State};

const COLUMNS: &str = "id, user_id, expert_id, start_at, end_at, minutes, rate, price, instant, \
    user_time_zone, state, respond_by, hold_id, settlement, settle_amount, settled_at, ended_by, reason, sequence, \
    created_at, updated_at";

fn decode(r: &AnyRow) -> Result<Booking, sqlx::Error> {
    let bad = |what: &str, v: &str| sqlx::Error::Decode(format!("unknown {what} {v}").into());
    let state: String = r.try_get("state")?;
    let settlement = match r.try_get::<Option<String>, _>("settlement")?.as_deref() {
        None => None,
        Some("release") => Some(Settlement::Release),
        Some("capture") => Some(Settlement::Capture(
            r.try_get::<Option<i64>, _>("settle_amount")?.unwrap_or(0),
        )),
        Some(other) => return Err(bad("settlement", other)),
    };
    let ended_by = match r.try_get::<Option<String>, _>("ended_by")? {
        Some(s) => Some(Side::parse(&s).ok_or_else(|| bad("side", &s))?),
        None => None,
    };
    Ok(Booking {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        expert_id: r.try_get("expert_id")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        minutes: r.try_get("minutes")?,
        rate: r.try_get("rate")?,
        price: r.try_get("price")?,
        instant: r.try_get::<i64, _>("instant")? != 0,
        user_time_zone: r.try_get("user_time_zone")?,
        state: State::parse(&state).ok_or_else(|| bad("state", &state))?,
        respond_by: r.try_get("respond_by")?,
        hold_id: r.try_get("hold_id")?,
        settlement,
        settled_at: r.try_get("settled_at")?,
        ended_by,
        reason: r.try_get("reason")?,
        sequence: r.try_get("sequence")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Takes the expert's row lock for the rest of the transaction (a no-op
/// write: portable, unlike `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already
/// serialises writers). False when there is no such expert.
pub async fn lock_expert(conn: &mut AnyConnection, expert_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE experts SET listed = listed WHERE account_id = $1")
        .bind(expert_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// What booking needs of an expert: listed, per-minute call price, instant.
pub async fn expert_terms(
    conn: &mut AnyConnection,
    expert_id: &str,
) -> Result<Option<(bool, Option<i64>, bool)>, sqlx::Error> {
    let row: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT listed, price_call, instant_booking FROM experts WHERE account_id = $1",
    )
    .bind(expert_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(listed, price, instant)| (listed != 0, price, instant != 0)))
}

pub async fn insert(conn: &mut AnyConnection, b: &Booking) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO bookings (id, user_id, expert_id, start_at, end_at, minutes, rate, price, \
         instant, user_time_zone, state, respond_by, sequence, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
    )
    .bind(&b.id)
    .bind(&b.user_id)
    .bind(&b.expert_id)
    .bind(b.start_at)
    .bind(b.end_at)
    .bind(b.minutes)
    .bind(b.rate)
    .bind(b.price)
    .bind(i64::from(b.instant))
    .bind(&b.user_time_zone)
    .bind(b.state.as_str())
    .bind(b.respond_by)
    .bind(b.sequence)
    .bind(b.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Booking>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM bookings WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The hold is made: the reservation becomes a request or a confirmed
/// booking. False if something else finished it first.
pub async fn reserved(
    conn: &mut AnyConnection,
    id: &str,
    hold_id: &str,
    state: State,
    respond_by: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE bookings SET hold_id = $2, state = $3, respond_by = $4, updated_at = $5 \
         WHERE id = $1 AND state = 'reserving'",
    )
    .bind(id)
    .bind(hold_id)
    .bind(state.as_str())
    .bind(respond_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The coins could not be held: the slot is free again.
pub async fn fail(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE bookings SET state = 'failed', updated_at = $2 WHERE id = $1 AND state = 'reserving'",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes what `rules::decide` said, and returns the booking as it is now.
pub async fn apply(
    conn: &mut AnyConnection,
    b: &Booking,
    change: &Change,
    reason: Option<&str>,
    now: i64,
) -> Result<Booking, sqlx::Error> {
    let (start_at, end_at) = change.time.unwrap_or((b.start_at, b.end_at));
    let (settlement, settle_amount) = match change.settlement {
        None => (None, None),
        Some(Settlement::Release) => (Some("release"), None),
        Some(Settlement::Capture(amount)) => (Some("capture"), Some(amount)),
    };
    let sequence = b.sequence + i64::from(change.bump);
    let reason = reason.map(str::to_owned).or_else(|| b.reason.clone());
    sqlx::query(
        "UPDATE bookings SET state = $2, start_at = $3, end_at = $4, respond_by = $5, \
         settlement = COALESCE($6, settlement), settle_amount = COALESCE($7, settle_amount), \
         ended_by = COALESCE($8, ended_by), reason = $9, sequence = $10, updated_at = $11 \
         WHERE id = $1",
    )
    .bind(&b.id)
    .bind(change.state.as_str())
    .bind(start_at)
    .bind(end_at)
    .bind(change.respond_by)
    .bind(settlement)
    .bind(settle_amount)
    .bind(change.ended_by.map(Side::as_str))
    .bind(&reason)
    .bind(sequence)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(Booking {
        state: change.state,
        start_at,
        end_at,
        respond_by: change.respond_by,
        settlement: change.settlement.or(b.settlement),
        ended_by: change.ended_by.or(b.ended_by),
        reason,
        sequence,
        updated_at: now,
        ..b.clone()
    })
}

pub async fn mark_settled(conn: &mut AnyConnection, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE bookings SET settled_at = $2 WHERE id = $1 AND settled_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Work the sweep owes, oldest first, each kind at most `limit`.
pub struct Due {
    /// Reservations whose request never came back (a crash between taking
    /// the slot and holding the coins).
    pub stale_reservations: Vec<String>,
    /// Requests and proposals past their deadline.
    pub lapsed: Vec<String>,
    /// Ended bookings whose hold is not settled yet.
    pub unsettled: Vec<String>,
}

/// The ids one query with `$1` (a time) and `$2` (a limit) returns.
pub(crate) async fn ids(
    conn: &mut AnyConnection,
    limit: i64,
    sql: &str,
    at: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(at)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub async fn due(
    conn: &mut AnyConnection,
    now: i64,
    reserving_before: i64,
    limit: i64,
) -> Result<Due, sqlx::Error> {
    Ok(Due {
        stale_reservations: ids(
            conn,
            limit,
            "SELECT id FROM bookings WHERE state = 'reserving' AND created_at <= $1 \
             ORDER BY created_at LIMIT $2",
            reserving_before,
        )
        .await?,
        lapsed: ids(
            conn,
            limit,
            "SELECT id FROM bookings WHERE state IN ('requested', 'proposed') \
             AND respond_by <= $1 ORDER BY respond_by LIMIT $2",
            now,
        )
        .await?,
        unsettled: ids(
            conn,
            limit,
            "SELECT id FROM bookings WHERE settled_at IS NULL AND settlement IS NOT NULL \
             AND updated_at <= $1 ORDER BY updated_at LIMIT $2",
            reserving_before,
        )
        .await?,
    })
}

/// Whose bookings a history lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Booked by the account.
    User,
    /// With the account as the expert.
    Expert,
    /// The account is an invited participant.
    Guest,
}

pub struct HistoryFilter<'a> {
    pub account_id: &'a str,
    /// None: every role.
    pub role: Option<Role>,
    /// Upcoming (not ended at `now`, soonest first) or past (latest first).
    pub upcoming: bool,
    pub now: i64,
    pub states: Vec<State>,
    /// The `(start_at, id)` of the last booking of the previous page.
    pub after: Option<(i64, String)>,
    pub fetch: i64,
}

pub async fn history(
    conn: &mut AnyConnection,
    f: &HistoryFilter<'_>,
) -> Result<Vec<Booking>, sqlx::Error> {
    let guest = "id IN (SELECT booking_id FROM booking_participants \
                 WHERE account_id = $1 AND state IN ('invited', 'accepted'))";
    let whose = match f.role {
        Some(Role::User) => "user_id = $1".to_owned(),
        Some(Role::Expert) => "expert_id = $1".to_owned(),
        Some(Role::Guest) => guest.to_owned(),
        None => format!("(user_id = $1 OR expert_id = $1 OR {guest})"),
    };
    let (when, order, beyond) = if f.upcoming {
        ("end_at > $2", "start_at ASC, id ASC", ">")
    } else {
        ("end_at <= $2", "start_at DESC, id DESC", "<")
    };
    let mut conditions = vec![whose, when.to_owned()];
    let mut next = 3;
    if !f.states.is_empty() {
        let list: Vec<String> = (0..f.states.len())
            .map(|i| format!("${}", next + i))
            .collect();
        next += f.states.len();
        conditions.push(format!("state IN ({})", list.join(", ")));
    }
    if f.after.is_some() {
        conditions.push(format!(
            "(start_at {beyond} ${next} OR (start_at = ${next} AND id {beyond} ${}))",
            next + 1
        ));
        next += 2;
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM bookings WHERE {} ORDER BY {order} LIMIT ${next}",
        conditions.join(" AND ")
    );
    let mut q = sqlx::query(&sql).bind(f.account_id).bind(f.now);
    for s in &f.states {
        q = q.bind(s.as_str());
    }
    if let Some((at, id)) = &f.after {
        q = q.bind(*at).bind(id.clone());
    }
    q.bind(f.fetch)
        .fetch_all(conn)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The bookings an iCalendar feed lists: the account's as user, expert or
/// accepted guest, from `since` on, that were not merely attempts.
pub async fn for_feed(
    conn: &mut AnyConnection,
    account_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<Booking>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE (user_id = $1 OR expert_id = $1 OR id IN \
         (SELECT booking_id FROM booking_participants WHERE account_id = $1 AND state = 'accepted')) \
         AND end_at > $2 AND state NOT IN ('reserving', 'failed') ORDER BY start_at LIMIT $3"
    ))
    .bind(account_id)
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(decode)
    .collect()
}
