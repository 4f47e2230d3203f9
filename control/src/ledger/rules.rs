//! The ledger's rules, without I/O. `plan` decides what one request moves
//! from the state of the hold it names; `Book` applies a batch of requests
//! one after another to the balances and holds the store locked and read,
//! refusing any that would overdraw an account, and leaves the store only
//! the writing.

use std::collections::BTreeMap;
use std::collections::HashMap;

use uuid::Uuid;

use super::{Account, HoldState, LedgerError, Request, TransferKind};

pub const MILLIMES_PER_COIN: i64 = 500;
/// Larger amounts are refused: a million coins is far beyond any real
/// purchase or hold, and sums of many stay far from overflow.
pub const MAX_AMOUNT: i64 = 1_000_000 * MILLIMES_PER_COIN;
const MAX_TEXT: usize = 200;

/// The expert's and the platform's shares of a captured amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub expert: i64,
    pub platform: i64,
}

/// 80/20, exact to the millime: the platform's 20% is rounded down and the
/// expert gets the rest. For `amount = 5q + r` (0 <= r < 5) the platform
/// gets `q` and the expert `4q + r`, so the two always add up to `amount`
/// and an amount in whole coins (500 millimes) splits with no remainder.
pub fn split(amount: i64) -> Split {
    let platform = amount.div_euclid(5);
    Split {
        expert: amount - platform,
        platform,
    }
}

/// The shares of a refund of `amount` when `refunded` of the same capture
/// already went back. The platform returns what brings its cumulative
/// refund to the split of the cumulative amount, so a capture refunded in
/// any number of pieces returns exactly its split, no millime more or less.
pub fn refund_split(refunded: i64, amount: i64) -> Split {
    let platform = split(refunded + amount).platform - split(refunded).platform;
    Split {
        expert: amount - platform,
        platform,
    }
}

/// A hold as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub id: Uuid,
    pub payer: Uuid,
    pub payee: Uuid,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    pub state: HoldState,
    pub expires_at: Option<i64>,
    pub reference: String,
    pub reason: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// One movement of money the plan asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub from: Account,
    pub to: Account,
    pub amount: i64,
    pub kind: TransferKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldChange {
    Create(HoldRecord),
    /// From pending to captured, released or expired.
    Resolve {
        state: HoldState,
        captured: i64,
    },
    Refund {
        refunded: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub postings: Vec<Posting>,
    pub hold: Option<HoldChange>,
}

/// What a request moves. `hold` is the hold the request names, as stored
/// (absent when unknown); `new_hold` the id a new hold takes.
pub fn plan(
    request: &Request,
    hold: Option<&HoldRecord>,
    new_hold: Uuid,
    now_ms: i64,
) -> Result<Plan, LedgerError> {
    validate(request)?;
    let existing = || hold.ok_or(LedgerError::UnknownHold);
    let pending = || {
        let h = existing()?;
        match h.state {
            HoldState::Pending => Ok(h),
            state => Err(LedgerError::HoldResolved { state }),
        }
    };
    let posting = |from, to, amount, kind| Posting {
        from,
        to,
        amount,
        kind,
    };
    let mut postings = Vec::new();
    let change = match request {
        Request::Deposit {
            account,
            amount,
            provider,
            ..
        } => {
            postings.push(posting(
                Account::Clearing(provider.clone()),
                Account::Wallet(*account),
                *amount,
                TransferKind::Deposit,
            ));
            None
        }
        Request::Hold {
            payer,
            payee,
            amount,
            expires_at,
            reference,
            reason,
        } => {
            if payer == payee {
                return Err(LedgerError::invalid("payee", "must differ from the payer"));
            }
            if expires_at.is_some_and(|t| t <= now_ms) {
                return Err(LedgerError::invalid("expires_at", "must be in the future"));
            }
            postings.push(posting(
                Account::Wallet(*payer),
                Account::Held(*payer),
                *amount,
                TransferKind::Hold,
            ));
            Some(HoldChange::Create(HoldRecord {
                id: new_hold,
                payer: *payer,
                payee: *payee,
                amount: *amount,
                captured: 0,
                refunded: 0,
                state: HoldState::Pending,
                expires_at: *expires_at,
                reference: reference.clone(),
                reason: reason.clone(),
                created_at: now_ms,
                resolved_at: None,
            }))
        }
        Request::Capture { amount, .. } => {
            let h = pending()?;
            if *amount > h.amount {
                return Err(LedgerError::OverCapture { held: h.amount });
            }
            let s = split(*amount);
            let held = Account::Held(h.payer);
            for (to, share, kind) in [
                (
                    Account::Earnings(h.payee),
                    s.expert,
                    TransferKind::CaptureExpert,
                ),
                (Account::Revenue, s.platform, TransferKind::CapturePlatform),
                (
                    Account::Wallet(h.payer),
                    h.amount - amount,
                    TransferKind::Release,
                ),
            ] {
                if share > 0 {
                    postings.push(posting(held.clone(), to, share, kind));
                }
            }
            Some(HoldChange::Resolve {
                state: HoldState::Captured,
                captured: *amount,
            })
        }
        Request::Release { .. } | Request::Expire { .. } => {
            let h = pending()?;
            let (state, kind) = match request {
                Request::Expire { .. } => {
                    if h.expires_at.is_none_or(|t| t > now_ms) {
                        return Err(LedgerError::NotExpired);
                    }
                    (HoldState::Expired, TransferKind::Expire)
                }
                _ => (HoldState::Released, TransferKind::Release),
            };
            postings.push(posting(
                Account::Held(h.payer),
                Account::Wallet(h.payer),
                h.amount,
                kind,
            ));
            Some(HoldChange::Resolve { state, captured: 0 })
        }
        Request::Refund { amount, .. } => {
            let h = existing()?;
            if h.state != HoldState::Captured {
                return Err(LedgerError::NotCaptured { state: h.state });
            }
            let left = h.captured - h.refunded;
            if *amount > left {
                return Err(LedgerError::OverRefund { refundable: left });
            }
            let s = refund_split(h.refunded, *amount);
            for (from, share, kind) in [
                (
                    Account::Earnings(h.payee),
                    s.expert,
                    TransferKind::RefundExpert,
                ),
                (Account::Revenue, s.platform, TransferKind::RefundPlatform),
            ] {
                if share > 0 {
                    postings.push(posting(from, Account::Wallet(h.payer), share, kind));
                }
            }
            Some(HoldChange::Refund {
                refunded: h.refunded + amount,
            })
        }
    };
    Ok(Plan {
        postings,
        hold: change,
    })
}

fn validate(request: &Request) -> Result<(), LedgerError> {
    let amount = match request {
        Request::Deposit { amount, .. }
        | Request::Hold { amount, .. }
        | Request::Capture { amount, .. }
        | Request::Refund { amount, .. } => Some(*amount),
        Request::Release { .. } | Request::Expire { .. } => None,
    };
    if let Some(a) = amount {
        if a <= 0 {
            return Err(LedgerError::invalid(
                "amount",
                "must be a positive number of millimes",
            ));
        }
        if a > MAX_AMOUNT {
            return Err(LedgerError::invalid("amount", "is over the largest amount"));
        }
    }
    let texts: &[(&'static str, &str)] = match request {
        Request::Deposit {
            provider,
            reference,
            ..
        } => &[("provider", provider), ("reference", reference)],
        Request::Hold {
            reference, reason, ..
        } => &[("reference", reference), ("reason", reason)],
        Request::Refund { reason, .. } => &[("reason", reason)],
        _ => &[],
    };
    for (field, text) in texts {
        if text.trim().is_empty() {
            return Err(LedgerError::invalid(field, "must not be empty"));
        }
        if text.len() > MAX_TEXT || text.contains('\0') {
            return Err(LedgerError::invalid(field, "is too long or holds a NUL"));
        }
    }
    if let Request::Deposit { provider, .. } = request {
        if !provider
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(LedgerError::invalid(
                "provider",
                "must be a provider's name",
            ));
        }
    }
    Ok(())
}

/// An account's balance as a batch found it, and as it leaves it.
#[derive(Debug, Clone)]
pub struct Balance {
    pub account: Account,
    pub balance: i64,
    /// The balance in the database when the batch started; `None` for an
    /// account the batch creates.
    pub before: Option<i64>,
}

impl Balance {
    pub fn changed(&self) -> bool {
        self.before != Some(self.balance)
    }
}

/// The state a batch works on: the accounts and holds its requests touch,
/// as locked and read by the store, changed in memory request by request.
#[derive(Debug, Default)]
pub struct Book {
    balances: BTreeMap<String, Balance>,
    holds: HashMap<Uuid, HoldRecord>,
    /// Holds created or changed, in order of first change.
    changed: Vec<Uuid>,
}

impl Book {
    /// `balances`: the accounts that exist, with their balance.
    pub fn new(balances: Vec<(Account, i64)>, holds: Vec<HoldRecord>) -> Book {
        let balances = balances
            .into_iter()
            .map(|(account, balance)| {
                let b = Balance {
                    account,
                    balance,
                    before: Some(balance),
                };
                (b.account.id(), b)
            })
            .collect();
        Book {
            balances,
            holds: holds.into_iter().map(|h| (h.id, h)).collect(),
            changed: Vec::new(),
        }
    }

    pub fn hold(&self, id: Uuid) -> Option<&HoldRecord> {
        self.holds.get(&id)
    }

    /// Applies one request, or refuses it and changes nothing. Returns what
    /// it moved and the hold it created or acted on.
    pub fn apply(
        &mut self,
        request: &Request,
        new_hold: Uuid,
        now_ms: i64,
    ) -> Result<(Vec<Posting>, Option<Uuid>), LedgerError> {
        let hold = request.hold().and_then(|id| self.holds.get(&id));
        let plan = plan(request, hold, new_hold, now_ms)?;
        let mut deltas: BTreeMap<String, (&Account, i64)> = BTreeMap::new();
        for p in &plan.postings {
            deltas.entry(p.from.id()).or_insert((&p.from, 0)).1 -= p.amount;
            deltas.entry(p.to.id()).or_insert((&p.to, 0)).1 += p.amount;
        }
        for (id, (account, delta)) in &deltas {
            let balance = self.balances.get(id).map_or(0, |b| b.balance);
            if balance + delta < 0 && !account.may_go_negative() {
                return Err(LedgerError::InsufficientFunds {
                    account: id.clone(),
                });
            }
        }
        for (id, (account, delta)) in deltas {
            self.balances
                .entry(id)
                .or_insert_with(|| Balance {
                    account: account.clone(),
                    balance: 0,
                    before: None,
                })
                .balance += delta;
        }
        let Some(change) = plan.hold else {
            return Ok((plan.postings, None));
        };
        let id = match change {
            HoldChange::Create(h) => {
                let id = h.id;
                self.holds.insert(id, h);
                id
            }
            HoldChange::Resolve { state, captured } => {
                let h = self
                    .holds
                    .get_mut(&request.hold().expect("names a hold"))
                    .expect("planned on it");
                h.state = state;
                h.captured = captured;
                h.resolved_at = Some(now_ms);
                h.id
            }
            HoldChange::Refund { refunded } => {
                let h = self
                    .holds
                    .get_mut(&request.hold().expect("names a hold"))
                    .expect("planned on it");
                h.refunded = refunded;
                h.id
            }
        };
        if !self.changed.contains(&id) {
            self.changed.push(id);
        }
        Ok((plan.postings, Some(id)))
    }

    /// Every account the batch changed or created, with its final balance.
    pub fn changed_balances(&self) -> impl Iterator<Item = (&String, &Balance)> {
        self.balances.iter().filter(|(_, b)| b.changed())
    }

    /// Every hold the batch created or changed, as it leaves them.
    pub fn changed_holds(&self) -> impl Iterator<Item = &HoldRecord> {
        self.changed.iter().filter_map(|id| self.holds.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_exact_and_the_platform_rounds_down() {
        for amount in 0..10_000 {
            let s = split(amount);
            assert_eq!(s.expert + s.platform, amount);
            assert_eq!(s.platform, amount / 5);
            assert!(
                s.expert * 20 >= s.platform * 80,
                "the expert never gets under 80%"
            );
        }
        assert_eq!(
            split(MILLIMES_PER_COIN),
            Split {
                expert: 400,
                platform: 100
            }
        );
        assert_eq!(
            split(7),
            Split {
                expert: 6,
                platform: 1
            }
        );
    }

    #[test]
    fn a_book_refuses_an_overdraft_and_keeps_what_it_had() {
        let user = Uuid::new_v4();
        let wallet = Account::Wallet(user).id();
        let mut book = Book::new(vec![(Account::Wallet(user), 1_000)], Vec::new());
        let hold = |amount| Request::Hold {
            payer: user,
            payee: Uuid::new_v4(),
            amount,
            expires_at: None,
            reference: "r".into(),
            reason: "r".into(),
        };
        book.apply(&hold(600), Uuid::new_v4(), 0).unwrap();
        assert!(matches!(
            book.apply(&hold(600), Uuid::new_v4(), 0),
            Err(LedgerError::InsufficientFunds { account }) if account == wallet
        ));
        let left: Vec<(String, i64)> = book
            .changed_balances()
            .map(|(id, b)| (id.clone(), b.balance))
            .collect();
        assert_eq!(
            left,
            vec![(Account::Held(user).id(), 600), (wallet, 400)],
            "the refused hold moved nothing"
        );
        assert_eq!(book.changed_holds().count(), 1);
    }

    #[test]
    fn refunds_in_pieces_return_exactly_the_captures_split() {
        for captured in [1, 4, 7, 499, 500, 1_003, 12_345] {
            for piece in [1, 2, 3, 7, 100] {
                let mut refunded = 0;
                let mut back = Split {
                    expert: 0,
                    platform: 0,
                };
                while refunded < captured {
                    let amount = piece.min(captured - refunded);
                    let s = refund_split(refunded, amount);
                    assert_eq!(s.expert + s.platform, amount);
                    assert!(s.expert >= 0 && s.platform >= 0);
                    back.expert += s.expert;
                    back.platform += s.platform;
                    refunded += amount;
                }
                assert_eq!(
                    back,
                    split(captured),
                    "captured {captured} in pieces of {piece}"
                );
            }
        }
    }
}
