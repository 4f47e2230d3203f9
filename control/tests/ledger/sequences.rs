//! Random sequences of purchases, holds, captures, releases, refunds,
//! retries with the same key, reused keys and expiries, on both backends;
//! every invariant is checked after every step.

use std::time::Duration;

use control::ledger::{LedgerError, Receipt, Request};
use proptest::prelude::*;
use uuid::Uuid;

use crate::common::{hold, Backend, Books};

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

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        3 => (user.clone(), 1..40_000i64).prop_map(|(user, amount)| Op::Deposit { user, amount }),
        4 => (user.clone(), user, 1..15_000i64, proptest::option::of(1..3_600_000i64))
            .prop_map(|(payer, payee, amount, expires_in)| Op::Hold { payer, payee, amount, expires_in }),
        3 => (any::<usize>(), 1..1_100i64).prop_map(|(hold, per_mille)| Op::Capture { hold, per_mille }),
        2 => any::<usize>().prop_map(|hold| Op::Release { hold }),
        2 => (any::<usize>(), 1..8_000i64).prop_map(|(hold, amount)| Op::Refund { hold, amount }),
        2 => any::<usize>().prop_map(|step| Op::Retry { step }),
        1 => any::<usize>().prop_map(|step| Op::ReuseKey { step }),
        1 => (0..5_400_000i64).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// One request sent, and what came of it.
struct Sent {
    key: String,
    request: Request,
    receipt: Option<Receipt>,
}

async fn run(books: &Books, ops: Vec<Op>) {
    let users: Vec<Uuid> = (0..USERS).map(|_| Uuid::new_v4()).collect();
    let mut holds: Vec<(Uuid, i64)> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    let pick = |list_len: usize, i: usize| (list_len > 0).then(|| i % list_len);
    for op in ops {
        let now = platform::Clock::now_ms(books.clock.as_ref());
        let request = match op {
            Op::Deposit { user, amount } => Some(Request::Deposit {
                account: users[user],
                amount,
                provider: "sandbox".into(),
                reference: format!("payment:{}", Uuid::new_v4()),
            }),
            Op::Hold {
                payer,
                payee,
                amount,
                expires_in,
            } => Some(hold(
                users[payer],
                users[payee],
                amount,
                expires_in.map(|e| now + e),
            )),
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
            Op::Retry { step } => {
                if let Some(i) = pick(sent.len(), step) {
                    let first = &sent[i];
                    let again = books.ledger.apply(&first.key, &first.request).await;
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
                if let Some(i) = pick(sent.len(), step) {
                    let first = &sent[i];
                    let other = Request::Release {
                        hold: Uuid::new_v4(),
                    };
                    let got = books.ledger.apply(&first.key, &other).await;
                    if first.receipt.is_some() {
                        assert!(matches!(got, Err(LedgerError::KeyReused)), "got {got:?}");
                    }
                }
                None
            }
            Op::Advance { ms } => {
                books.clock.advance(Duration::from_millis(ms as u64));
                books.ledger.expire_due(1_000).await.expect("expiry");
                None
            }
        };
        if let Some(request) = request {
            let key = Uuid::new_v4().to_string();
            let result = books.ledger.apply(&key, &request).await;
            match (&result, &request) {
                (Err(LedgerError::Db(e)), _) => panic!("{request:?} failed in the database: {e}"),
                // Nothing refuses a valid purchase: a run moves money.
                (Err(e), Request::Deposit { .. }) => panic!("a deposit is refused: {e}"),
                _ => {}
            }
            if let (Ok(r), Request::Hold { amount, .. }) = (&result, &request) {
                holds.push((r.hold.expect("a hold id"), *amount));
            }
            sent.push(Sent {
                key,
                request,
                receipt: result.ok(),
            });
        }
        books.assert_sound().await;
    }
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
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..40))| {
        rt.block_on(run(&books, ops));
    });
}

#[test]
fn random_sequences_keep_every_invariant_on_sqlite() {
    check(Backend::Sqlite, 48);
}

#[test]
fn random_sequences_keep_every_invariant_on_postgres() {
    check(Backend::Postgres, 48);
}
