//! Requests racing on one wallet or one hold, through the connection pool:
//! concurrent transactions on PostgreSQL, serialised writers on SQLite.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use control::ledger::{LedgerError, Request};
use futures::future::join_all;
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, hold, Backend, Books};

both_backends!(
    two_hundred_concurrent_spends_never_overdraw_one_wallet,
    a_capture_racing_a_release_resolves_the_hold_once,
    one_key_sent_concurrently_applies_once,
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
