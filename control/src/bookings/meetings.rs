//! A booking's meeting can have guests: either side invites an account, the
//! guest accepts or declines, and the expert, who hosts, removes guests.
//! Guests see the booking and, once they accept, find it in their calendar
//! feed; they never pay and never change the booking.

use serde::Serialize;
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::{notices, store, Booking, BookingError, Bookings, Side};
use crate::accounts::text_enum;

/// Guests per booking.
pub const MAX_GUESTS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuestState {
    Invited,
    Accepted,
    Declined,
    Removed,
}

text_enum!(GuestState { Invited = "invited", Accepted = "accepted", Declined = "declined", Removed = "removed" });

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Guest {
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub state: GuestState,
    pub invited_by: String,
}

pub async fn is_guest(
    conn: &mut AnyConnection,
    booking_id: &str,
    account_id: &str,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM booking_participants WHERE booking_id = $1 AND account_id = $2 \
         AND state IN ('invited', 'accepted')",
    )
    .bind(booking_id)
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

async fn guests(conn: &mut AnyConnection, booking_id: &str) -> Result<Vec<Guest>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT p.account_id, a.first_name, a.last_name, p.state, p.invited_by \
         FROM booking_participants p JOIN accounts a ON a.id = p.account_id \
         WHERE p.booking_id = $1 AND p.state <> 'removed' ORDER BY p.invited_at, p.account_id",
    )
    .bind(booking_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(account_id, first_name, last_name, state, invited_by)| {
            Some(Guest {
                account_id,
                first_name,
                last_name,
                state: GuestState::parse(&state)?,
                invited_by,
            })
        })
        .collect())
}

fn not_allowed(b: &Booking, side: Side, action: &'static str) -> BookingError {
    BookingError::NotAllowed {
        state: b.state,
        side,
        action,
    }
}

/// `by` (a side of booking `b`) invites `guest`. Inviting a guest who
/// declined or was removed invites them again. True when newly invited.
async fn invite(
    conn: &mut AnyConnection,
    b: &Booking,
    by: &str,
    guest: &str,
    now: i64,
) -> Result<bool, BookingError> {
    let side = b.side_of(by).ok_or(BookingError::NotFound)?;
    if !b.state.is_active() {
        return Err(not_allowed(b, side, "given guests"));
    }
    if b.side_of(guest).is_some() {
        return Err(BookingError::invalid(
            "account_id",
            "is already in the booking",
        ));
    }
    let active: Option<(String,)> =
        sqlx::query_as("SELECT id FROM accounts WHERE id = $1 AND status = 'active'")
            .bind(guest)
            .fetch_optional(&mut *conn)
            .await?;
    if active.is_none() {
        return Err(BookingError::invalid(
            "account_id",
            "names no active account",
        ));
    }
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM booking_participants WHERE booking_id = $1 AND account_id <> $2 \
         AND state IN ('invited', 'accepted')",
    )
    .bind(&b.id)
    .bind(guest)
    .fetch_one(&mut *conn)
    .await?;
    if count >= MAX_GUESTS {
        return Err(BookingError::invalid(
            "account_id",
            format!("a booking has at most {MAX_GUESTS} guests"),
        ));
    }
    let done = sqlx::query(
        "INSERT INTO booking_participants (booking_id, account_id, state, invited_by, invited_at) \
         VALUES ($1, $2, 'invited', $3, $4) ON CONFLICT (booking_id, account_id) DO UPDATE \
         SET state = 'invited', invited_by = $3, invited_at = $4, responded_at = NULL \
         WHERE booking_participants.state IN ('declined', 'removed')",
    )
    .bind(&b.id)
    .bind(guest)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A guest's answer, or the host removing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestChange {
    /// The guest accepts (true) or declines; again if they change their mind.
    Answer(bool),
    /// The host removes the guest.
    Remove,
}

/// Applies `change`, made by `actor`, to `guest`'s place in booking `b`.
async fn set_guest(
    conn: &mut AnyConnection,
    b: &Booking,
    actor: &str,
    guest: &str,
    change: GuestChange,
    now: i64,
) -> Result<GuestState, BookingError> {
    let state = match change {
        GuestChange::Answer(_) if actor != guest => return Err(BookingError::NotFound),
        GuestChange::Answer(_) if !b.state.is_active() => {
            return Err(not_allowed(b, Side::User, "answered by a guest"))
        }
        GuestChange::Answer(true) => GuestState::Accepted,
        GuestChange::Answer(false) => GuestState::Declined,
        GuestChange::Remove => match b.side_of(actor) {
            Some(Side::Expert) => GuestState::Removed,
            Some(_) => return Err(BookingError::HostOnly),
            None => return Err(BookingError::NotFound),
        },
    };
    let done = sqlx::query(
        "UPDATE booking_participants SET state = $3, responded_at = $4 \
         WHERE booking_id = $1 AND account_id = $2 AND state <> 'removed'",
    )
    .bind(&b.id)
    .bind(guest)
    .bind(state.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(BookingError::NotFound);
    }
    Ok(state)
}

impl Bookings {
    /// `by` (a side) invites `guest` to booking `id`.
    pub async fn invite(&self, id: &str, by: &str, guest: &str) -> Result<(), BookingError> {
        let mut tx = self.db.begin_write().await?;
        let b = store::get(&mut tx, id)
            .await?
            .ok_or(BookingError::NotFound)?;
        let now = self.clock.now_ms();
        if invite(&mut tx, &b, by, guest, now).await? {
            notices::invited(&mut tx, now, &b, guest).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `actor` changes `guest`'s place in booking `id`; their reminders
    /// follow.
    pub async fn change_guest(
        &self,
        id: &str,
        actor: &str,
        guest: &str,
        change: GuestChange,
    ) -> Result<(), BookingError> {
        let mut tx = self.db.begin_write().await?;
        let b = store::get(&mut tx, id)
            .await?
            .ok_or(BookingError::NotFound)?;
        let now = self.clock.now_ms();
        let state = set_guest(&mut tx, &b, actor, guest, change, now).await?;
        let coming = state == GuestState::Accepted;
        notices::guest_answered(&mut tx, now, &b, guest, coming, &self.reminders()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn guests(&self, id: &str) -> Result<Vec<Guest>, BookingError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(guests(&mut conn, id).await?)
    }
}
