//! The durable job queue (`jobs` table): what must happen later, or outside
//! the transaction that decided it, and must survive a restart.
//!
//! A job is `pending` until due, `running` while one runner holds it
//! (`locked_by` until `locked_until`), then `done`, `failed` (out of
//! attempts, for a human) or `cancelled`. Its key is the scheduler's name for
//! it and unique: scheduling a key again updates the job while it waits and
//! does nothing once it has run.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{Channel, Notice, NotifyError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Emit a notice when due: reminders and other scheduled sends.
    Notify { notice: Notice },
    /// Send one notification over one channel (push: to one subscription).
    Deliver {
        notification_id: String,
        channel: Channel,
        subscription_id: Option<String>,
    },
    /// Expire a paid message nobody replied to in time: release its hold and
    /// tell the user (`messaging::Messaging::expire`).
    ExpireMessage { message_id: String },
    /// Emit an announcement to the next batch of its audience, after the
    /// account id `after`.
    Announce {
        announcement_id: String,
        after: Option<String>,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Notify { .. } => "notify",
            Job::Deliver { .. } => "deliver",
            Job::Announce { .. } => "announce",
            Job::ExpireMessage { .. } => "expire_message",
        }
    }

    /// The key of a job that is the same whoever schedules it.
    pub fn default_key(&self) -> String {
        match self {
            Job::Notify { notice } => format!("notify:{}:{}", notice.account_id, notice.dedupe_key),
            Job::Deliver {
                notification_id,
                channel,
                subscription_id,
            } => match subscription_id {
                Some(s) => format!("deliver:{notification_id}:{}:{s}", channel.as_str()),
                None => format!("deliver:{notification_id}:{}", channel.as_str()),
            },
            Job::ExpireMessage { message_id } => format!("message:{message_id}:expire"),
            Job::Announce {
                announcement_id,
                after,
            } => format!(
                "announce:{announcement_id}:{}",
                after.as_deref().unwrap_or("")
            ),
        }
    }
}

/// Queues `job` under `key` to run at `run_at` (Unix ms; now or earlier runs
/// at the next poll), in the caller's transaction. A key already pending (or
/// cancelled) is moved to the new time and job; one that is running or has
/// run is left alone. Returns whether the job is now pending.
pub async fn schedule(
    conn: &mut AnyConnection,
    now: i64,
    key: &str,
    run_at: i64,
    job: &Job,
) -> Result<bool, NotifyError> {
    let changed = sqlx::query(
        "INSERT INTO jobs (id, kind, job_key, payload, run_at, state, attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
         ON CONFLICT (job_key) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, \
           run_at = excluded.run_at, state = 'pending', attempts = 0, last_error = NULL, \
           updated_at = excluded.updated_at \
         WHERE jobs.state IN ('pending', 'cancelled')",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(job.kind())
    .bind(key)
    .bind(serde_json::to_string(job)?)
    .bind(run_at)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Cancels the pending jobs whose key starts with `key_prefix`, in the
/// caller's transaction; returns how many. A job already claimed by a runner
/// goes on.
pub async fn cancel(
    conn: &mut AnyConnection,
    now: i64,
    key_prefix: &str,
) -> Result<u64, NotifyError> {
    // substr rather than LIKE: a prefix may hold `%` or `_`.
    Ok(sqlx::query(
        "UPDATE jobs SET state = 'cancelled', updated_at = $1 \
         WHERE state = 'pending' AND substr(job_key, 1, length($2)) = $2",
    )
    .bind(now)
    .bind(key_prefix)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// A job a runner holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub payload: String,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// Claims up to `limit` due jobs for `runner` until `now + lease_ms`: pending
/// ones whose time has come, and running ones whose runner's lease ran out
/// (it died). One statement, so two runners never claim the same job: on
/// PostgreSQL the rows are locked and a concurrent claim skips them; SQLite
/// has one writer at a time.
pub async fn claim(
    db: &platform::Database,
    runner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    const DUE: &str =
        "(state = 'pending' AND run_at <= $1) OR (state = 'running' AND locked_until <= $1)";
    // Mostly there is nothing to do: find that out by reading, so idle
    // replicas do not take SQLite's write lock at every poll.
    let any: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM jobs WHERE {DUE} LIMIT 1"))
        .bind(now)
        .fetch_optional(db.pool())
        .await?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let lock = match db.backend() {
        platform::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        platform::Backend::Sqlite => "",
    };
    let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "UPDATE jobs SET state = 'running', locked_by = $2, locked_until = $3, \
           attempts = attempts + 1, updated_at = $1 \
         WHERE id IN (SELECT id FROM jobs WHERE {DUE} ORDER BY run_at, id LIMIT $4 {lock}) \
         RETURNING id, payload, attempts"
    ))
    .bind(now)
    .bind(runner)
    .bind(now.saturating_add(lease_ms))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, payload, attempts)| Claimed {
            id,
            payload,
            attempts,
        })
        .collect())
}

/// How a claimed job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Done; `note` says why nothing was sent, when nothing was.
    Done { note: Option<&'a str> },
    /// Back to pending until `at`.
    Retry { at: i64, error: &'a str },
    /// Given up: for a human to look at.
    Failed { error: &'a str },
}

/// Records how `runner`'s claim on job `id` ended. False when the claim was
/// no longer its own (its lease ran out and another runner took the job):
/// then nothing is written, and a caller in a transaction must roll back.
pub async fn finish(
    conn: &mut AnyConnection,
    id: &str,
    runner: &str,
    now: i64,
    outcome: Outcome<'_>,
) -> Result<bool, sqlx::Error> {
    let (state, run_at, note) = match outcome {
        Outcome::Done { note } => ("done", None, note),
        Outcome::Retry { at, error } => ("pending", Some(at), Some(error)),
        Outcome::Failed { error } => ("failed", None, Some(error)),
    };
    let n = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, \
           locked_by = NULL, locked_until = NULL, updated_at = $4 \
         WHERE id = $5 AND locked_by = $6 AND state = 'running'",
    )
    .bind(state)
    .bind(run_at)
    .bind(note)
    .bind(now)
    .bind(id)
    .bind(runner)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
