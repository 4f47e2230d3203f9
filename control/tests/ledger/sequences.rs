//! Random sequences of purchases, holds, captures, releases, refunds,
//! payout requests, settlements and cancellations, retries with the same
//! key, reused keys, expiries and time passing (which clears earnings), on
//! both backends; every invariant is checked after every step, and every
//! payout request is judged against what is available, worked out here
//! from the holds on its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use control::ledger::{Account, LedgerError, PayoutState, Receipt, Request};
use proptest::prelude::*;
use uuid::Uuid;

use crate::common::{hold, Backend, Books, CLEARING_DELAY};

const USERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        user: usize,
        amount: i64,
    },
    Hold {
        payer: usize,
        payee: usize,
        amount: i64,
        expires_in: Option<i64>,
    },
    /// The payer buys `amount`, holds it for the expert, who replies: it is
    /// captured whole.
    Earn {
        payer: usize,
        expert: usize,
        amount: i64,
    },
    /// Capture this share, in thousandths, of a hold (over 1000: too much).
    Capture {
        hold: usize,
        per_mille: i64,
    },
    Release {
        hold: usize,
    },
    Refund {
        hold: usize,
        amount: i64,
    },
    /// Asks for a payout of this share, in thousandths, of the user's
    /// earnings (some of which may not be cleared; over 1000: too much).
    PayoutRequest {
        expert: usize,
        per_mille: i64,
    },
    /// Settles a payout withholding this share, in thousandths (over 1000:
    /// too much).
    PayoutSettle {
        payout: Choice,
        withheld_per_mille: i64,
    },
    PayoutCancel {
        payout: Choice,
    },
    /// Sends an earlier request again with its key.
    Retry {
        step: usize,
    },
    /// Sends another request under an earlier key.
    ReuseKey {
        step: usize,
    },
    /// Moves the clock on and runs the expiry job.
    Advance {
        ms: i64,
    },
}

/// A payout to settle or cancel: usually one still pending, sometimes any
/// (a decided one is refused).
#[derive(Debug, Clone, Copy)]
struct Choice {
    index: usize,
    pending_only: bool,
}

fn choice() -> impl Strategy<Value = Choice> {
    (any::<usize>(), proptest::bool::weighted(0.75)).prop_map(|(index, pending_only)| Choice {
        index,
        pending_only,
    })
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        3 => (user.clone(), 1..40_000i64).prop_map(|(user, amount)| Op::Deposit { user, amount }),
        4 => (user.clone(), user.clone(), 1..15_000i64, proptest::option::of(1..3_600_000i64))
            .prop_map(|(payer, payee, amount, expires_in)| Op::Hold { payer, payee, amount, expires_in }),
        5 => (user.clone(), user.clone(), 1..15_000i64)
            .prop_map(|(payer, expert, amount)| Op::Earn { payer, expert, amount }),
        3 => (any::<usize>(), 1..1_100i64).prop_map(|(hold, per_mille)| Op::Capture { hold, per_mille }),
        2 => any::<usize>().prop_map(|hold| Op::Release { hold }),
        2 => (any::<usize>(), 1..8_000i64).prop_map(|(hold, amount)| Op::Refund { hold, amount }),
        5 => (user.clone(), 1..1_300i64).prop_map(|(expert, per_mille)| Op::PayoutRequest { expert, per_mille }),
        4 => (choice(), 0..1_100i64)
            .prop_map(|(payout, withheld_per_mille)| Op::PayoutSettle { payout, withheld_per_mille }),
        3 => choice().prop_map(|payout| Op::PayoutCancel { payout }),
        2 => any::<usize>().prop_map(|step| Op::Retry { step }),
        1 => any::<usize>().prop_map(|step| Op::ReuseKey { step }),
        3 => (0..5_400_000i64).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// Payout requests, settlements and cancellations that went through, over
/// all cases: a run that never got that far proves nothing about them.
#[derive(Default)]
struct Reached {
    requested: AtomicUsize,
    settled: AtomicUsize,
    cancelled: AtomicUsize,
}

/// One request sent, and what came of it.
struct Sent {
    key: String,
    request: Request,
    receipt: Option<Receipt>,
}

/// One random sequence: its users, what it made and sent.
struct Run<'a> {
    books: &'a Books,
    reached: &'a Reached,
    users: Vec<Uuid>,
    holds: Vec<(Uuid, i64)>,
    payouts: Vec<(Uuid, i64)>,
    sent: Vec<Sent>,
}

fn pick(list_len: usize, i: usize) -> Option<usize> {
    (list_len > 0).then(|| i % list_len)
}

impl Run<'_> {
    fn deposit(&self, user: usize, amount: i64) -> Request {
        Request::Deposit {
            account: self.users[user],
            amount,
            provider: "sandbox".into(),
            reference: format!("payment:{}", Uuid::new_v4()),
        }
    }

    /// The payout `choice` names, with its amount.
    async fn payout(&self, choice: Choice) -> Option<(Uuid, i64)> {
        let mut candidates = Vec::new();
        for &(id, amount) in &self.payouts {
            let p = self.books.ledger.payout(id).await.unwrap().expect("made");
            if !choice.pending_only || p.state == PayoutState::Pending {
                candidates.push((id, amount));
            }
        }
        pick(candidates.len(), choice.index).map(|i| candidates[i])
    }

    /// The request an operation sends, if it sends one (some do their own
    /// sending, some pick among holds or payouts there are none of).
    async fn step(&mut self, op: Op) -> Option<Request> {
        let (holds, users) = (&self.holds, &self.users);
        match op {
            Op::Deposit { user, amount } => Some(self.deposit(user, amount)),
            Op::Hold {
                payer,
                payee,
                amount,
                expires_in,
            } => {
                let now = platform::Clock::now_ms(self.books.clock.as_ref());
                Some(hold(
                    users[payer],
                    users[payee],
                    amount,
                    expires_in.map(|e| now + e),
                ))
            }
            Op::Earn {
                payer,
                expert,
                amount,
            } => {
                let held = hold(users[payer], users[expert], amount, None);
                self.send(self.deposit(payer, amount)).await;
                let hold = self.send(held).await?.hold.expect("a hold id");
                Some(Request::Capture { hold, amount })
            }
            Op::Capture { hold, per_mille } => pick(holds.len(), hold).map(|i| {
                let (id, amount) = holds[i];
                Request::Capture {
                    hold: id,
                    amount: (amount * per_mille / 1000).max(1),
                }
            }),
            Op::Release { hold } => {
                pick(holds.len(), hold).map(|i| Request::Release { hold: holds[i].0 })
            }
            Op::Refund { hold, amount } => pick(holds.len(), hold).map(|i| Request::Refund {
                hold: holds[i].0,
                amount,
                reason: "refund".into(),
            }),
            Op::PayoutRequest { expert, per_mille } => {
                let expert = users[expert];
                let earnings = Account::Earnings(expert);
                let earned = self.books.ledger.balance(&earnings).await.unwrap();
                Some(Request::PayoutRequest {
                    expert,
                    amount: (earned * per_mille / 1000).max(1),
                })
            }
            Op::PayoutSettle {
                payout,
                withheld_per_mille,
            } => self
                .payout(payout)
                .await
                .map(|(id, amount)| Request::PayoutSettle {
                    payout: id,
                    withheld: amount * withheld_per_mille / 1000,
                }),
            Op::PayoutCancel { payout } => self
                .payout(payout)
                .await
                .map(|(payout, _)| Request::PayoutCancel { payout }),
            Op::Retry { step } => {
                if let Some(i) = pick(self.sent.len(), step) {
                    let first = &self.sent[i];
                    let again = self.books.ledger.apply(&first.key, &first.request).await;
                    if let Some(receipt) = &first.receipt {
                        assert_eq!(
                            again.as_ref().ok(),
                            Some(receipt),
                            "a retry gets the first receipt"
                        );
                    }
                }
                None
            }
            Op::ReuseKey { step } => {
                if let Some(i) = pick(self.sent.len(), step) {
                    let first = &self.sent[i];
                    let other = Request::Release {
                        hold: Uuid::new_v4(),
                    };
                    let got = self.books.ledger.apply(&first.key, &other).await;
                    if first.receipt.is_some() {
                        assert!(matches!(got, Err(LedgerError::KeyReused)), "got {got:?}");
                    }
                }
                None
            }
            Op::Advance { ms } => {
                self.books.clock.advance(Duration::from_millis(ms as u64));
                self.books.ledger.expire_due(1_000).await.expect("expiry");
                None
            }
        }
    }

    /// Sends `request` under a new key, checks what came of it and every
    /// invariant, and keeps it for retries; its receipt if it went through.
    async fn send(&mut self, request: Request) -> Option<Receipt> {
        let books = self.books;
        let key = Uuid::new_v4().to_string();
        let expected = match &request {
            Request::PayoutRequest { expert, .. } => Some(available(books, *expert).await),
            _ => None,
        };
        let result = books.ledger.apply(&key, &request).await;
        if let (Some(available), Request::PayoutRequest { amount, .. }) = (expected, &request) {
            match &result {
                Ok(_) => assert!(*amount <= available, "{amount} of {available} paid out"),
                Err(LedgerError::OverAvailable { available: said }) => {
                    assert_eq!(*said, available, "what is available");
                    assert!(*amount > available, "{amount} of {available} refused");
                }
                Err(e) => panic!("a payout request is refused only for want of money: {e}"),
            }
        }
        let reached = match (&result, &request) {
            (Err(LedgerError::Db(e)), _) => panic!("{request:?} failed in the database: {e}"),
            // Nothing refuses a valid purchase: a run moves money.
            (Err(e), Request::Deposit { .. }) => panic!("a deposit is refused: {e}"),
            (Ok(r), Request::Hold { amount, .. }) => {
                self.holds.push((r.hold.expect("a hold id"), *amount));
                None
            }
            (Ok(r), Request::PayoutRequest { amount, .. }) => {
                self.payouts.push((r.payout.expect("a payout id"), *amount));
                Some(&self.reached.requested)
            }
            (Ok(_), Request::PayoutSettle { .. }) => Some(&self.reached.settled),
            (Ok(_), Request::PayoutCancel { .. }) => Some(&self.reached.cancelled),
            _ => None,
        };
        if let Some(count) = reached {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let receipt = result.ok();
        self.sent.push(Sent {
            key,
            request,
            receipt: receipt.clone(),
        });
        books.assert_sound().await;
        receipt
    }
}

async fn run(books: &Books, ops: Vec<Op>, reached: &Reached) {
    let mut run = Run {
        books,
        reached,
        users: (0..USERS).map(|_| Uuid::new_v4()).collect(),
        holds: Vec::new(),
        payouts: Vec::new(),
        sent: Vec::new(),
    };
    for op in ops {
        match run.step(op).await {
            Some(request) => {
                run.send(request).await;
            }
            // Retries, reused keys and expiries are checked too.
            None => books.assert_sound().await,
        }
    }
}

/// What of `expert`'s earnings may be paid out at `now`, by the rule
/// restated: the earnings balance less the expert's share, net of refunds,
/// of every hold captured within the clearing delay; never below zero.
async fn available(books: &Books, expert: Uuid) -> i64 {
    let now = platform::Clock::now_ms(books.clock.as_ref());
    let earnings = books
        .ledger
        .balance(&Account::Earnings(expert))
        .await
        .unwrap();
    let captures: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT captured, refunded, resolved_at FROM ledger_holds \
         WHERE payee = $1 AND state = 'captured'",
    )
    .bind(expert.to_string())
    .fetch_all(books.store.db.pool())
    .await
    .unwrap();
    let delay = CLEARING_DELAY.as_millis() as i64;
    let uncleared: i64 = captures
        .iter()
        .filter(|(_, _, at)| *at > now - delay)
        // The expert's 80 % is what the platform's 20 %, rounded down,
        // leaves; likewise of the refunds, taken as one.
        .map(|(captured, refunded, _)| (captured - captured / 5) - (refunded - refunded / 5))
        .sum();
    (earnings - uncleared).max(0)
}

fn check(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // One database for every case: each case uses new users, and the
    // invariants hold over the whole ledger.
    let books = rt.block_on(Books::open(backend));
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let reached = Reached::default();
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..60))| {
        rt.block_on(run(&books, ops, &reached));
    });
    let counts = [&reached.requested, &reached.settled, &reached.cancelled]
        .map(|c| c.load(Ordering::Relaxed));
    assert!(
        counts.iter().all(|c| *c > 0),
        "payouts requested, settled, cancelled: {counts:?}"
    );
}

#[test]
fn random_sequences_keep_every_invariant_on_sqlite() {
    check(Backend::Sqlite, 48);
}

#[test]
fn random_sequences_keep_every_invariant_on_postgres() {
    check(Backend::Postgres, 48);
}
