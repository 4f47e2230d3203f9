//! SQL for reports and moderation actions.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Row};

use super::{Action, Reason, ReportState, TargetKind};
use crate::accounts::{Role, Status};

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub reporter_id: String,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub reason: Reason,
    pub details: Option<String>,
    pub state: ReportState,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
}

/// A report in the administrators' queue, with what they decide from.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub report: Report,
    pub reporter_name: (String, String),
    /// The reported profile; `None` for other kinds of target.
    pub target: Option<Profile>,
    /// Open reports on the same target, this one included if open.
    pub open_on_target: i64,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub status: Status,
    /// `None` without an expert profile.
    pub hidden: Option<bool>,
}

/// An entry of `moderation_actions`, with its author's name.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    pub admin_id: String,
    pub admin_name: (String, String),
    pub action: Action,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub report_id: Option<String>,
    pub reason: String,
    pub at: i64,
}

fn parsed<T>(r: &AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    let value: String = r.try_get(column)?;
    parse(&value)
        .ok_or_else(|| sqlx::Error::Decode(format!("{column}: unexpected {value:?}").into()))
}

fn report(r: &AnyRow) -> Result<Report, sqlx::Error> {
    Ok(Report {
        id: r.try_get("id")?,
        reporter_id: r.try_get("reporter_id")?,
        target_kind: parsed(r, "target_kind", TargetKind::parse)?,
        target_id: r.try_get("target_id")?,
        reason: parsed(r, "reason", Reason::parse)?,
        details: r.try_get("details")?,
        state: parsed(r, "state", ReportState::parse)?,
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
        closed_by: r.try_get("closed_by")?,
    })
}

async fn open_of(db: &AnyPool, r: &Report) -> Result<Option<Report>, sqlx::Error> {
    sqlx::query(&format!(
        "{QUEUE_SELECT} WHERE r.reporter_id = $1 AND r.target_kind = $2 \
         AND r.target_id = $3 AND r.state = 'open'"
    ))
    .bind(&r.reporter_id)
    .bind(r.target_kind.as_str())
    .bind(&r.target_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(report)
    .transpose()
}

/// Files `new` (open), unless its reporter already has an open report on
/// the same target: then that one, and `false`. The unique index on open
/// reports decides between concurrent filings.
pub async fn file(db: &AnyPool, new: &Report) -> Result<(Report, bool), sqlx::Error> {
    let insert = || {
        sqlx::query(
            "INSERT INTO reports (id, reporter_id, target_kind, target_id, reason, details, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
        )
        .bind(&new.id)
        .bind(&new.reporter_id)
        .bind(new.target_kind.as_str())
        .bind(&new.target_id)
        .bind(new.reason.as_str())
        .bind(&new.details)
        .bind(new.created_at)
        .execute(db)
    };
    match insert().await {
        Ok(_) => return Ok((new.clone(), true)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
        Err(e) => return Err(e),
    }
    if let Some(open) = open_of(db, new).await? {
        return Ok((open, false));
    }
    // Closed between the two statements: this report is new after all.
    insert().await?;
    Ok((new.clone(), true))
}

/// A report with its reporter's name, the reported profile as it is now,
/// and the number of open reports on it.
const QUEUE_SELECT: &str = "SELECT r.id, r.reporter_id, r.target_kind, r.target_id, r.reason, \
    r.details, r.state, r.created_at, r.closed_at, r.closed_by, \
    p.first_name AS reporter_first, p.last_name AS reporter_last, \
    t.first_name AS target_first, t.last_name AS target_last, t.role AS target_role, \
    t.status AS target_status, e.hidden AS target_hidden, \
    (SELECT COUNT(*) FROM reports o WHERE o.target_kind = r.target_kind \
       AND o.target_id = r.target_id AND o.state = 'open') AS open_on_target \
    FROM reports r JOIN accounts p ON p.id = r.reporter_id \
    LEFT JOIN accounts t ON r.target_kind = 'profile' AND t.id = r.target_id \
    LEFT JOIN experts e ON e.account_id = t.id";

fn queue_row(r: &AnyRow) -> Result<QueueItem, sqlx::Error> {
    let target = match r.try_get::<Option<String>, _>("target_first")? {
        Some(first_name) => Some(Profile {
            first_name,
            last_name: r.try_get("target_last")?,
            role: parsed(r, "target_role", Role::parse)?,
            status: parsed(r, "target_status", Status::parse)?,
            hidden: r
                .try_get::<Option<i64>, _>("target_hidden")?
                .map(|h| h != 0),
        }),
        None => None,
    };
    Ok(QueueItem {
        report: report(r)?,
        reporter_name: (r.try_get("reporter_first")?, r.try_get("reporter_last")?),
        target,
        open_on_target: r.try_get("open_on_target")?,
    })
}

/// One report as the queue shows it.
pub async fn queue_item(db: &AnyPool, id: &str) -> Result<Option<QueueItem>, sqlx::Error> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    sqlx::query(&format!("{QUEUE_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(queue_row)
        .transpose()
}

/// The queue: reports in `state`, open ones oldest first (the order they
/// are worked in), closed ones newest first; keyset-paged after `after`.
pub async fn queue(
    db: &AnyPool,
    state: ReportState,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<QueueItem>, sqlx::Error> {
    let (beyond, order) = match state {
        ReportState::Open => (">", "ASC"),
        ReportState::Closed => ("<", "DESC"),
    };
    let rows = sqlx::query(&format!(
        "{QUEUE_SELECT} WHERE r.state = $1 \
         AND ($2 IS NULL OR r.created_at {beyond} $2 OR (r.created_at = $2 AND r.id {beyond} $3)) \
         ORDER BY r.created_at {order}, r.id {order} LIMIT $4"
    ))
    .bind(state.as_str())
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(queue_row).collect()
}

/// Closes every open report on a target; how many.
pub async fn close_open_on(
    conn: &mut AnyConnection,
    kind: TargetKind,
    target_id: &str,
    admin_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reports SET state = 'closed', closed_at = $3, closed_by = $4 \
         WHERE target_kind = $1 AND target_id = $2 AND state = 'open'",
    )
    .bind(kind.as_str())
    .bind(target_id)
    .bind(now)
    .bind(admin_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Whether `report_id` is still open, seen from inside the transaction
/// that closes it (a second administrator closing it at once finds it
/// closed, on SQLite by `BEGIN IMMEDIATE`, on PostgreSQL by the row lock).
pub async fn still_open(conn: &mut AnyConnection, report_id: &str) -> Result<bool, sqlx::Error> {
    // A no-op update takes the row lock on PostgreSQL.
    let done = sqlx::query("UPDATE reports SET state = state WHERE id = $1 AND state = 'open'")
        .bind(report_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets `experts.hidden`; false if the account has no expert profile. The
/// caller refreshes the listing in the same transaction.
pub async fn set_hidden(
    conn: &mut AnyConnection,
    account_id: &str,
    hidden: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE experts SET hidden = $2, updated_at = $3 WHERE account_id = $1")
        .bind(account_id)
        .bind(i64::from(hidden))
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What `record` writes.
pub struct NewAction<'a> {
    pub admin_id: &'a str,
    pub action: Action,
    pub target_kind: TargetKind,
    pub target_id: &'a str,
    pub report_id: Option<&'a str>,
    pub reason: &'a str,
}

pub async fn record(
    db: impl sqlx::Executor<'_, Database = Any>,
    a: &NewAction<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO moderation_actions (id, admin_id, action, target_kind, target_id, report_id, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(a.admin_id)
    .bind(a.action.as_str())
    .bind(a.target_kind.as_str())
    .bind(a.target_id)
    .bind(a.report_id)
    .bind(a.reason)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Recorded actions, newest first, on one target or all; keyset-paged
/// before `before`.
pub async fn actions(
    db: &AnyPool,
    target_id: Option<&str>,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Recorded>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.id, m.admin_id, a.first_name, a.last_name, m.action, m.target_kind, m.target_id, \
           m.report_id, m.reason, m.at \
         FROM moderation_actions m JOIN accounts a ON a.id = m.admin_id \
         WHERE ($1 IS NULL OR m.target_id = $1) \
           AND ($2 IS NULL OR m.at < $2 OR (m.at = $2 AND m.id < $3)) \
         ORDER BY m.at DESC, m.id DESC LIMIT $4",
    )
    .bind(target_id)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Recorded {
                id: r.try_get("id")?,
                admin_id: r.try_get("admin_id")?,
                admin_name: (r.try_get("first_name")?, r.try_get("last_name")?),
                action: parsed(r, "action", Action::parse)?,
                target_kind: parsed(r, "target_kind", TargetKind::parse)?,
                target_id: r.try_get("target_id")?,
                report_id: r.try_get("report_id")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}
