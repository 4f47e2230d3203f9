//! Administrators' announcements: recorded once, then emitted to their
//! audience by `Announce` jobs, one batch of accounts per job and
//! transaction, each job queueing the next; so a large audience is never
//! one giant transaction, and a batch that fails is retried alone.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::{emit, jobs, Event, Job, Notice, NotifyError};
use crate::accounts::Language;

/// Who an announcement reaches (active accounts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Segment {
    /// Everyone.
    All,
    /// Accounts with the user role.
    Users,
    /// Accounts with the expert role.
    Experts,
    /// Accounts whose language is the announcement's `language`.
    Language,
}

crate::accounts::text_enum!(Segment { All = "all", Users = "users", Experts = "experts", Language = "language" });

impl Segment {
    /// The SQL condition on `accounts` (its parameter, if any, is `$3`).
    fn condition(self) -> &'static str {
        match self {
            Segment::All => "1 = 1",
            Segment::Users => "role = 'user'",
            Segment::Experts => "role = 'expert'",
            Segment::Language => "language = $3",
        }
    }
}

/// An announcement as an administrator made it.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub id: String,
    pub admin_id: String,
    pub title: String,
    pub body: String,
    pub segment: Segment,
    /// The audience's language, for `Segment::Language`.
    pub language: Option<Language>,
}

/// Records an announcement and queues its first batch, in the caller's
/// transaction.
pub async fn start(
    conn: &mut AnyConnection,
    now: i64,
    a: &Announcement,
) -> Result<(), NotifyError> {
    sqlx::query(
        "INSERT INTO announcements (id, admin_id, title, body, segment, language, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(&a.admin_id)
    .bind(&a.title)
    .bind(&a.body)
    .bind(a.segment.as_str())
    .bind(a.language.map(Language::as_str))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let job = Job::Announce {
        announcement_id: a.id.clone(),
        after: None,
    };
    jobs::schedule(conn, now, &job.default_key(), now, &job).await?;
    Ok(())
}

/// Emits announcement `id` to the next `batch` accounts of its audience
/// after the account id `after`, and queues the batch after, in the
/// caller's transaction. Returns how many accounts this batch reached.
pub async fn run_batch(
    conn: &mut AnyConnection,
    now: i64,
    id: &str,
    after: Option<&str>,
    batch: i64,
) -> Result<usize, NotifyError> {
    let found: Option<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT title, body, segment, language FROM announcements WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((title, body, segment, language)) = found else {
        return Ok(0);
    };
    let segment = Segment::parse(&segment).unwrap_or(Segment::All);
    let sql = format!(
        "SELECT id FROM accounts WHERE status = 'active' AND id > $1 AND {} ORDER BY id LIMIT $2",
        segment.condition()
    );
    let mut query = sqlx::query_scalar(&sql)
        .bind(after.unwrap_or(""))
        .bind(batch);
    if segment == Segment::Language {
        query = query.bind(language.unwrap_or_default());
    }
    let accounts: Vec<String> = query.fetch_all(&mut *conn).await?;
    for account_id in &accounts {
        let notice = Notice {
            account_id: account_id.clone(),
            event: Event::Announcement {
                announcement_id: id.to_owned(),
                title: title.clone(),
                body: body.clone(),
            },
            dedupe_key: format!("announcement:{id}"),
        };
        emit(conn, now, notice).await?;
    }
    if accounts.len() as i64 == batch {
        let next = Job::Announce {
            announcement_id: id.to_owned(),
            after: accounts.last().cloned(),
        };
        jobs::schedule(conn, now, &next.default_key(), now, &next).await?;
    }
    Ok(accounts.len())
}
