//! Ledger throughput: transfers posted per second on SQLite and PostgreSQL,
//! through `control::ledger::Ledger`, every request with its idempotency
//! key, first as separate calls (`apply`, many in flight, which the ledger
//! groups into shared transactions), then explicit batches (`apply_batch`).
//!
//! The workload is what the product does: users who bought coins hold
//! coins for an expert and then capture part of the hold (four transfers:
//! the hold, then the expert's 80%, the platform's 20% and the rest back).
//! Every capture touches the one platform revenue account, the hot row of
//! a real ledger. The ledger is audited at the end of each run.
//!
//! `cargo run --release -p bench --bin ledger-postings -- [seconds] [batch]`
//! Each backend gets a scratch database, made and dropped as the control
//! tests' are (PostgreSQL: `TEST_POSTGRES_URL`, default
//! postgres://postgres:postgres@127.0.0.1:5432/postgres).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use control::ledger::{Ledger, Receipt, Request, MILLIMES_PER_COIN};
use platform::{Clock, SystemClock};
use uuid::Uuid;

// The control tests' scratch databases, migrated, on either backend.
#[path = "../../../control/tests/support/testdb.rs"]
mod testdb;

use testdb::{Backend, TestDb};

/// `apply` calls in flight.
const SINGLE_TASKS: usize = 32;
/// Batches in flight.
const BATCH_TASKS: usize = 4;

fn key() -> String {
    Uuid::new_v4().to_string()
}

fn hold(payer: Uuid, payee: Uuid) -> Request {
    Request::Hold {
        payer,
        payee,
        amount: 3 * MILLIMES_PER_COIN,
        expires_at: None,
        reference: "booking:bench".into(),
        reason: "bench".into(),
    }
}

fn capture(receipt: &Receipt) -> Request {
    Request::Capture {
        hold: receipt.hold.expect("a hold id"),
        amount: 2 * MILLIMES_PER_COIN + 3,
    }
}

/// Runs `tasks` loops of `batch` users each for `seconds`; returns
/// transfers per second.
async fn drive(ledger: &Ledger, seconds: u64, tasks: usize, batch: usize) -> f64 {
    let transfers = Arc::new(AtomicU64::new(0));
    let expert = Uuid::new_v4();
    let mut groups = Vec::new();
    for _ in 0..tasks {
        let users: Vec<Uuid> = (0..batch).map(|_| Uuid::new_v4()).collect();
        let deposits: Vec<(String, Request)> = users
            .iter()
            .map(|&account| {
                let deposit = Request::Deposit {
                    account,
                    amount: 1_000_000 * MILLIMES_PER_COIN,
                    provider: "sandbox".into(),
                    reference: format!("payment:{account}"),
                };
                (key(), deposit)
            })
            .collect();
        for r in ledger.apply_batch(&deposits).await.expect("deposits") {
            r.expect("deposit");
        }
        groups.push(users);
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let workers: Vec<_> = groups
        .into_iter()
        .map(|users| {
            let (ledger, transfers) = (ledger.clone(), transfers.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let holds: Vec<(String, Request)> =
                        users.iter().map(|&u| (key(), hold(u, expert))).collect();
                    let held: Vec<Receipt> = apply(&ledger, &holds).await;
                    let captures: Vec<(String, Request)> =
                        held.iter().map(|r| (key(), capture(r))).collect();
                    let captured = apply(&ledger, &captures).await;
                    let moved = held.iter().chain(&captured).map(|r| r.transfers.len());
                    transfers.fetch_add(moved.sum::<usize>() as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let rate = transfers.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    let audit = ledger.audit().await.expect("audit");
    assert!(audit.is_clean(), "the ledger stays sound: {audit:?}");
    rate
}

/// `apply` for a batch of one, else `apply_batch`.
async fn apply(ledger: &Ledger, requests: &[(String, Request)]) -> Vec<Receipt> {
    let results = match requests {
        [(key, request)] => vec![ledger.apply(key, request).await],
        _ => ledger.apply_batch(requests).await.expect("batch"),
    };
    results.into_iter().map(|r| r.expect("applied")).collect()
}

async fn measure(name: &str, backend: Backend, seconds: u64, batch: usize) {
    let scratch = TestDb::create(backend).await;
    let ledger = Ledger::new(
        scratch.db.clone(),
        Arc::new(SystemClock) as Arc<dyn Clock>,
        control::Settings::default().payouts.clearing_delay,
    );
    let single = drive(&ledger, seconds, SINGLE_TASKS, 1).await;
    let batched = drive(&ledger, seconds, BATCH_TASKS, batch).await;
    println!(
        "{name:10}  {single:>8.0} transfers/s by apply ({SINGLE_TASKS} calls in flight)   \
         {batched:>8.0} transfers/s by apply_batch of {batch} ({BATCH_TASKS} in flight)"
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    println!("hold then capture, {seconds}s per run");
    measure("sqlite", Backend::Sqlite, seconds, batch).await;
    measure("postgresql", Backend::Postgres, seconds, batch).await;
}
