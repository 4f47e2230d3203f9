//! Payouts: what each request moves, the clearing rule, and each refusal's
//! lack of effect.

use control::ledger::{Account, LedgerError, PayoutState, Request, TransferKind};
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, Backend, Books};

both_backends!(
    a_payout_waits_for_clearing_then_pays_net_and_withheld,
    a_cancelled_payout_returns_to_the_earnings_once,
    refunds_reduce_what_is_available_only_once_cleared,
    payout_refusals_get_typed_errors_and_change_nothing,
    a_payout_retry_returns_the_first_receipt,
);

async fn a_payout_waits_for_clearing_then_pays_net_and_withheld(backend: Backend) {
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    books.earn(expert, coins(10)).await;
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!(
        (funds.earnings, funds.uncleared, funds.available),
        (4_000, 4_000, 0)
    );
    let captured_at = platform::Clock::now_ms(books.clock.as_ref());
    assert_eq!(
        funds.next_cleared_at,
        Some(captured_at + crate::common::CLEARING_DELAY.as_millis() as i64)
    );
    let request = |amount| Request::PayoutRequest { expert, amount };
    assert!(matches!(
        books.ledger.apply("too-early", &request(1)).await,
        Err(LedgerError::OverAvailable { available: 0 })
    ));

    books.clear();
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 4_000);
    assert!(matches!(
        books.ledger.apply("too-much", &request(4_001)).await,
        Err(LedgerError::OverAvailable { available: 4_000 })
    ));
    let receipt = books.ledger.apply("p1", &request(3_000)).await.unwrap();
    let payout = receipt.payout.expect("the new payout");
    assert_eq!(receipt.transfers.len(), 1);
    assert_eq!(receipt.transfers[0].kind, TransferKind::PayoutRequested);
    assert_eq!(receipt.transfers[0].to, Account::Payout(expert).id());
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!((funds.earnings, funds.available), (1_000, 1_000));
    let totals = books.ledger.payout_totals(expert).await.unwrap();
    assert_eq!((totals.pending, totals.paid), (3_000, 0));
    books.assert_sound().await;

    let settled = books
        .ledger
        .apply(
            "s1",
            &Request::PayoutSettle {
                payout,
                withheld: 450,
            },
        )
        .await
        .unwrap();
    let moved: Vec<(TransferKind, &str, i64)> = settled
        .transfers
        .iter()
        .map(|t| (t.kind, t.to.as_str(), t.amount))
        .collect();
    assert_eq!(
        moved,
        vec![
            (TransferKind::PayoutPaid, "paid_out", 2_550),
            (TransferKind::PayoutWithheld, "tax_payable", 450),
        ]
    );
    assert_eq!(
        books.ledger.balance(&Account::PaidOut).await.unwrap(),
        2_550
    );
    assert_eq!(
        books.ledger.balance(&Account::TaxPayable).await.unwrap(),
        450
    );
    assert_eq!(
        books
            .ledger
            .balance(&Account::Payout(expert))
            .await
            .unwrap(),
        0
    );
    let totals = books.ledger.payout_totals(expert).await.unwrap();
    assert_eq!(
        (totals.pending, totals.paid, totals.withheld),
        (0, 3_000, 450)
    );
    let p = books.ledger.payout(payout).await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.amount, p.withheld),
        (PayoutState::Settled, 3_000, 450)
    );
    books.assert_sound().await;
}

async fn a_cancelled_payout_returns_to_the_earnings_once(backend: Backend) {
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    books.earn(expert, coins(10)).await;
    books.clear();
    let payout = books.request_payout(expert, 4_000).await;
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 0);
    let receipt = books
        .ledger
        .apply("c1", &Request::PayoutCancel { payout })
        .await
        .unwrap();
    assert_eq!(receipt.transfers[0].kind, TransferKind::PayoutReturned);
    assert_eq!(receipt.transfers[0].amount, 4_000);
    // Back and available at once: the captures behind it cleared long ago.
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 4_000);
    let before = books.transfers().await;
    for (key, again) in [
        ("c2", Request::PayoutCancel { payout }),
        (
            "s2",
            Request::PayoutSettle {
                payout,
                withheld: 0,
            },
        ),
    ] {
        match books.ledger.apply(key, &again).await {
            Err(LedgerError::PayoutResolved { state }) => {
                assert_eq!(state, PayoutState::Cancelled)
            }
            other => panic!("{key}: a resolved payout is refused, got {other:?}"),
        }
    }
    assert_eq!(books.transfers().await, before, "refusals move nothing");
    books.assert_sound().await;
}

async fn refunds_reduce_what_is_available_only_once_cleared(backend: Backend) {
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    let old = books.earn(expert, coins(10)).await;
    books.clear();
    let recent = books.earn(expert, coins(5)).await;
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!((funds.earnings, funds.available), (4_000 + 2_000, 4_000));
    let refund = |hold, amount| Request::Refund {
        hold,
        amount,
        reason: "refund".into(),
    };
    // A refund of the recent capture takes from what is not cleared yet.
    books
        .ledger
        .apply("r1", &refund(recent, 1_003))
        .await
        .unwrap();
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!(funds.uncleared, 2_000 - (1_003 - 200));
    assert_eq!(funds.available, 4_000);
    // One of the old capture takes from what is available: 80 % of it.
    books.ledger.apply("r2", &refund(old, 1_000)).await.unwrap();
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 3_200);
    // Everything available is paid out; a refund of the old capture can
    // then only take uncleared money, and nothing is available.
    books.request_payout(expert, 3_200).await;
    books.ledger.apply("r3", &refund(old, 500)).await.unwrap();
    let funds = books.ledger.funds(expert).await.unwrap();
    assert_eq!(funds.available, 0);
    assert_eq!(funds.earnings, funds.uncleared - 400);
    books.assert_sound().await;
}

async fn payout_refusals_get_typed_errors_and_change_nothing(backend: Backend) {
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    books.earn(expert, coins(10)).await;
    books.clear();
    let payout = books.request_payout(expert, 1_000).await;
    let before = books.transfers().await;
    let settle = |payout, withheld| Request::PayoutSettle { payout, withheld };
    let cases: Vec<(&str, Request, &str)> = vec![
        (
            "k1",
            Request::PayoutRequest { expert, amount: 0 },
            "invalid_request",
        ),
        (
            "k2",
            Request::PayoutRequest {
                expert,
                amount: -500,
            },
            "invalid_request",
        ),
        (
            "k3",
            Request::PayoutRequest {
                expert,
                amount: 3_001,
            },
            "over_available",
        ),
        (
            "k4",
            Request::PayoutRequest {
                expert: Uuid::new_v4(),
                amount: 1,
            },
            "over_available",
        ),
        ("k5", settle(payout, 1_001), "invalid_request"),
        ("k6", settle(payout, -1), "invalid_request"),
        ("k7", settle(Uuid::new_v4(), 0), "unknown_payout"),
        (
            "k8",
            Request::PayoutCancel {
                payout: Uuid::new_v4(),
            },
            "unknown_payout",
        ),
    ];
    for (key, request, code) in cases {
        match books.ledger.apply(key, &request).await {
            Err(e) => assert_eq!(e.code(), code, "{request:?}: {e}"),
            Ok(r) => panic!("{request:?} is refused, got {r:?}"),
        }
    }
    assert_eq!(books.transfers().await, before, "nothing moved");
    let p = books.ledger.payout(payout).await.unwrap().unwrap();
    assert_eq!(p.state, PayoutState::Pending);
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 3_000);
    // A refused request does not use up its key.
    books
        .ledger
        .apply("k5", &settle(payout, 1_000))
        .await
        .unwrap();
    books.assert_sound().await;
}

async fn a_payout_retry_returns_the_first_receipt(backend: Backend) {
    let books = Books::open(backend).await;
    let expert = Uuid::new_v4();
    books.earn(expert, coins(10)).await;
    books.clear();
    let request = Request::PayoutRequest {
        expert,
        amount: 2_500,
    };
    let first = books.ledger.apply("payout-1", &request).await.unwrap();
    // However much is available by then, a retry is the first request.
    let again = books.ledger.apply("payout-1", &request).await.unwrap();
    assert_eq!(first, again, "the same payout, the same transfers");
    let other = Request::PayoutRequest {
        expert,
        amount: 1_000,
    };
    assert!(matches!(
        books.ledger.apply("payout-1", &other).await,
        Err(LedgerError::KeyReused)
    ));
    assert_eq!(books.ledger.funds(expert).await.unwrap().available, 1_500);
    books.assert_sound().await;
}
