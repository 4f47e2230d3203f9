//! Housekeeping: rows that can no longer matter are deleted, so the identity
//! tables follow the number of people, not the age of the system; holds
//! past their deadline are released; bookings nobody answered lapse; calls'
//! presence is merged, their status pushed and the calls over settled; video
//! uploads never sent are deleted. All are idempotent, so every
//! replica may run them.

use std::time::Duration;

use sqlx::AnyPool;

use crate::settings::AuthSettings;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);
/// A hold is released at most this long after its deadline.
const HOLD_EXPIRY_EVERY: Duration = Duration::from_secs(10);
const HOLD_EXPIRY_BATCH: i64 = 500;
/// Requests and proposals lapse, and bookings are settled, at most this late.
const BOOKING_SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Payments whose provider never notified us are asked about this often.
const RECONCILE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub used_links: u64,
    pub login_attempts: u64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Deletes what is past use at `now`:
/// - refresh tokens of sessions that can no longer be used: revoked ones, and
///   ones whose every token has expired. A spent token of a live session is
///   kept, because presenting it again is how theft is detected;
/// - sessions with no refresh token left, older than an access token's
///   lifetime (no token of theirs can be valid any more);
/// - used link nonces older than a link's lifetime (the link has expired);
/// - login-attempt counts neither locked nor touched within the lockout period.
pub async fn purge(db: &AnyPool, now: i64, auth: &AuthSettings) -> Result<Purged, sqlx::Error> {
    let refresh_tokens = sqlx::query(
        "DELETE FROM refresh_tokens WHERE session_id IN ( \
           SELECT id FROM sessions WHERE revoked_at IS NOT NULL \
           UNION \
           SELECT session_id FROM refresh_tokens GROUP BY session_id HAVING MAX(expires_at) <= $1)",
    )
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    let sessions = sqlx::query(
        "DELETE FROM sessions WHERE created_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id)",
    )
    .bind(now - ms(auth.access_token_ttl))
    .execute(db)
    .await?
    .rows_affected();
    // A nonce must outlive every link that can carry it: reset links and
    // OAuth states.
    let oauth_state = Duration::from_secs(crate::social::state::TTL_SECS as u64);
    let used_links = sqlx::query("DELETE FROM used_links WHERE used_at <= $1")
        .bind(now - ms(auth.reset_link_ttl.max(oauth_state)))
        .execute(db)
        .await?
        .rows_affected();
    let login_attempts = sqlx::query(
        "DELETE FROM login_attempts WHERE (locked_until IS NULL OR locked_until <= $1) AND updated_at <= $2",
    )
    .bind(now)
    .bind(now - ms(auth.lockout))
    .execute(db)
    .await?
    .rows_affected();
    Ok(Purged {
        refresh_tokens,
        sessions,
        used_links,
        login_attempts,
    })
}

/// Runs `purge` every hour, the ledger's hold expiry and the bookings' sweep
/// every few seconds, payment reconciliation every minute and the
/// notification jobs every `control.notify.poll_interval`, for as long as the
/// process lives. Deadlines, pending payments and jobs live in the database,
/// so a restart loses none.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    crate::notify::runner::spawn(state.clone());
    let ledger = state.ledger.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOLD_EXPIRY_EVERY);
        loop {
            tick.tick().await;
            // A full batch means more may be due: go on at once.
            loop {
                match ledger.expire_due(HOLD_EXPIRY_BATCH).await {
                    Ok(n) if n as i64 == HOLD_EXPIRY_BATCH => continue,
                    Ok(0) => {}
                    Ok(n) => tracing::info!(holds = n, "released holds past their deadline"),
                    Err(e) => tracing::warn!(error = %e, "hold expiry failed"),
                }
                break;
            }
        }
    });
    let bookings = state.bookings.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(BOOKING_SWEEP_EVERY);
        loop {
            tick.tick().await;
            match bookings.sweep(HOLD_EXPIRY_BATCH).await {
                Ok(s) if s != Default::default() => tracing::info!(?s, "booking deadlines handled"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "booking sweep failed"),
            }
        }
    });
    // Calls: presence reports merged (each replica a consumer of one group),
    // statuses pushed and calls over settled.
    let calls = state.calls.clone();
    tokio::spawn(async move {
        let consumer = uuid::Uuid::new_v4().to_string();
        loop {
            if let Err(e) = calls.consume(&consumer, 200, Duration::from_secs(1)).await {
                tracing::warn!(error = %e, "merging presence reports failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    let calls = state.calls.clone();
    let every = state
        .settings
        .calls
        .status_every
        .max(Duration::from_millis(100));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match calls.tick(HOLD_EXPIRY_BATCH).await {
                Ok(t) if t.settled > 0 => tracing::info!(settled = t.settled, "calls settled"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "call tick failed"),
            }
        }
    });
    let payments = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tick.tick().await;
            let quiet = crate::api::wallet::QUIET_MS;
            match payments.payments.reconcile(quiet, 500).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(payments = n, "reconciliation settled payments"),
                Err(e) => tracing::warn!(error = %e, "payment reconciliation failed"),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match purge(state.db.pool(), state.now(), &state.settings.auth).await {
                Ok(p) if p != Purged::default() => {
                    tracing::info!(?p, "purged expired identity rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge of expired identity rows failed"),
            }
            match state.messaging.purge_uploads(HOLD_EXPIRY_BATCH).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "deleted video uploads never sent"),
                Err(e) => tracing::warn!(error = %e, "purge of unsent uploads failed"),
            }
        }
    })
}
