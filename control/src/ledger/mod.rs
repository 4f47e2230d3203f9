//! Coins: a double-entry, append-only ledger in millimes (1 coin = 500).
//!
//! Every movement is a transfer from one account to another, so the
//! balances of all accounts sum to zero at all times; transfers are never
//! edited, and a correction is a new transfer. Wallets, holds, earnings,
//! revenue and the payout accounts never go negative; only a payment
//! provider's clearing account does (it stands for money the provider
//! collected and owes us). `paid_out`, where payouts leave for experts'
//! banks, is its mirror image on the way out, and needs no such licence:
//! it is only ever credited.
//!
//! Holds are two-phase: `Hold` moves coins from the payer's wallet to their
//! `held` account; `Capture` pays part or all of it (80% to the payee's
//! earnings, 20% to revenue, see `rules::split`) and returns the rest,
//! `Release` returns all of it, and `Expire` does the same once the hold's
//! deadline has passed (run by `Ledger::expire_due`, from the database, so
//! a restart loses no expiry). A hold leaves `pending` exactly once.
//! `Refund` gives back captured coins, taking the same shares back.
//!
//! Payouts are two-phase too: `PayoutRequest` moves cleared earnings (see
//! `clearing`) to the expert's `payout` account, in transit; `PayoutSettle`
//! sends them on, the net to `paid_out` (money that left for a bank) and
//! what was withheld at source to `tax_payable` (owed to the state), and
//! `PayoutCancel` returns them to the earnings. A payout leaves `pending`
//! exactly once.
//!
//! Every request carries an idempotency key: a retry with the same key and
//! the same request returns the first receipt; the same key with another
//! request is refused.

mod batch;
mod batcher;
pub mod clearing;
pub mod reports;
pub mod rules;
mod store;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use rules::{split, MILLIMES_PER_COIN};
pub use store::{Audit, Balances, Ledger, PayoutTotals, MAX_BATCH};

/// A ledger account. Users' and experts' accounts are named by the id of
/// their platform account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    Wallet(Uuid),
    /// A payer's coins on hold, waiting for a capture or a release.
    Held(Uuid),
    Earnings(Uuid),
    Revenue,
    /// Money a payment provider collected for us.
    Clearing(String),
    /// An expert's payouts requested and not yet decided: in transit.
    Payout(Uuid),
    /// Tax withheld at source from payouts, owed to the state.
    TaxPayable,
    /// Payouts sent to experts' banks. Like revenue it is only ever
    /// credited: it is the running total of money that left the platform.
    PaidOut,
}

impl Account {
    pub fn id(&self) -> String {
        match self {
            Account::Wallet(u) => format!("wallet:{u}"),
            Account::Held(u) => format!("held:{u}"),
            Account::Earnings(u) => format!("earnings:{u}"),
            Account::Revenue => "revenue".into(),
            Account::Clearing(p) => format!("clearing:{p}"),
            Account::Payout(u) => format!("payout:{u}"),
            Account::TaxPayable => "tax_payable".into(),
            Account::PaidOut => "paid_out".into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Account::Wallet(_) => "wallet",
            Account::Held(_) => "held",
            Account::Earnings(_) => "earnings",
            Account::Revenue => "revenue",
            Account::Clearing(_) => "clearing",
            Account::Payout(_) => "payout",
            Account::TaxPayable => "tax_payable",
            Account::PaidOut => "paid_out",
        }
    }

    pub fn owner(&self) -> Option<Uuid> {
        match self {
            Account::Wallet(u) | Account::Held(u) | Account::Earnings(u) | Account::Payout(u) => {
                Some(*u)
            }
            Account::Revenue | Account::Clearing(_) | Account::TaxPayable | Account::PaidOut => {
                None
            }
        }
    }

    pub fn may_go_negative(&self) -> bool {
        matches!(self, Account::Clearing(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Pending,
    Captured,
    Released,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Pending => "pending",
            HoldState::Captured => "captured",
            HoldState::Released => "released",
            HoldState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<HoldState> {
        [
            HoldState::Pending,
            HoldState::Captured,
            HoldState::Released,
            HoldState::Expired,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// Where a payout stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    /// Requested: the money is in transit.
    Pending,
    /// Sent to the bank, less what was withheld.
    Settled,
    /// Returned to the expert's earnings.
    Cancelled,
}

impl PayoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutState::Pending => "pending",
            PayoutState::Settled => "settled",
            PayoutState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PayoutState> {
        [
            PayoutState::Pending,
            PayoutState::Settled,
            PayoutState::Cancelled,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Deposit,
    Hold,
    CaptureExpert,
    CapturePlatform,
    Release,
    Expire,
    RefundExpert,
    RefundPlatform,
    /// Earnings to the expert's payout account: a payout requested.
    PayoutRequested,
    /// A settled payout's net, to `paid_out`.
    PayoutPaid,
    /// A settled payout's tax withheld at source, to `tax_payable`.
    PayoutWithheld,
    /// A cancelled payout, back to the earnings.
    PayoutReturned,
}

impl TransferKind {
    pub const ALL: [TransferKind; 12] = [
        TransferKind::Deposit,
        TransferKind::Hold,
        TransferKind::CaptureExpert,
        TransferKind::CapturePlatform,
        TransferKind::Release,
        TransferKind::Expire,
        TransferKind::RefundExpert,
        TransferKind::RefundPlatform,
        TransferKind::PayoutRequested,
        TransferKind::PayoutPaid,
        TransferKind::PayoutWithheld,
        TransferKind::PayoutReturned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Deposit => "deposit",
            TransferKind::Hold => "hold",
            TransferKind::CaptureExpert => "capture_expert",
            TransferKind::CapturePlatform => "capture_platform",
            TransferKind::Release => "release",
            TransferKind::Expire => "expire",
            TransferKind::RefundExpert => "refund_expert",
            TransferKind::RefundPlatform => "refund_platform",
            TransferKind::PayoutRequested => "payout_requested",
            TransferKind::PayoutPaid => "payout_paid",
            TransferKind::PayoutWithheld => "payout_withheld",
            TransferKind::PayoutReturned => "payout_returned",
        }
    }
}

/// A money-moving request: what the other parts of the system (messaging,
/// bookings, calls, payments) ask of the ledger. Amounts are millimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Coins bought: from the provider's clearing account to the wallet.
    Deposit {
        account: Uuid,
        amount: i64,
        provider: String,
        /// The payment it settles.
        reference: String,
    },
    /// Sets coins aside for `payee` (a message, a booking, a call).
    Hold {
        payer: Uuid,
        payee: Uuid,
        amount: i64,
        /// Unix ms after which the hold releases itself.
        expires_at: Option<i64>,
        /// What it pays for, e.g. `message:<id>` or `booking:<id>`.
        reference: String,
        reason: String,
    },
    /// Pays `amount` of a pending hold (80/20) and returns the rest.
    Capture {
        hold: Uuid,
        amount: i64,
    },
    Release {
        hold: Uuid,
    },
    /// Releases a pending hold whose deadline has passed.
    Expire {
        hold: Uuid,
    },
    /// Gives back part or all of a captured hold.
    Refund {
        hold: Uuid,
        amount: i64,
        reason: String,
    },
    /// Sets `amount` of an expert's available earnings (`clearing`) aside
    /// for a payout to their bank; the receipt names the new payout.
    PayoutRequest {
        expert: Uuid,
        amount: i64,
    },
    /// Pays a pending payout: `withheld` (tax withheld at source) to the
    /// state, the rest to the expert's bank.
    PayoutSettle {
        payout: Uuid,
        withheld: i64,
    },
    /// Returns a pending payout to the expert's earnings (it was rejected).
    PayoutCancel {
        payout: Uuid,
    },
}

impl Request {
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Deposit { .. } => "deposit",
            Request::Hold { .. } => "hold",
            Request::Capture { .. } => "capture",
            Request::Release { .. } => "release",
            Request::Expire { .. } => "expire",
            Request::Refund { .. } => "refund",
            Request::PayoutRequest { .. } => "payout_request",
            Request::PayoutSettle { .. } => "payout_settle",
            Request::PayoutCancel { .. } => "payout_cancel",
        }
    }

    /// The hold an operation on an existing hold names.
    pub fn hold(&self) -> Option<Uuid> {
        match self {
            Request::Capture { hold, .. }
            | Request::Release { hold }
            | Request::Expire { hold }
            | Request::Refund { hold, .. } => Some(*hold),
            _ => None,
        }
    }

    /// The payout an operation on an existing payout names.
    pub fn payout(&self) -> Option<Uuid> {
        match self {
            Request::PayoutSettle { payout, .. } | Request::PayoutCancel { payout } => {
                Some(*payout)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: Uuid,
    pub from: String,
    pub to: String,
    pub amount: i64,
    pub kind: TransferKind,
    pub hold: Option<Uuid>,
    pub at: i64,
}

/// What a request did. A retry with the same key gets the same receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub key: String,
    /// The hold created or acted on.
    pub hold: Option<Uuid>,
    /// The payout created or acted on. (Absent from receipts stored
    /// before payouts existed.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<Uuid>,
    pub transfers: Vec<Transfer>,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{field} {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("this idempotency key was used for another request")]
    KeyReused,
    #[error("no such hold")]
    UnknownHold,
    #[error("the hold is already {}", .state.as_str())]
    HoldResolved { state: HoldState },
    #[error("the capture is more than the {held} millimes held")]
    OverCapture { held: i64 },
    #[error("only a captured hold can be refunded; this one is {}", .state.as_str())]
    NotCaptured { state: HoldState },
    #[error("at most {refundable} millimes of this hold can still be refunded")]
    OverRefund { refundable: i64 },
    #[error("the hold has no deadline or it has not passed")]
    NotExpired,
    #[error("no such payout")]
    UnknownPayout,
    #[error("the payout is already {}", .state.as_str())]
    PayoutResolved { state: PayoutState },
    #[error("only {available} millimes of the earnings are available for a payout")]
    OverAvailable { available: i64 },
    #[error("{account} does not hold enough")]
    InsufficientFunds { account: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl LedgerError {
    fn invalid(field: &'static str, reason: &'static str) -> Self {
        LedgerError::Invalid { field, reason }
    }

    /// A stable code for API errors and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Invalid { .. } => "invalid_request",
            LedgerError::KeyReused => "idempotency_key_reused",
            LedgerError::UnknownHold => "unknown_hold",
            LedgerError::HoldResolved { .. } => "hold_resolved",
            LedgerError::OverCapture { .. } => "over_capture",
            LedgerError::NotCaptured { .. } => "hold_not_captured",
            LedgerError::OverRefund { .. } => "over_refund",
            LedgerError::NotExpired => "hold_not_expired",
            LedgerError::UnknownPayout => "unknown_payout",
            LedgerError::PayoutResolved { .. } => "payout_resolved",
            LedgerError::OverAvailable { .. } => "over_available",
            LedgerError::InsufficientFunds { .. } => "insufficient_funds",
            LedgerError::Db(_) => "internal",
        }
    }
}
