//! The ledger's rules, without I/O. `plan` decides what one request moves
//! from the state of the hold or payout it names; `Book` applies a batch of
//! requests one after another to the balances, holds and payouts the store
//! locked and read, refusing any that would overdraw an account or pay out
//! more than is available, and leaves the store only the writing.

use std::collections::BTreeMap;
use std::collections::HashMap;

use uuid::Uuid;

use super::clearing;
use super::{Account, HoldState, LedgerError, PayoutState, Request, TransferKind};

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

/// A payout as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRecord {
    pub id: Uuid,
    pub expert: Uuid,
    pub amount: i64,
    /// Withheld at source when it was settled.
    pub withheld: i64,
    pub state: PayoutState,
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
pub enum PayoutChange {
    Create(PayoutRecord),
    /// From pending to settled or cancelled.
    Resolve {
        state: PayoutState,
        withheld: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub postings: Vec<Posting>,
    pub hold: Option<HoldChange>,
    pub payout: Option<PayoutChange>,
}

/// What the store knows of what a request names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Named<'a> {
    /// The hold it acts on, as stored (absent when unknown).
    pub hold: Option<&'a HoldRecord>,
    /// The payout it acts on, as stored (absent when unknown).
    pub payout: Option<&'a PayoutRecord>,
    /// For a payout request: what of the expert's earnings may be paid
    /// out (`clearing`).
    pub available: i64,
}

/// What a request moves. `new_id` is the id a new hold or payout takes.
pub fn plan(
    request: &Request,
    named: Named<'_>,
    new_id: Uuid,
    now_ms: i64,
) -> Result<Plan, LedgerError> {
    validate(request)?;
    let hold = named.hold;
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
    if let Some(payout) = plan_payout(request, named, new_id, now_ms, &mut postings)? {
        return Ok(Plan {
            postings,
            hold: None,
            payout: Some(payout),
        });
    }
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
                id: new_id,
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
        Request::PayoutRequest { .. }
        | Request::PayoutSettle { .. }
        | Request::PayoutCancel { .. } => None,
    };
    Ok(Plan {
        postings,
        hold: change,
        payout: None,
    })
}

/// The payout requests' part of `plan`: what they move and how the payout
/// changes; `None` for the other requests.
fn plan_payout(
    request: &Request,
    named: Named<'_>,
    new_id: Uuid,
    now_ms: i64,
    postings: &mut Vec<Posting>,
) -> Result<Option<PayoutChange>, LedgerError> {
    let pending = || {
        let p = named.payout.ok_or(LedgerError::UnknownPayout)?;
        match p.state {
            PayoutState::Pending => Ok(p),
            state => Err(LedgerError::PayoutResolved { state }),
        }
    };
    let mut post = |from, to, amount, kind| {
        if amount > 0 {
            postings.push(Posting {
                from,
                to,
                amount,
                kind,
            });
        }
    };
    Ok(Some(match request {
        Request::PayoutRequest { expert, amount } => {
            if *amount > named.available {
                return Err(LedgerError::OverAvailable {
                    available: named.available,
                });
            }
            post(
                Account::Earnings(*expert),
                Account::Payout(*expert),
                *amount,
                TransferKind::PayoutRequested,
            );
            PayoutChange::Create(PayoutRecord {
                id: new_id,
                expert: *expert,
                amount: *amount,
                withheld: 0,
                state: PayoutState::Pending,
                created_at: now_ms,
                resolved_at: None,
            })
        }
        Request::PayoutSettle { withheld, .. } => {
            let p = pending()?;
            if *withheld > p.amount {
                return Err(LedgerError::invalid("withheld", "is more than the payout"));
            }
            let transit = Account::Payout(p.expert);
            post(
                transit.clone(),
                Account::PaidOut,
                p.amount - withheld,
                TransferKind::PayoutPaid,
            );
            post(
                transit,
                Account::TaxPayable,
                *withheld,
                TransferKind::PayoutWithheld,
            );
            PayoutChange::Resolve {
                state: PayoutState::Settled,
                withheld: *withheld,
            }
        }
        Request::PayoutCancel { .. } => {
            let p = pending()?;
            post(
                Account::Payout(p.expert),
                Account::Earnings(p.expert),
                p.amount,
                TransferKind::PayoutReturned,
            );
            PayoutChange::Resolve {
                state: PayoutState::Cancelled,
                withheld: 0,
            }
        }
        _ => return Ok(None),
    }))
}

fn validate(request: &Request) -> Result<(), LedgerError> {
    let amount = match request {
        Request::Deposit { amount, .. }
        | Request::Hold { amount, .. }
        | Request::Capture { amount, .. }
        | Request::Refund { amount, .. }
        | Request::PayoutRequest { amount, .. } => Some(*amount),
        Request::Release { .. }
        | Request::Expire { .. }
        | Request::PayoutSettle { .. }
        | Request::PayoutCancel { .. } => None,
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
    if let Request::PayoutSettle { withheld, .. } = request {
        if *withheld < 0 {
            return Err(LedgerError::invalid("withheld", "must not be negative"));
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

/// Clearing as a batch sees it (see `clearing`).
#[derive(Debug, Clone, Default)]
pub struct Clearing {
    /// Captures made after this instant are not cleared.
    pub cutoff: i64,
    /// The uncleared earnings of each expert whose payout the batch
    /// requests, as the store read them.
    pub uncleared: HashMap<Uuid, i64>,
}

/// The state a batch works on: the accounts, holds and payouts its
/// requests touch, as locked and read by the store, changed in memory
/// request by request.
#[derive(Debug, Default)]
pub struct Book {
    balances: BTreeMap<String, Balance>,
    holds: HashMap<Uuid, HoldRecord>,
    payouts: HashMap<Uuid, PayoutRecord>,
    clearing: Clearing,
    /// Holds created or changed, in order of first change.
    changed: Vec<Uuid>,
    /// Likewise payouts.
    changed_payouts: Vec<Uuid>,
}

/// What a request applied to a book did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub postings: Vec<Posting>,
    /// The hold it created or acted on.
    pub hold: Option<Uuid>,
    /// The payout it created or acted on.
    pub payout: Option<Uuid>,
}

impl Book {
    /// `balances`: the accounts that exist, with their balance.
    pub fn new(
        balances: Vec<(Account, i64)>,
        holds: Vec<HoldRecord>,
        payouts: Vec<PayoutRecord>,
        clearing: Clearing,
    ) -> Book {
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
            payouts: payouts.into_iter().map(|p| (p.id, p)).collect(),
            clearing,
            changed: Vec::new(),
            changed_payouts: Vec::new(),
        }
    }

    pub fn hold(&self, id: Uuid) -> Option<&HoldRecord> {
        self.holds.get(&id)
    }

    fn balance(&self, account: &Account) -> i64 {
        self.balances.get(&account.id()).map_or(0, |b| b.balance)
    }

    /// What of `expert`'s earnings may be paid out now. An expert whose
    /// uncleared earnings the store did not read has nothing available:
    /// a payout is never judged on half the facts.
    pub fn available(&self, expert: Uuid) -> i64 {
        self.clearing
            .uncleared
            .get(&expert)
            .map_or(0, |&uncleared| {
                clearing::available(self.balance(&Account::Earnings(expert)), uncleared)
            })
    }

    /// Applies one request, or refuses it and changes nothing.
    pub fn apply(
        &mut self,
        request: &Request,
        new_id: Uuid,
        now_ms: i64,
    ) -> Result<Applied, LedgerError> {
        let named = Named {
            hold: request.hold().and_then(|id| self.holds.get(&id)),
            payout: request.payout().and_then(|id| self.payouts.get(&id)),
            available: match request {
                Request::PayoutRequest { expert, .. } => self.available(*expert),
                _ => 0,
            },
        };
        let captured_at = named.hold.and_then(|h| h.resolved_at);
        let plan = plan(request, named, new_id, now_ms)?;
        let mut deltas: BTreeMap<String, (&Account, i64)> = BTreeMap::new();
        for p in &plan.postings {
            deltas.entry(p.from.id()).or_insert((&p.from, 0)).1 -= p.amount;
            deltas.entry(p.to.id()).or_insert((&p.to, 0)).1 += p.amount;
        }
        for (id, (account, delta)) in &deltas {
            if self.balance(account) + delta < 0 && !account.may_go_negative() {
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
        self.track_clearing(&plan.postings, captured_at, now_ms);
        let hold = plan
            .hold
            .map(|change| self.change_hold(request, change, now_ms));
        let payout = plan
            .payout
            .map(|change| self.change_payout(request, change, now_ms));
        Ok(Applied {
            postings: plan.postings,
            hold,
            payout,
        })
    }

    /// Keeps the uncleared earnings of the experts the batch pays out to
    /// true as the batch's own captures and refunds move them: a capture
    /// made now is uncleared unless there is no delay, and a refund takes
    /// from the uncleared part when its capture is not cleared.
    fn track_clearing(&mut self, postings: &[Posting], captured_at: Option<i64>, now_ms: i64) {
        let cutoff = self.clearing.cutoff;
        for p in postings {
            let (expert, change) = match (&p.kind, &p.from, &p.to) {
                (TransferKind::CaptureExpert, _, Account::Earnings(e)) if now_ms > cutoff => {
                    (e, p.amount)
                }
                (TransferKind::RefundExpert, Account::Earnings(e), _)
                    if captured_at.is_some_and(|at| at > cutoff) =>
                {
                    (e, -p.amount)
                }
                _ => continue,
            };
            if let Some(uncleared) = self.clearing.uncleared.get_mut(expert) {
                *uncleared += change;
            }
        }
    }

    fn change_hold(&mut self, request: &Request, change: HoldChange, now_ms: i64) -> Uuid {
        let id = match change {
            HoldChange::Create(h) => {
                let id = h.id;
                self.holds.insert(id, h);
                id
            }
            HoldChange::Resolve { state, captured } => {
                let h = self.named_hold(request);
                h.state = state;
                h.captured = captured;
                h.resolved_at = Some(now_ms);
                h.id
            }
            HoldChange::Refund { refunded } => {
                let h = self.named_hold(request);
                h.refunded = refunded;
                h.id
            }
        };
        if !self.changed.contains(&id) {
            self.changed.push(id);
        }
        id
    }

    /// The hold a planned request acted on: `plan` found it in the book.
    fn named_hold(&mut self, request: &Request) -> &mut HoldRecord {
        self.holds
            .get_mut(&request.hold().expect("names a hold"))
            .expect("planned on it")
    }

    fn change_payout(&mut self, request: &Request, change: PayoutChange, now_ms: i64) -> Uuid {
        let id = match change {
            PayoutChange::Create(p) => {
                let id = p.id;
                self.payouts.insert(id, p);
                id
            }
            PayoutChange::Resolve { state, withheld } => {
                let p = self
                    .payouts
                    .get_mut(&request.payout().expect("names a payout"))
                    .expect("planned on it");
                p.state = state;
                p.withheld = withheld;
                p.resolved_at = Some(now_ms);
                p.id
            }
        };
        if !self.changed_payouts.contains(&id) {
            self.changed_payouts.push(id);
        }
        id
    }

    /// Every account the batch changed or created, with its final balance.
    pub fn changed_balances(&self) -> impl Iterator<Item = (&String, &Balance)> {
        self.balances.iter().filter(|(_, b)| b.changed())
    }

    /// Every hold the batch created or changed, as it leaves them.
    pub fn changed_holds(&self) -> impl Iterator<Item = &HoldRecord> {
        self.changed.iter().filter_map(|id| self.holds.get(id))
    }

    /// Every payout the batch created or changed, as it leaves them.
    pub fn changed_payouts(&self) -> impl Iterator<Item = &PayoutRecord> {
        self.changed_payouts
            .iter()
            .filter_map(|id| self.payouts.get(id))
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
        let mut book = Book::new(
            vec![(Account::Wallet(user), 1_000)],
            Vec::new(),
            Vec::new(),
            Clearing::default(),
        );
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

    /// A book where `expert` has `earnings`, `uncleared` of them after the
    /// cutoff (1,000), and `hold` is known.
    fn payout_book(expert: Uuid, earnings: i64, uncleared: i64, hold: HoldRecord) -> Book {
        Book::new(
            vec![
                (Account::Earnings(expert), earnings),
                (Account::Revenue, 1_000),
            ],
            vec![hold],
            Vec::new(),
            Clearing {
                cutoff: 1_000,
                uncleared: HashMap::from([(expert, uncleared)]),
            },
        )
    }

    fn captured_hold(payee: Uuid, captured: i64, at: i64) -> HoldRecord {
        HoldRecord {
            id: Uuid::new_v4(),
            payer: Uuid::new_v4(),
            payee,
            amount: captured,
            captured,
            refunded: 0,
            state: HoldState::Captured,
            expires_at: None,
            reference: "message:1".into(),
            reason: "r".into(),
            created_at: at,
            resolved_at: Some(at),
        }
    }

    #[test]
    fn a_payout_takes_no_more_than_is_available() {
        let expert = Uuid::new_v4();
        // 1,200 earned, 800 of it from a capture after the cutoff.
        let recent = captured_hold(expert, 1_000, 1_500);
        let mut book = payout_book(expert, 1_200, 800, recent);
        let request = |amount| Request::PayoutRequest { expert, amount };
        assert_eq!(book.available(expert), 400);
        assert!(matches!(
            book.apply(&request(401), Uuid::new_v4(), 2_000),
            Err(LedgerError::OverAvailable { available: 400 })
        ));
        let applied = book.apply(&request(300), Uuid::new_v4(), 2_000).unwrap();
        assert_eq!(applied.postings.len(), 1);
        assert_eq!(book.available(expert), 100);
        // An expert whose clearing the store did not read gets nothing.
        let stranger = Uuid::new_v4();
        assert_eq!(book.available(stranger), 0);
    }

    #[test]
    fn the_batch_s_own_captures_and_refunds_keep_clearing_true() {
        let expert = Uuid::new_v4();
        let recent = captured_hold(expert, 1_000, 1_500);
        let recent_id = recent.id;
        let mut book = payout_book(expert, 1_200, 800, recent);
        assert_eq!(book.available(expert), 400);
        // A refund of the uncleared capture takes its 400 from the
        // uncleared part: what is available stays.
        let refund = Request::Refund {
            hold: recent_id,
            amount: 500,
            reason: "r".into(),
        };
        book.apply(&refund, Uuid::new_v4(), 2_000).unwrap();
        assert_eq!(book.available(expert), 400);
        // A capture made now is not cleared either.
        let pending = HoldRecord {
            state: HoldState::Pending,
            captured: 0,
            resolved_at: None,
            ..captured_hold(expert, 500, 0)
        };
        let (hold, payer) = (pending.id, pending.payer);
        let mut book = Book::new(
            vec![
                (Account::Held(payer), 500),
                (Account::Earnings(expert), 400),
            ],
            vec![pending],
            Vec::new(),
            Clearing {
                cutoff: 1_000,
                uncleared: HashMap::from([(expert, 0)]),
            },
        );
        let capture = Request::Capture { hold, amount: 500 };
        book.apply(&capture, Uuid::new_v4(), 2_000).unwrap();
        assert_eq!(book.available(expert), 400, "the new 400 is not cleared");
    }

    #[test]
    fn a_payout_settles_or_cancels_once() {
        let expert = Uuid::new_v4();
        let mut book = payout_book(expert, 1_000, 0, captured_hold(expert, 1, 0));
        let payout = book
            .apply(
                &Request::PayoutRequest {
                    expert,
                    amount: 1_000,
                },
                Uuid::new_v4(),
                2_000,
            )
            .unwrap()
            .payout
            .unwrap();
        assert!(matches!(
            book.apply(
                &Request::PayoutSettle {
                    payout,
                    withheld: 1_001
                },
                Uuid::new_v4(),
                2_000
            ),
            Err(LedgerError::Invalid {
                field: "withheld",
                ..
            })
        ));
        let settled = book
            .apply(
                &Request::PayoutSettle {
                    payout,
                    withheld: 150,
                },
                Uuid::new_v4(),
                2_000,
            )
            .unwrap();
        let moved: Vec<(Account, i64)> = settled
            .postings
            .into_iter()
            .map(|p| (p.to, p.amount))
            .collect();
        assert_eq!(
            moved,
            vec![(Account::PaidOut, 850), (Account::TaxPayable, 150)]
        );
        for again in [
            Request::PayoutSettle {
                payout,
                withheld: 0,
            },
            Request::PayoutCancel { payout },
        ] {
            assert!(matches!(
                book.apply(&again, Uuid::new_v4(), 2_000),
                Err(LedgerError::PayoutResolved {
                    state: PayoutState::Settled
                })
            ));
        }
        assert!(matches!(
            book.apply(
                &Request::PayoutCancel {
                    payout: Uuid::new_v4()
                },
                Uuid::new_v4(),
                2_000
            ),
            Err(LedgerError::UnknownPayout)
        ));
        let p = book.changed_payouts().next().unwrap();
        assert_eq!((p.state, p.withheld), (PayoutState::Settled, 150));
    }
}
