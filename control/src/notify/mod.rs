//! Notifications: the one service every part of the platform tells people
//! things through.
//!
//! # Interface (what other modules call)
//!
//! Inside the transaction that makes the change worth telling:
//!
//! ```text
//! let mut tx = state.db.begin_write().await?;
//! // ... the change itself ...
//! notify::emit(&mut tx, now, Notice {
//!     account_id: expert_id.clone(),
//!     event: Event::BookingRequested { booking: booking.clone() },
//!     // Names this event for this recipient: emitting it again (a retried
//!     // request, a second replica) makes no second notification.
//!     dedupe_key: format!("booking:{}:requested", booking.id),
//! }).await?;
//! // Sends later, e.g. reminders. A key names one send: scheduling the same
//! // key again moves it while it waits, and does nothing once it ran, so put
//! // what makes a send distinct (the start time) in the key.
//! notify::jobs::schedule(&mut tx, now, &format!("reminder:{id}:{starts_at}:15"),
//!     starts_at - 15 * 60_000, &Job::Notify { notice }).await?;
//! // A cancelled or moved booking drops what it had scheduled.
//! notify::jobs::cancel(&mut tx, now, &format!("reminder:{id}:")).await?;
//! tx.commit().await?;
//! ```
//!
//! - `emit` writes the notification into the recipient's centre (title and
//!   body rendered in their language, `templates.rs`) and queues one
//!   delivery job per channel (`channels::route`: the live stream always;
//!   email, SMS and push per the account's preferences and addresses). All in
//!   the caller's transaction: a change rolled back notifies nobody, and a
//!   committed one cannot lose its notifications.
//! - `jobs::schedule` / `jobs::cancel` put any `Job` on the durable queue
//!   (`jobs` table) for a given time, or withdraw pending ones by key prefix.
//! - Nothing is sent by the caller: `runner.rs`, started on every replica by
//!   `maintenance::spawn`, claims due jobs and sends.

pub mod announce;
pub mod centre;
pub mod channels;
pub mod deliver;
pub mod event;
pub mod ics;
pub mod jobs;
pub mod live;
pub mod push;
pub mod recipient;
pub mod retry;
pub mod runner;
pub mod sms;
pub mod templates;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

pub use channels::Channel;
pub use event::{Booking, Event};
pub use jobs::Job;

use crate::accounts::Status;

/// One event told to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub account_id: String,
    pub event: Event,
    /// Unique per recipient: the same key is one notification however many
    /// times it is emitted.
    pub dedupe_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no account {0} to notify")]
    UnknownAccount(String),
    #[error("cannot encode a notification: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Writes `notice` into its recipient's centre and queues its deliveries, in
/// the caller's transaction. Returns the new notification's id, or `None`
/// when there is nothing to do: the same dedupe key was emitted before, or
/// the account is deleted.
pub async fn emit(
    conn: &mut AnyConnection,
    now: i64,
    notice: Notice,
) -> Result<Option<String>, NotifyError> {
    let who = recipient::get(conn, &notice.account_id)
        .await?
        .ok_or_else(|| NotifyError::UnknownAccount(notice.account_id.clone()))?;
    if who.status == Status::Deleted {
        return Ok(None);
    }
    let text = templates::render(&notice.event, who.language);
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query(
        "INSERT INTO notifications (id, account_id, kind, title, body, data, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, dedupe_key) DO NOTHING",
    )
    .bind(&id)
    .bind(&notice.account_id)
    .bind(notice.event.kind())
    .bind(&text.title)
    .bind(&text.body)
    .bind(serde_json::to_string(&notice.event)?)
    .bind(&notice.dedupe_key)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let subscriptions = recipient::push_subscriptions(conn, &notice.account_id).await?;
    let reach = who.reach(subscriptions.len());
    for channel in channels::route(&reach) {
        // Push goes to each of the recipient's browsers: one job each, so one
        // that fails is retried without sending the others twice.
        let targets = match channel {
            Channel::Push => subscriptions.iter().map(|s| Some(s.clone())).collect(),
            _ => vec![None],
        };
        for subscription_id in targets {
            let job = Job::Deliver {
                notification_id: id.clone(),
                channel,
                subscription_id,
            };
            jobs::schedule(conn, now, &job.default_key(), now, &job).await?;
        }
    }
    Ok(Some(id))
}
