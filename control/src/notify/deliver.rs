//! Sending one notification over one channel: the `Deliver` job. The channel
//! decided at emission is checked against the recipient's preferences as
//! they are now, then the notification goes out; the job's id makes the send
//! recognisable as one message where the channel allows (email Message-ID,
//! push Topic).

use serde_json::json;
use sqlx::AnyConnection;

use super::centre::{self, Stored};
use super::channels::{self, Channel};
use super::event::Event;
use super::ics;
use super::live::LiveMessage;
use super::push::{PushError, Subscription};
use super::recipient::{self, Recipient};
use super::retry::Failure;
use super::templates::{self, Text};
use crate::accounts::Status;
use crate::api::cursor;
use crate::state::AppState;

/// A delivery that completed: sent, or rightly not sent (why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    Skipped(&'static str),
}

/// A push payload keeps well under the 3,993 bytes a push message holds.
const PUSH_BODY_CHARS: usize = 1_000;

fn transient(e: impl std::fmt::Display) -> Failure {
    Failure::Transient(e.to_string())
}

pub async fn deliver(
    state: &AppState,
    job_id: &str,
    notification_id: &str,
    channel: Channel,
    subscription_id: Option<&str>,
) -> Result<Delivered, Failure> {
    let mut conn = state.db.pool().acquire().await.map_err(transient)?;
    let Some(n) = centre::get(&mut conn, notification_id)
        .await
        .map_err(transient)?
    else {
        return Err(Failure::Permanent(format!(
            "no notification {notification_id}"
        )));
    };
    match channel {
        Channel::Live => {
            drop(conn);
            let message = LiveMessage {
                account_id: n.account_id.clone(),
                cursor: cursor::encode(n.created_ms, &n.view.id),
                notification: n.view,
            };
            state.live.publish(&message).await.map_err(transient)?;
            Ok(Delivered::Sent)
        }
        Channel::Email => match wanted(&mut conn, &n, channel).await? {
            Some(who) => email(state, job_id, &who, &n).await,
            None => Ok(Delivered::Skipped(TURNED_OFF)),
        },
        Channel::Sms => match wanted(&mut conn, &n, channel).await? {
            Some(who) => sms(state, &who, &text(&n)).await,
            None => Ok(Delivered::Skipped(TURNED_OFF)),
        },
        Channel::Push => {
            let Some(subscription_id) = subscription_id else {
                return Err(Failure::Permanent(
                    "a push delivery names no subscription".into(),
                ));
            };
            if wanted(&mut conn, &n, channel).await?.is_none() {
                return Ok(Delivered::Skipped(TURNED_OFF));
            }
            let found: Option<(String, String, String)> = sqlx::query_as(
                "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1 AND account_id = $2",
            )
            .bind(subscription_id)
            .bind(&n.account_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(transient)?;
            drop(conn);
            let Some((endpoint, p256dh, auth)) = found else {
                return Ok(Delivered::Skipped("the browser unsubscribed"));
            };
            let to = Subscription {
                endpoint,
                p256dh,
                auth,
            };
            push(state, job_id, subscription_id, &to, &n).await
        }
    }
}

const TURNED_OFF: &str = "the recipient turned this channel off";

/// The recipient, if they still want `channel`.
async fn wanted(
    conn: &mut AnyConnection,
    n: &Stored,
    channel: Channel,
) -> Result<Option<Recipient>, Failure> {
    let Some(who) = recipient::get(conn, &n.account_id)
        .await
        .map_err(transient)?
    else {
        return Err(Failure::Permanent(format!("no account {}", n.account_id)));
    };
    let active = who.status == Status::Active;
    Ok(channels::still_wanted(channel, who.prefs, active).then_some(who))
}

fn text(n: &Stored) -> Text {
    Text {
        title: n.view.title.clone(),
        body: n.view.body.clone(),
    }
}

async fn email(
    state: &AppState,
    job_id: &str,
    who: &Recipient,
    n: &Stored,
) -> Result<Delivered, Failure> {
    let event = serde_json::from_value::<Event>(n.view.data.clone()).ok();
    let link = format!(
        "{}{}",
        state.public_url,
        templates::link(event.as_ref(), &n.account_id)
    );
    let calendar = event.as_ref().and_then(|e| ics::for_event(e, n.created_ms));
    let email = templates::email(who.language, &who.first_name, &text(n), &link, calendar);
    state
        .mailer
        .send_with_id(&who.full_name(), &who.email, email, Some(job_id))
        .await
        .map_err(|e| Failure::Transient(format!("email not sent: {e:#}")))?;
    Ok(Delivered::Sent)
}

async fn sms(state: &AppState, who: &Recipient, text: &Text) -> Result<Delivered, Failure> {
    let Some(phone) = &who.phone else {
        return Ok(Delivered::Skipped("no phone number"));
    };
    let Some(sms) = &state.sms else {
        return Ok(Delivered::Skipped("SMS is not configured"));
    };
    sms.send(phone, &templates::sms(text)).await?;
    Ok(Delivered::Sent)
}

async fn push(
    state: &AppState,
    job_id: &str,
    subscription_id: &str,
    to: &Subscription,
    n: &Stored,
) -> Result<Delivered, Failure> {
    let body: String = n.view.body.chars().take(PUSH_BODY_CHARS).collect();
    let payload = json!({
        "id": n.view.id,
        "kind": n.view.kind,
        "title": n.view.title,
        "body": body,
        "created_at": n.view.created_at,
    })
    .to_string();
    match state
        .push
        .send(to, payload.as_bytes(), job_id, state.clock.now_secs())
        .await
    {
        Ok(()) => Ok(Delivered::Sent),
        Err(PushError::Gone) => {
            sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                .bind(subscription_id)
                .execute(state.db.pool())
                .await
                .map_err(transient)?;
            Ok(Delivered::Skipped("the subscription has expired"))
        }
        Err(PushError::Failed(f)) => Err(f),
    }
}
