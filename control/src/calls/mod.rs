//! Calls: a confirmed booking becomes a billed video call. Room tokens for
//! its parties inside the join window, the SFU's presence reports merged
//! per participant as sets of seconds, the call status pushed while it
//! runs, and settlement, exactly once, from the seconds the expert and the
//! paying user were both present.
//!
//! `billing` is the sans-IO core (overlap, charge, status, when and how a
//! call settles); the rest drives it through the database, the bus and the
//! ledger.

pub mod billing;
pub mod reviews;
pub mod service;
#[cfg(test)]
mod simulation;
pub mod store;

use crate::bookings::{BookingError, State};
use crate::ledger::LedgerError;

pub use service::{Calls, Grant, Ticked};

/// The SFU's presence stream (`media::node::relay::PRESENCE_STREAM`).
pub const PRESENCE_STREAM: &str = "sfu.presence";
/// The control plane's consumer group on it: each report is merged by one
/// replica and acknowledged after the merge is committed.
pub const PRESENCE_GROUP: &str = "control.presence";

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no such booking")]
    NotFound,
    #[error("a {} booking has no call to join", .0.as_str())]
    NotJoinable(State),
    #[error("the call opens at {opens_at} (Unix seconds)")]
    TooEarly { opens_at: i64 },
    #[error("the call is over")]
    Over,
    #[error("only the expert, who hosts, may do this")]
    HostOnly,
    #[error("{0}")]
    NotRefundable(&'static str),
    #[error("at most {refundable} millimes can still be refunded")]
    OverRefund { refundable: i64 },
    #[error(transparent)]
    Booking(#[from] BookingError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Bus(#[from] platform::bus::BusError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

crate::db_preserving_from!(CallError: LedgerError => Ledger);
