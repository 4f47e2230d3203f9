//! A process killed in the middle of a capture leaves all of it or none:
//! the test runs itself again as a child process on the same database,
//! with a failpoint that aborts the child in the middle of the
//! capture, after its transfers are written and before the balances move, or
//! just before its commit.

use std::process::Command;

use control::ledger::{HoldState, Request};
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, Backend, Books};

both_backends!(a_crash_mid_capture_leaves_all_of_it_or_none);

/// Set in the child: the database, the hold and the key to capture with.
const CHILD: &str = "LEDGER_CRASH_CHILD";

async fn a_crash_mid_capture_leaves_all_of_it_or_none(backend: Backend) {
    if let Ok(job) = std::env::var(CHILD) {
        return capture_in_child(&job).await;
    }
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let test = match backend {
        Backend::Sqlite => "crash::sqlite::a_crash_mid_capture_leaves_all_of_it_or_none",
        Backend::Postgres => "crash::postgres::a_crash_mid_capture_leaves_all_of_it_or_none",
    };
    for failpoint in ["ledger.before_balances", "ledger.before_commit"] {
        let hold = books.hold(user, expert, coins(3)).await;
        let before = books.transfers().await;
        let key = format!("capture-{hold}");
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--test-threads", "1"])
            .env(CHILD, format!("{} {hold} {key}", books.store.url))
            .env("DI_FAILPOINT", failpoint)
            .output()
            .expect("the child runs");
        assert!(
            !status.status.success(),
            "the child dies at {failpoint}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        // None of it: no transfer, the hold pending, the key unused.
        assert_eq!(books.transfers().await, before, "{failpoint}");
        let h = books.ledger.hold(hold).await.unwrap().unwrap();
        assert_eq!(h.state, HoldState::Pending, "{failpoint}");
        books.assert_sound().await;
        // The retry the caller makes completes it.
        let receipt = books
            .ledger
            .apply(&key, &capture(hold))
            .await
            .expect("the retry applies");
        assert_eq!(receipt.transfers.len(), 3);
        books.assert_sound().await;
    }
}

fn capture(hold: Uuid) -> Request {
    Request::Capture {
        hold,
        amount: coins(2) + 3,
    }
}

async fn capture_in_child(job: &str) {
    let mut parts = job.split(' ');
    let (url, hold, key) = (
        parts.next().unwrap(),
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap(),
    );
    let db = platform::Database::connect(url).await.unwrap();
    let clock = std::sync::Arc::new(platform::SystemClock);
    let ledger = control::ledger::Ledger::new(db, clock);
    let _ = ledger.apply(key, &capture(hold)).await;
    // Reached only if the failpoint did not fire: exit cleanly, which the
    // parent counts as a failure.
}
