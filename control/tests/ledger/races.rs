//! Requests racing on one wallet, one hold, one expert's earnings or one
//! payout, through the connection pool: concurrent transactions on
//! PostgreSQL, serialised writers on SQLite.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use control::ledger::{LedgerError, PayoutState, Request};
use futures::future::join_all;
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, hold, Backend, Books};

both_backends!(
    two_hundred_concurrent_spends_never_overdraw_one_wallet,
    a_capture_racing_a_release_resolves_the_hold_once,
    one_key_sent_concurrently_applies_once,
    two_hundred_concurrent_payout_requests_never_exceed_available,
    a_settlement_racing_a_cancellation_resolves_the_payout_once,
);

async fn two_hundred_concurrent_spends_never_overdraw_one_wallet(backend: Backend) {
    let books = Arc::new(Books::open(backend).await);
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    // Room for 150 spends of a coin and a bit: 50 must be refused.
    let spend = coins(1) + 7;
    books.deposit(user, 150 * spend + spend - 1).await;
    let results = join_all((0..200).map(|i| {
        let books = books.clone();
        tokio::spawn(async move {
            books
                .ledger
                .apply(&format!("spend-{i}"), &hold(user, expert, spend, None))
                .await
        })
    }))
    .await;
    let (mut ok, mut refused) = (0, 0);
    for r in results {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(LedgerError::InsufficientFunds { .. }) => refused += 1,
            Err(e) => panic!("a spend fails only for want of money: {e}"),
        }
    }
    assert_eq!((ok, refused), (150, 50));
    // Group commit: the spends shared transactions.
    let counts = books.ledger.counts();
    let (batches, requests) = (
        counts.batches.load(Ordering::Relaxed),
        counts.requests.load(Ordering::Relaxed),
    );
    assert_eq!(requests, 201, "the deposit and the 200 spends");
    assert!(
        batches < requests,
        "{batches} transactions for {requests} requests"
    );
    let b = books.ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (spend - 1, 150 * spend));
    books.assert_sound().await;
}

async fn a_capture_racing_a_release_resolves_the_hold_once(backend: Backend) {
    let books = Arc::new(Books::open(backend).await);
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(100)).await;
    let mut holds = Vec::new();
    for _ in 0..20 {
        holds.push(books.hold(user, expert, coins(2)).await);
    }
    let races = holds.iter().flat_map(|&hold| {
        let requests = [
            Request::Capture {
                hold,
                amount: coins(1),
            },
            Request::Release { hold },
            Request::Expire { hold },
        ];
        requests
            .into_iter()
            .enumerate()
            .map(move |(i, r)| (hold, i, r))
    });
    let results = join_all(races.map(|(hold, i, request)| {
        let books = books.clone();
        tokio::spawn(async move {
            let r = books.ledger.apply(&format!("{hold}-{i}"), &request).await;
            (hold, r)
        })
    }))
    .await;
    for hold in &holds {
        let won: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().unwrap())
            .filter(|(h, r)| h == hold && r.is_ok())
            .collect();
        assert_eq!(won.len(), 1, "exactly one of capture and release wins");
    }
    books.assert_sound().await;
}

async fn one_key_sent_concurrently_applies_once(backend: Backend) {
    let books = Arc::new(Books::open(backend).await);
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let results = join_all((0..20).map(|_| {
        let books = books.clone();
        tokio::spawn(async move {
            books
                .ledger
                .apply("the-same-key", &hold(user, expert, coins(1), None))
                .await
                .expect("a retry is not an error")
        })
    }))
    .await;
    let first = results[0].as_ref().unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap() == first));
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, coins(9));
    books.assert_sound().await;
}

async fn two_hundred_concurrent_payout_requests_never_exceed_available(backend: Backend) {
    let books = Arc::new(Books::open(backend).await);
    let expert = Uuid::new_v4();
    // Cleared: 4 x 20,000; then 4,000 more not yet cleared, which no
    // payout may touch however the requests interleave.
    for _ in 0..4 {
        books.earn(expert, coins(50)).await;
    }
    books.clear();
    books.earn(expert, coins(10)).await;
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!((funds.available, funds.uncleared), (80_000, 4_000));
    // Room for 150 payouts of 533 and a bit: 50 must be refused.
    let amount = 533;
    let cut = 80_000 - 150 * amount;
    books.request_payout(expert, cut).await;
    let results = join_all((0..200).map(|i| {
        let books = books.clone();
        tokio::spawn(async move {
            let request = Request::PayoutRequest { expert, amount };
            books.ledger.apply(&format!("payout-{i}"), &request).await
        })
    }))
    .await;
    let (mut ok, mut refused) = (0, 0);
    for r in results {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(LedgerError::OverAvailable { .. }) => refused += 1,
            Err(e) => panic!("a payout is refused only for want of money: {e}"),
        }
    }
    assert_eq!((ok, refused), (150, 50));
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!((funds.available, funds.earnings), (0, 4_000));
    let totals = books.ledger.payout_totals(expert).await.unwrap();
    assert_eq!(totals.pending, 80_000);
    books.assert_sound().await;
}

async fn a_settlement_racing_a_cancellation_resolves_the_payout_once(backend: Backend) {
    let books = Arc::new(Books::open(backend).await);
    let expert = Uuid::new_v4();
    books.earn(expert, coins(100)).await;
    books.clear();
    let mut payouts = Vec::new();
    for _ in 0..20 {
        payouts.push(books.request_payout(expert, 1_000).await);
    }
    let races = payouts.iter().flat_map(|&payout| {
        [
            Request::PayoutSettle {
                payout,
                withheld: 150,
            },
            Request::PayoutCancel { payout },
            Request::PayoutSettle {
                payout,
                withheld: 0,
            },
        ]
        .into_iter()
        .enumerate()
        .map(move |(i, r)| (payout, i, r))
    });
    let results = join_all(races.map(|(payout, i, request)| {
        let books = books.clone();
        tokio::spawn(async move {
            let r = books.ledger.apply(&format!("{payout}-{i}"), &request).await;
            (payout, r)
        })
    }))
    .await;
    for payout in &payouts {
        let outcomes: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().unwrap())
            .filter(|(p, _)| p == payout)
            .collect();
        let won = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
        assert_eq!(won, 1, "exactly one decision wins");
        for (_, r) in outcomes.iter().filter(|(_, r)| r.is_err()) {
            assert!(
                matches!(r, Err(LedgerError::PayoutResolved { .. })),
                "{r:?}"
            );
        }
        let p = books.ledger.payout(*payout).await.unwrap().unwrap();
        assert_ne!(p.state, PayoutState::Pending);
    }
    books.assert_sound().await;
}
