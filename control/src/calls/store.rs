//! The SQL of calls: presence per participant (ranges of seconds, merged by
//! union under a row lock) and the call row with its settlement.

use proto::Seconds;
use sqlx::{AnyConnection, Row};

use super::billing::{Attendance, Decision, NoShow, Presence};
use crate::bookings::store::ids;

pub async fn booking_exists(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM bookings WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

fn decode_seconds(json: &str) -> Result<Seconds, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Merges one report into a participant's presence: set union and the
/// latest leave, so a report merged twice or out of order changes nothing.
pub async fn merge(
    conn: &mut AnyConnection,
    booking_id: &str,
    participant: &str,
    seconds: &Seconds,
    (last, seq): (bool, i64),
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO call_presence (booking_id, participant, ranges, newest_seq, left_seq, \
         updated_at) VALUES ($1, $2, '[]', -1, -1, $3) \
         ON CONFLICT (booking_id, participant) DO NOTHING",
    )
    .bind(booking_id)
    .bind(participant)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // Takes the row's lock (PostgreSQL) before reading it: two replicas
    // merging into the same row wait for each other instead of losing one.
    sqlx::query(
        "UPDATE call_presence SET updated_at = updated_at WHERE booking_id = $1 AND participant = $2",
    )
    .bind(booking_id)
    .bind(participant)
    .execute(&mut *conn)
    .await?;
    let (ranges, newest, left): (String, i64, i64) = sqlx::query_as(
        "SELECT ranges, newest_seq, left_seq FROM call_presence \
         WHERE booking_id = $1 AND participant = $2",
    )
    .bind(booking_id)
    .bind(participant)
    .fetch_one(&mut *conn)
    .await?;
    let mut a = Attendance {
        seconds: decode_seconds(&ranges)?,
        newest,
        left,
    };
    a.merge(seconds, last, seq);
    sqlx::query(
        "UPDATE call_presence SET ranges = $3, newest_seq = $4, left_seq = $5, updated_at = $6 \
         WHERE booking_id = $1 AND participant = $2",
    )
    .bind(booking_id)
    .bind(participant)
    .bind(serde_json::to_string(&a.seconds).map_err(|e| sqlx::Error::Encode(e.into()))?)
    .bind(a.newest)
    .bind(a.left)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn presence(conn: &mut AnyConnection, booking_id: &str) -> Result<Presence, sqlx::Error> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT participant, ranges, newest_seq, left_seq FROM call_presence \
         WHERE booking_id = $1 ORDER BY participant",
    )
    .bind(booking_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(p, ranges, newest, left)| {
            Ok((
                p,
                Attendance {
                    seconds: decode_seconds(&ranges)?,
                    newest,
                    left,
                },
            ))
        })
        .collect()
}

/// A call as stored.
#[derive(Debug, Clone, Default)]
pub struct CallRow {
    pub booking_id: String,
    pub host_ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub no_show: Option<String>,
    pub cutoff: Option<i64>,
    pub billed_seconds: Option<i64>,
    pub owed: Option<i64>,
    pub from_hold: Option<i64>,
    pub extra: Option<i64>,
    pub settled_at: Option<i64>,
    pub extra_done_at: Option<i64>,
    /// The ledger hold the overrun (`extra`) was captured from.
    pub extra_hold_id: Option<String>,
    pub refunded: i64,
    pub refund_reason: Option<String>,
}

const COLUMNS: &str = "booking_id, host_ended_at, end_reason, no_show, cutoff, billed_seconds, \
    owed, from_hold, extra, settled_at, extra_done_at, extra_hold_id, refunded, refund_reason";

fn decode(r: &sqlx::any::AnyRow) -> Result<CallRow, sqlx::Error> {
    Ok(CallRow {
        booking_id: r.try_get(0)?,
        host_ended_at: r.try_get(1)?,
        end_reason: r.try_get(2)?,
        no_show: r.try_get(3)?,
        cutoff: r.try_get(4)?,
        billed_seconds: r.try_get(5)?,
        owed: r.try_get(6)?,
        from_hold: r.try_get(7)?,
        extra: r.try_get(8)?,
        settled_at: r.try_get(9)?,
        extra_done_at: r.try_get(10)?,
        extra_hold_id: r.try_get(11)?,
        refunded: r.try_get(12)?,
        refund_reason: r.try_get(13)?,
    })
}

pub async fn ensure(
    conn: &mut AnyConnection,
    booking_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calls (booking_id, created_at, updated_at) VALUES ($1, $2, $2) \
         ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(booking_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(
    conn: &mut AnyConnection,
    booking_id: &str,
) -> Result<Option<CallRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM calls WHERE booking_id = $1"
    ))
    .bind(booking_id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The call row, locked until the transaction ends (PostgreSQL; SQLite's
/// writer holds the database): refunds of one call go one after the other.
pub async fn lock(
    conn: &mut AnyConnection,
    booking_id: &str,
) -> Result<Option<CallRow>, sqlx::Error> {
    sqlx::query("UPDATE calls SET updated_at = updated_at WHERE booking_id = $1")
        .bind(booking_id)
        .execute(&mut *conn)
        .await?;
    get(conn, booking_id).await
}

/// The host ended the call at `second` (the first time only).
pub async fn host_ended(
    conn: &mut AnyConnection,
    booking_id: &str,
    second: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    ensure(conn, booking_id, now).await?;
    sqlx::query(
        "UPDATE calls SET host_ended_at = $2, updated_at = $3 \
         WHERE booking_id = $1 AND host_ended_at IS NULL",
    )
    .bind(booking_id)
    .bind(second)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub fn end_name(d: &Decision) -> &'static str {
    match d.end {
        proto::signal::CallEnd::Completed => "completed",
        proto::signal::CallEnd::HostEnded => "host_ended",
        proto::signal::CallEnd::TimeUp => "time_up",
        proto::signal::CallEnd::BalanceExhausted => "balance_exhausted",
    }
}

pub fn no_show_name(n: NoShow) -> &'static str {
    match n {
        NoShow::Expert => "expert",
        NoShow::User => "user",
    }
}

/// Writes the settlement, in the transaction that completes the booking.
pub async fn record(
    conn: &mut AnyConnection,
    booking_id: &str,
    d: &Decision,
    now: i64,
) -> Result<(), sqlx::Error> {
    ensure(conn, booking_id, now).await?;
    sqlx::query(
        "UPDATE calls SET end_reason = $2, no_show = $3, cutoff = $4, billed_seconds = $5, \
         owed = $6, from_hold = $7, extra = $8, settled_at = $9, \
         extra_done_at = CASE WHEN $8 > 0 THEN NULL ELSE $9 END, updated_at = $9 \
         WHERE booking_id = $1 AND settled_at IS NULL",
    )
    .bind(booking_id)
    .bind(end_name(d))
    .bind(d.no_show.map(no_show_name))
    .bind(d.cutoff)
    .bind(d.billed_seconds)
    .bind(d.owed)
    .bind(d.from_hold)
    .bind(d.extra)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The overrun is captured (from `hold`; none when there was no overrun).
pub async fn extra_done(
    conn: &mut AnyConnection,
    booking_id: &str,
    hold: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE calls SET extra_done_at = $2, extra_hold_id = $3 \
         WHERE booking_id = $1 AND extra_done_at IS NULL",
    )
    .bind(booking_id)
    .bind(now)
    .bind(hold)
    .execute(conn)
    .await?;
    Ok(())
}

/// Confirmed bookings whose join window opened before `opened_before`
/// (ms): calls under way, or over and not yet settled.
pub async fn live(
    conn: &mut AnyConnection,
    opened_before: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    ids(
        conn,
        limit,
        "SELECT id FROM bookings WHERE state = 'confirmed' AND start_at <= $1 \
         ORDER BY start_at LIMIT $2",
        opened_before,
    )
    .await
}

/// Settled calls whose capture beyond the hold is not done yet.
pub async fn extras_due(
    conn: &mut AnyConnection,
    settled_before: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    ids(
        conn,
        limit,
        "SELECT booking_id FROM calls WHERE settled_at IS NOT NULL AND extra_done_at IS NULL \
         AND settled_at <= $1 ORDER BY settled_at LIMIT $2",
        settled_before,
    )
    .await
}

/// Calls for administrators: live (not settled) or past, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    settled: bool,
    limit: i64,
) -> Result<Vec<CallRow>, sqlx::Error> {
    let filter = if settled { "IS NOT NULL" } else { "IS NULL" };
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM calls WHERE settled_at {filter} ORDER BY created_at DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(decode)
    .collect()
}

pub async fn add_refund(
    conn: &mut AnyConnection,
    booking_id: &str,
    amount: i64,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE calls SET refunded = refunded + $2, refund_reason = $3, updated_at = $4 \
         WHERE booking_id = $1",
    )
    .bind(booking_id)
    .bind(amount)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
