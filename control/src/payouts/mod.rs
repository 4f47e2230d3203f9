//! Expert payouts: an expert asks for some of their cleared earnings to be
//! paid to their verified bank account; an administrator approves it, which
//! records the tax computation and settles it in the ledger, or rejects it,
//! which returns the money to the earnings. Every step is one database
//! transaction holding the ledger's movement and the payout's row, so the
//! two never disagree (`service.rs`).
//!
//! The money rules are the ledger's (`ledger::clearing` for what is
//! available, `PayoutRequest`/`PayoutSettle`/`PayoutCancel` for the
//! movements); the taxes are `taxes.rs`; the statement `statement.rs`.

pub mod service;
pub mod statement;
pub mod store;
pub mod taxes;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;
use crate::ledger::LedgerError;
pub use service::{Payouts, Summary};
use taxes::Computation;

/// Where a payout stands. (`PayoutState` in the OpenAPI document, apart
/// from an expert's verification `State`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = PayoutState)]
pub enum State {
    /// Waiting for an administrator; the money is in transit.
    Requested,
    /// Approved: sent to the bank, less what was withheld.
    Paid,
    /// Refused with a reason; the money is back in the earnings.
    Rejected,
}

text_enum!(State { Requested = "requested", Paid = "paid", Rejected = "rejected" });

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The ledger payout's id.
    pub id: String,
    pub expert_id: String,
    /// The expert's share paid out, in millimes.
    pub amount: i64,
    pub state: State,
    /// `rib` or `iban`, and the last four characters, as when requested.
    pub bank_kind: String,
    pub bank_hint: String,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Recorded when it was approved.
    pub computation: Option<Computation>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("{field} {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("this idempotency key was used for another payout")]
    KeyReused,
    #[error("only approved experts are paid out")]
    NotApproved,
    #[error("no bank account to pay to")]
    NoBankAccount,
    #[error("no tax option to pay under")]
    NoTaxOption,
    #[error("a payout is at least {minimum} millimes")]
    BelowMinimum { minimum: i64 },
    #[error("only {available} millimes are available")]
    OverAvailable { available: i64 },
    #[error("no such payout")]
    NotFound,
    #[error("the payout is already {}", .state.as_str())]
    Decided { state: State },
    #[error("the payout is not paid")]
    NotPaid,
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<LedgerError> for PayoutError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::OverAvailable { available } => PayoutError::OverAvailable { available },
            LedgerError::Invalid { field, reason } => PayoutError::Invalid { field, reason },
            LedgerError::Db(e) => PayoutError::Db(e),
            other => PayoutError::Ledger(other),
        }
    }
}
