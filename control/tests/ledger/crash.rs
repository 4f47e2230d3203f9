//! A process killed in the middle of a request leaves all of it or none:
//! the test runs itself again as a child process on the same database,
//! with a failpoint that aborts the child in the middle of the request,
//! after its transfers are written and before the balances move, or just
//! before its commit. Checked for a capture and for a payout's settlement.

use std::process::Command;

use control::ledger::{HoldState, PayoutState, Request};
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, Backend, Books};

both_backends!(
    a_crash_mid_capture_leaves_all_of_it_or_none,
    a_crash_mid_settlement_leaves_all_of_it_or_none,
);

/// Set in the child: the database, the key, and the request as JSON.
const CHILD: &str = "LEDGER_CRASH_CHILD";

const FAILPOINTS: [&str; 2] = ["ledger.before_balances", "ledger.before_commit"];

async fn a_crash_mid_capture_leaves_all_of_it_or_none(backend: Backend) {
    if let Ok(job) = std::env::var(CHILD) {
        return apply_in_child(&job).await;
    }
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    for failpoint in FAILPOINTS {
        let hold = books.hold(user, expert, coins(3)).await;
        let capture = Request::Capture {
            hold,
            amount: coins(2) + 3,
        };
        let test = "a_crash_mid_capture_leaves_all_of_it_or_none";
        crash(&books, backend, test, failpoint, &capture).await;
        // None of it: the hold pending.
        let h = books.ledger.hold(hold).await.unwrap().unwrap();
        assert_eq!(h.state, HoldState::Pending, "{failpoint}");
        let receipt = retry(&books, &capture).await;
        assert_eq!(receipt.transfers.len(), 3);
    }
}

async fn a_crash_mid_settlement_leaves_all_of_it_or_none(backend: Backend) {
    if let Ok(job) = std::env::var(CHILD) {
        return apply_in_child(&job).await;
    }
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    books.earn(expert, coins(10)).await;
    books.clear();
    for failpoint in FAILPOINTS {
        let payout = books.request_payout(expert, 1_001).await;
        let settle = Request::PayoutSettle {
            payout,
            withheld: 150,
        };
        let test = "a_crash_mid_settlement_leaves_all_of_it_or_none";
        crash(&books, backend, test, failpoint, &settle).await;
        let p = books.ledger.payout(payout).await.unwrap().unwrap();
        assert_eq!(p.state, PayoutState::Pending, "{failpoint}");
        let receipt = retry(&books, &settle).await;
        assert_eq!(receipt.transfers.len(), 2);
    }
}

/// The key a request is applied with, in the child and on retry.
fn key_of(request: &Request) -> String {
    let named = request.hold().or(request.payout());
    format!("crash-{}", named.expect("names a hold or a payout"))
}

/// Runs `request` in a child process that dies at `failpoint`, and checks
/// that it left nothing behind.
async fn crash(books: &Books, backend: Backend, test: &str, failpoint: &str, request: &Request) {
    let before = books.transfers().await;
    let module = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let job = format!(
        "{} {} {}",
        books.store.url,
        key_of(request),
        serde_json::to_string(request).unwrap()
    );
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("crash::{module}::{test}"),
            "--test-threads",
            "1",
        ])
        .env(CHILD, job)
        .env("DI_FAILPOINT", failpoint)
        .output()
        .expect("the child runs");
    assert!(
        !status.status.success(),
        "the child dies at {failpoint}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // None of it: no transfer, the key unused.
    assert_eq!(books.transfers().await, before, "{failpoint}");
    books.assert_sound().await;
}

/// The retry the caller makes completes the request.
async fn retry(books: &Books, request: &Request) -> control::ledger::Receipt {
    let receipt = books
        .ledger
        .apply(&key_of(request), request)
        .await
        .expect("the retry applies");
    books.assert_sound().await;
    receipt
}

async fn apply_in_child(job: &str) {
    let mut parts = job.splitn(3, ' ');
    let (url, key, request) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let request: Request = serde_json::from_str(request).unwrap();
    let db = platform::Database::connect(url).await.unwrap();
    let clock = std::sync::Arc::new(platform::SystemClock);
    let ledger = control::ledger::Ledger::new(db, clock, crate::common::CLEARING_DELAY);
    let _ = ledger.apply(key, &request).await;
    // Reached only if the failpoint did not fire: exit cleanly, which the
    // parent counts as a failure.
}
