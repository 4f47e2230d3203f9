//! Who hears of a booking's changes, and its reminders: notices emitted and
//! reminders (re)scheduled in the transaction that makes the change, through
//! the notification service, so a change rolled back tells nobody and a
//! committed one cannot lose its notices. Dedupe keys name the change (with
//! the booking's sequence where it can happen again), so a retry tells once.

use sqlx::AnyConnection;

use super::rules::Action;
use super::{Booking, Settlement, Side, State};
use crate::ledger::MILLIMES_PER_COIN;
use crate::notify::{self, jobs, Event, Job, Notice, NotifyError};

/// Zone for people whose own is unknown (users state theirs when booking).
pub const DEFAULT_ZONE: &str = "Africa/Tunis";

/// Names and zones of a booking's two sides.
struct Sides {
    user_name: String,
    expert_name: String,
    user_zone: String,
    expert_zone: String,
}

/// An account's first and last name (empty for no such account).
pub(crate) async fn full_name(conn: &mut AnyConnection, id: &str) -> Result<String, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT first_name, last_name FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(f, l)| format!("{f} {l}")).unwrap_or_default())
}

async fn sides(conn: &mut AnyConnection, b: &Booking) -> Result<Sides, sqlx::Error> {
    let user_name = full_name(conn, &b.user_id).await?;
    let expert_name = full_name(conn, &b.expert_id).await?;
    let expert_zone: Option<(String,)> =
        sqlx::query_as("SELECT time_zone FROM expert_calendars WHERE expert_id = $1")
            .bind(&b.expert_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(Sides {
        user_name,
        expert_name,
        user_zone: b.user_time_zone.clone(),
        expert_zone: expert_zone.map_or_else(|| DEFAULT_ZONE.to_owned(), |(z,)| z),
    })
}

impl Sides {
    /// The booking as told to someone reading times in `zone`.
    fn booking(&self, b: &Booking, zone: &str) -> notify::Booking {
        notify::Booking {
            id: b.id.clone(),
            expert_name: self.expert_name.clone(),
            user_name: self.user_name.clone(),
            starts_at: b.start_at,
            minutes: b.minutes,
            time_zone: zone.to_owned(),
        }
    }

    /// The zone of `account` on booking `b` (guests read the user's).
    fn zone_of(&self, b: &Booking, account: &str) -> &str {
        if account == b.expert_id {
            &self.expert_zone
        } else {
            &self.user_zone
        }
    }
}

async fn tell(
    conn: &mut AnyConnection,
    now: i64,
    account_id: &str,
    event: Event,
    dedupe_key: String,
) -> Result<(), NotifyError> {
    notify::emit(
        conn,
        now,
        Notice {
            account_id: account_id.to_owned(),
            event,
            dedupe_key,
        },
    )
    .await?;
    Ok(())
}

/// Guests who accepted: they hear of changes and get reminders.
async fn accepted_guests(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT account_id FROM booking_participants WHERE booking_id = $1 AND state = 'accepted' \
         ORDER BY account_id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(a,)| a).collect())
}

fn reminder_prefix(id: &str) -> String {
    format!("reminder:booking:{id}:")
}

/// Schedules `account`'s reminders for confirmed booking `b`, `offsets`
/// minutes before its start (those still ahead).
async fn remind(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    s: &Sides,
    account: &str,
    offsets: &[i64],
) -> Result<(), NotifyError> {
    for &minutes in offsets {
        let run_at = b.start_at - minutes * 60_000;
        if run_at <= now {
            continue;
        }
        // The start is in the key: a moved booking's reminders are new sends.
        let key = format!(
            "{}{account}:{}:{minutes}",
            reminder_prefix(&b.id),
            b.start_at
        );
        let notice = Notice {
            account_id: account.to_owned(),
            event: Event::BookingReminder {
                booking: s.booking(b, s.zone_of(b, account)),
                before_minutes: minutes,
            },
            dedupe_key: key.clone(),
        };
        jobs::schedule(conn, now, &key, run_at, &Job::Notify { notice }).await?;
    }
    Ok(())
}

/// Reminders for everyone on a confirmed booking, replacing earlier ones.
async fn remind_all(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    s: &Sides,
    offsets: &[i64],
) -> Result<(), NotifyError> {
    jobs::cancel(conn, now, &reminder_prefix(&b.id)).await?;
    let mut people = vec![b.user_id.clone(), b.expert_id.clone()];
    people.extend(accepted_guests(conn, &b.id).await?);
    for account in &people {
        remind(conn, now, b, s, account, offsets).await?;
    }
    Ok(())
}

/// A reservation's hold is made: the expert is asked, or the user told.
pub async fn reserved(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    reminders: &[i64],
) -> Result<(), NotifyError> {
    let s = sides(conn, b).await?;
    match b.state {
        State::Requested => {
            let event = Event::BookingRequested {
                booking: s.booking(b, &s.expert_zone),
            };
            tell(
                conn,
                now,
                &b.expert_id,
                event,
                format!("booking:{}:requested", b.id),
            )
            .await
        }
        State::Confirmed => {
            let event = Event::BookingConfirmed {
                booking: s.booking(b, &s.user_zone),
            };
            tell(
                conn,
                now,
                &b.user_id,
                event,
                format!("booking:{}:confirmed", b.id),
            )
            .await?;
            let event = Event::BookingReceived {
                booking: s.booking(b, &s.expert_zone),
            };
            tell(
                conn,
                now,
                &b.expert_id,
                event,
                format!("booking:{}:received", b.id),
            )
            .await?;
            remind_all(conn, now, b, &s, reminders).await
        }
        _ => Ok(()),
    }
}

/// `action` by `side` turned `before` into `after`.
pub async fn changed(
    conn: &mut AnyConnection,
    now: i64,
    before: &Booking,
    after: &Booking,
    side: Side,
    action: Action,
    reminders: &[i64],
) -> Result<(), NotifyError> {
    let s = sides(conn, after).await?;
    let b = after;
    let seq = b.sequence;
    let other = match side {
        Side::Expert => b.user_id.as_str(),
        Side::User | Side::System => b.expert_id.as_str(),
    };
    let for_ = |account: &str| s.booking(b, s.zone_of(b, account));
    match action {
        Action::Confirm | Action::Accept => {
            let to = if action == Action::Confirm {
                &b.user_id
            } else {
                &b.expert_id
            };
            let event = Event::BookingConfirmed { booking: for_(to) };
            tell(
                conn,
                now,
                to,
                event,
                format!("booking:{}:confirmed:{seq}", b.id),
            )
            .await?;
            remind_all(conn, now, b, &s, reminders).await
        }
        Action::Decline => {
            let event = Event::BookingDeclined {
                booking: for_(&b.user_id),
                reason: b.reason.clone(),
            };
            tell(
                conn,
                now,
                &b.user_id,
                event,
                format!("booking:{}:declined", b.id),
            )
            .await?;
            refunded(conn, now, b, "declined").await
        }
        // An alternative asks the user to accept or decline it; guests are
        // told of a move, from the time asked for.
        Action::Propose(_) | Action::Reschedule(_) => {
            let mut told = vec![other.to_owned()];
            told.extend(accepted_guests(conn, &b.id).await?);
            for account in &told {
                let event = if matches!(action, Action::Propose(_)) && *account == b.user_id {
                    Event::BookingProposed {
                        booking: for_(account),
                        previous_starts_at: before.start_at,
                    }
                } else {
                    Event::BookingChanged {
                        booking: for_(account),
                        previous_starts_at: before.start_at,
                    }
                };
                tell(
                    conn,
                    now,
                    account,
                    event,
                    format!("booking:{}:changed:{seq}", b.id),
                )
                .await?;
            }
            if b.state == State::Confirmed {
                remind_all(conn, now, b, &s, reminders).await?;
            }
            Ok(())
        }
        Action::Cancel | Action::Expire => {
            let charged = match b.settlement {
                Some(Settlement::Capture(amount)) => amount,
                _ => 0,
            };
            let by = match side {
                Side::User => s.user_name.clone(),
                Side::Expert => s.expert_name.clone(),
                Side::System => "DeepInfluence".to_owned(),
            };
            let mut told = match side {
                Side::System => vec![b.user_id.clone(), b.expert_id.clone()],
                _ => vec![other.to_owned()],
            };
            told.extend(accepted_guests(conn, &b.id).await?);
            for account in &told {
                let event = Event::BookingCancelled {
                    booking: for_(account),
                    by: by.clone(),
                    refunded_coins: (b.price - charged) / MILLIMES_PER_COIN,
                };
                tell(
                    conn,
                    now,
                    account,
                    event,
                    format!("booking:{}:cancelled", b.id),
                )
                .await?;
            }
            jobs::cancel(conn, now, &reminder_prefix(&b.id)).await?;
            let cause = if action == Action::Expire {
                "expired"
            } else {
                "cancelled"
            };
            refunded(conn, now, b, cause).await
        }
        Action::Settle(_) => Ok(()),
    }
}

/// What ended booking `b` returns to the user's wallet, in millimes: its
/// price less what its settlement captures.
fn refund_of(b: &Booking) -> i64 {
    match b.settlement {
        Some(Settlement::Release) => b.price,
        Some(Settlement::Capture(charged)) => b.price - charged,
        None => 0,
    }
}

/// Tells the user the coins ended booking `b` gives back (`cause`: declined,
/// expired, cancelled), once per booking and cause. Emitted with the change
/// that records the settlement, which the ledger then applies exactly once.
async fn refunded(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    cause: &str,
) -> Result<(), NotifyError> {
    let coins = refund_of(b) / MILLIMES_PER_COIN;
    if coins <= 0 || b.hold_id.is_none() {
        return Ok(());
    }
    let event = Event::PaymentRefunded {
        reference: format!("booking:{}", b.id),
        coins,
    };
    let key = format!("booking:{}:refund:{cause}", b.id);
    tell(conn, now, &b.user_id, event, key).await
}

/// A booking's call was settled: both sides hear how it ended and what was
/// charged (`outcome`: completed, expert_no_show, user_no_show).
pub async fn call_settled(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    outcome: &str,
    billed_seconds: i64,
    charged_millimes: i64,
) -> Result<(), NotifyError> {
    let sides = sides(conn, b).await?;
    for account in [&b.user_id, &b.expert_id] {
        let event = Event::CallSettled {
            booking: sides.booking(b, sides.zone_of(b, account)),
            outcome: outcome.to_owned(),
            billed_seconds,
            charged_coins: charged_millimes / MILLIMES_PER_COIN,
        };
        tell(conn, now, account, event, format!("call:{}:settled", b.id)).await?;
    }
    Ok(())
}

/// After a hold: a user whose spendable balance (`wallet_millimes`) is
/// below `threshold_coins` is reminded to top up, at most once per UTC day.
pub async fn low_balance(
    conn: &mut AnyConnection,
    now: i64,
    user_id: &str,
    wallet_millimes: i64,
    threshold_coins: i64,
) -> Result<(), NotifyError> {
    if threshold_coins <= 0 || wallet_millimes >= threshold_coins * MILLIMES_PER_COIN {
        return Ok(());
    }
    let day = now.div_euclid(86_400_000);
    let event = Event::LowBalance {
        balance_coins: wallet_millimes / MILLIMES_PER_COIN,
    };
    let key = format!("low_balance:{user_id}:{day}");
    tell(conn, now, user_id, event, key).await
}

/// A guest was invited.
pub async fn invited(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    guest: &str,
) -> Result<(), NotifyError> {
    let s = sides(conn, b).await?;
    let event = Event::MeetingInvitation {
        booking: s.booking(b, s.zone_of(b, guest)),
    };
    let key = format!("booking:{}:invitation:{guest}:{now}", b.id);
    tell(conn, now, guest, event, key).await
}

/// A guest's reminders follow their answer: scheduled when they accept a
/// confirmed booking, withdrawn when they decline or are removed.
pub async fn guest_answered(
    conn: &mut AnyConnection,
    now: i64,
    b: &Booking,
    guest: &str,
    coming: bool,
    reminders: &[i64],
) -> Result<(), NotifyError> {
    jobs::cancel(conn, now, &format!("{}{guest}:", reminder_prefix(&b.id))).await?;
    if coming && b.state == State::Confirmed {
        let s = sides(conn, b).await?;
        remind(conn, now, b, &s, guest, reminders).await?;
    }
    Ok(())
}
