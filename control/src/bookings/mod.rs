//! Bookings of video calls with experts: the slot is taken under the
//! expert's lock, then the price is held in the ledger; the expert confirms,
//! declines or proposes another time (or the booking is confirmed at once);
//! either side cancels or reschedules under a policy; the hold is released
//! or captured exactly once when the booking ends.
//!
//! `rules` (who may do what, and what follows) and `policy` (what a
//! cancellation costs) are sans-IO; `store` is the SQL; `service` drives a
//! booking through the database and the ledger; `meetings` are the further
//! participants a booking invites.

pub mod ical;
pub mod meetings;
pub mod notices;
pub mod policy;
pub mod rules;
pub mod service;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;
use crate::ledger::LedgerError;
use crate::notify::NotifyError;

pub use service::Bookings;

/// The shortest bookable call.
pub const MIN_MINUTES: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BookingState)]
pub enum State {
    /// The slot is taken; the coins are being held.
    Reserving,
    /// Waiting for the expert to confirm, decline or propose another time.
    Requested,
    /// The expert proposed another time; waiting for the user.
    Proposed,
    Confirmed,
    Declined,
    /// Nobody answered in time.
    Expired,
    Cancelled,
    /// Took place; the price was paid.
    Completed,
    /// The coins could not be held.
    Failed,
}

text_enum!(State {
    Reserving = "reserving", Requested = "requested", Proposed = "proposed",
    Confirmed = "confirmed", Declined = "declined", Expired = "expired",
    Cancelled = "cancelled", Completed = "completed", Failed = "failed"
});

impl State {
    /// Occupies the expert's time (see `calendar::store::BUSY_STATES`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Reserving | State::Requested | State::Proposed | State::Confirmed
        )
    }
}

/// Which side of a booking acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    User,
    Expert,
    /// Deadlines and settlement.
    System,
}

text_enum!(Side { User = "user", Expert = "expert", System = "system" });

/// What the ledger owes a booking's hold once it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Release,
    /// Pays this many millimes (80/20) and returns the rest.
    Capture(i64),
}

#[derive(Debug, Clone)]
pub struct Booking {
    pub id: String,
    pub user_id: String,
    pub expert_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub minutes: i64,
    /// Coins per minute when booked.
    pub rate: i64,
    /// Millimes.
    pub price: i64,
    pub instant: bool,
    /// The user's IANA zone, for the times in their notices.
    pub user_time_zone: String,
    pub state: State,
    pub respond_by: Option<i64>,
    pub hold_id: Option<String>,
    pub settlement: Option<Settlement>,
    pub settled_at: Option<i64>,
    pub ended_by: Option<Side>,
    pub reason: Option<String>,
    pub sequence: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Booking {
    /// The side `account_id` is on, if any.
    pub fn side_of(&self, account_id: &str) -> Option<Side> {
        if account_id == self.user_id {
            Some(Side::User)
        } else if account_id == self.expert_id {
            Some(Side::Expert)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("no such booking")]
    NotFound,
    #[error("this expert cannot be booked")]
    ExpertNotBookable,
    #[error("this expert does not offer video calls")]
    CallsNotOffered,
    #[error("experts cannot book themselves")]
    OwnCalendar,
    #[error("the slot is not free")]
    SlotUnavailable,
    #[error("the wallet does not hold the {price} millimes this costs")]
    InsufficientFunds { price: i64 },
    #[error("a {} booking cannot be {action} by the {}", .state.as_str(), .side.as_str())]
    NotAllowed {
        state: State,
        side: Side,
        action: &'static str,
    },
    #[error("only the expert, who hosts, may do this")]
    HostOnly,
    #[error("too late: {0}")]
    TooLate(&'static str),
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Notify(NotifyError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

crate::db_preserving_from!(BookingError: LedgerError => Ledger, NotifyError => Notify);

impl BookingError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        BookingError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
