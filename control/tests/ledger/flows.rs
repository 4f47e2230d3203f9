//! Each request's effect, and each refusal's lack of one.

use control::ledger::{Account, HoldState, LedgerError, Request, TransferKind};
use platform::Clock;
use uuid::Uuid;

use crate::both_backends;
use crate::common::{coins, hold, Backend, Books};

both_backends!(
    a_partial_capture_pays_80_20_and_returns_the_rest,
    a_hold_resolves_exactly_once,
    a_retry_returns_the_first_receipt_and_a_reused_key_is_refused,
    an_overdraft_is_refused_and_changes_nothing,
    holds_expire_through_the_durable_job,
    refunds_in_pieces_take_back_exactly_the_shares_paid,
    bad_requests_get_typed_errors_and_change_nothing,
);

async fn a_partial_capture_pays_80_20_and_returns_the_rest(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(100)).await;
    let held = books.hold(user, expert, coins(30)).await;
    let b = books.ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (coins(70), coins(30)));

    // An odd amount: 10,503 millimes is 5 x 2,100 + 3.
    let capture = Request::Capture {
        hold: held,
        amount: 10_503,
    };
    let receipt = books.ledger.apply("capture-1", &capture).await.unwrap();
    let moved: Vec<(TransferKind, i64)> = receipt
        .transfers
        .iter()
        .map(|t| (t.kind, t.amount))
        .collect();
    assert_eq!(
        moved,
        vec![
            (TransferKind::CaptureExpert, 8_403),
            (TransferKind::CapturePlatform, 2_100),
            (TransferKind::Release, coins(30) - 10_503),
        ]
    );
    let b = books.ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (coins(100) - 10_503, 0));
    assert_eq!(books.ledger.balances(expert).await.unwrap().earnings, 8_403);
    assert_eq!(
        books.ledger.balance(&Account::Revenue).await.unwrap(),
        2_100
    );
    let h = books.ledger.hold(held).await.unwrap().unwrap();
    assert_eq!((h.state, h.captured), (HoldState::Captured, 10_503));
    books.assert_sound().await;
}

async fn a_hold_resolves_exactly_once(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let captured = books.hold(user, expert, coins(2)).await;
    let released = books.hold(user, expert, coins(2)).await;
    let ledger = &books.ledger;
    let capture = |hold| Request::Capture {
        hold,
        amount: coins(1),
    };
    ledger.apply("c1", &capture(captured)).await.unwrap();
    ledger
        .apply("r1", &Request::Release { hold: released })
        .await
        .unwrap();
    let before = books.transfers().await;
    for (key, request, state) in [
        (
            "r2",
            Request::Release { hold: captured },
            HoldState::Captured,
        ),
        ("c2", capture(captured), HoldState::Captured),
        ("c3", capture(released), HoldState::Released),
        (
            "r3",
            Request::Release { hold: released },
            HoldState::Released,
        ),
    ] {
        match ledger.apply(key, &request).await {
            Err(LedgerError::HoldResolved { state: s }) => assert_eq!(s, state, "{key}"),
            other => panic!("{key}: a resolved hold is refused, got {other:?}"),
        }
    }
    assert_eq!(books.transfers().await, before, "refusals move nothing");
    let b = ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (coins(9), 0));
    books.assert_sound().await;
}

async fn a_retry_returns_the_first_receipt_and_a_reused_key_is_refused(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let request = hold(user, expert, coins(3), None);
    let first = books.ledger.apply("booking-7", &request).await.unwrap();
    let again = books.ledger.apply("booking-7", &request).await.unwrap();
    assert_eq!(
        first, again,
        "the same receipt, hold and transfer ids included"
    );
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, coins(7));

    let other = hold(user, expert, coins(4), None);
    assert!(matches!(
        books.ledger.apply("booking-7", &other).await,
        Err(LedgerError::KeyReused)
    ));
    let capture = Request::Capture {
        hold: first.hold.unwrap(),
        amount: coins(3),
    };
    assert!(matches!(
        books.ledger.apply("booking-7", &capture).await,
        Err(LedgerError::KeyReused)
    ));
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, coins(7));
    books.assert_sound().await;
}

async fn an_overdraft_is_refused_and_changes_nothing(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let before = books.transfers().await;
    let request = hold(user, expert, coins(10) + 1, None);
    match books.ledger.apply("too-much", &request).await {
        Err(LedgerError::InsufficientFunds { account }) => {
            assert_eq!(account, Account::Wallet(user).id())
        }
        other => panic!("an overdraft is refused, got {other:?}"),
    }
    // A user who never had a wallet cannot spend either.
    let stranger = Uuid::new_v4();
    assert!(matches!(
        books
            .ledger
            .apply("stranger", &hold(stranger, expert, 1, None))
            .await,
        Err(LedgerError::InsufficientFunds { .. })
    ));
    assert_eq!(books.transfers().await, before);
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, coins(10));
    assert_eq!(books.ledger.balances(stranger).await.unwrap().wallet, 0);
    // A refused request does not use up its key: once the money is there,
    // the same request goes through.
    books.deposit(user, 1).await;
    books.ledger.apply("too-much", &request).await.unwrap();
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, 0);
    books.assert_sound().await;
}

async fn holds_expire_through_the_durable_job(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let hour = 3_600_000;
    let deadline = books.clock.now_ms() + hour;
    let receipt = books
        .ledger
        .apply("msg-1", &hold(user, expert, coins(4), Some(deadline)))
        .await
        .unwrap();
    let id = receipt.hold.unwrap();
    let captured = books.hold(user, expert, coins(1)).await;
    assert_eq!(books.ledger.expire_due(100).await.unwrap(), 0);
    assert!(matches!(
        books
            .ledger
            .apply("early", &Request::Expire { hold: id })
            .await,
        Err(LedgerError::NotExpired)
    ));
    assert!(matches!(
        books
            .ledger
            .apply("no-deadline", &Request::Expire { hold: captured })
            .await,
        Err(LedgerError::NotExpired)
    ));

    // Another ledger on the same database, as after a restart, finds the
    // deadline in the database.
    books
        .clock
        .advance(std::time::Duration::from_millis(hour as u64));
    let restarted = control::ledger::Ledger::new(
        books.store.db.clone(),
        books.clock.clone(),
        crate::common::CLEARING_DELAY,
    );
    assert_eq!(restarted.expire_due(100).await.unwrap(), 1);
    assert_eq!(restarted.expire_due(100).await.unwrap(), 0, "once");
    let h = books.ledger.hold(id).await.unwrap().unwrap();
    assert_eq!(h.state, HoldState::Expired);
    let b = books.ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (coins(9), coins(1)));
    assert!(matches!(
        books
            .ledger
            .apply(
                "late-capture",
                &Request::Capture {
                    hold: id,
                    amount: 1
                }
            )
            .await,
        Err(LedgerError::HoldResolved {
            state: HoldState::Expired
        })
    ));
    books.assert_sound().await;
}

async fn refunds_in_pieces_take_back_exactly_the_shares_paid(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let id = books.hold(user, expert, coins(2)).await;
    let refund = |amount| Request::Refund {
        hold: id,
        amount,
        reason: "the expert cancelled".into(),
    };
    assert!(matches!(
        books.ledger.apply("early-refund", &refund(1)).await,
        Err(LedgerError::NotCaptured {
            state: HoldState::Pending
        })
    ));
    books
        .ledger
        .apply(
            "cap",
            &Request::Capture {
                hold: id,
                amount: 503,
            },
        )
        .await
        .unwrap();
    assert_eq!(books.ledger.balances(expert).await.unwrap().earnings, 403);
    for (key, amount) in [("r1", 1), ("r2", 2), ("r3", 4), ("r4", 496)] {
        books.ledger.apply(key, &refund(amount)).await.unwrap();
        books.assert_sound().await;
    }
    assert_eq!(books.ledger.balances(expert).await.unwrap().earnings, 0);
    assert_eq!(books.ledger.balance(&Account::Revenue).await.unwrap(), 0);
    assert_eq!(books.ledger.balances(user).await.unwrap().wallet, coins(10));
    assert!(matches!(
        books.ledger.apply("r5", &refund(1)).await,
        Err(LedgerError::OverRefund { refundable: 0 })
    ));
}

async fn bad_requests_get_typed_errors_and_change_nothing(backend: Backend) {
    let books = Books::open(backend).await;
    let (user, expert) = (Uuid::new_v4(), Uuid::new_v4());
    books.deposit(user, coins(10)).await;
    let id = books.hold(user, expert, coins(1)).await;
    let before = books.transfers().await;
    let now = books.clock.now_ms();
    let deposit = |amount, provider: &str| Request::Deposit {
        account: user,
        amount,
        provider: provider.into(),
        reference: "payment:1".into(),
    };
    let long_key = "k".repeat(201);
    let cases: Vec<(&str, Request, &str)> = vec![
        ("k1", hold(user, expert, 0, None), "invalid_request"),
        ("k2", hold(user, expert, -500, None), "invalid_request"),
        (
            "k3",
            deposit(1_000_000_000_000, "sandbox"),
            "invalid_request",
        ),
        ("k4", deposit(500, "Not A Provider"), "invalid_request"),
        ("k5", hold(user, user, 500, None), "invalid_request"),
        ("k6", hold(user, expert, 500, Some(now)), "invalid_request"),
        (
            "k7",
            Request::Refund {
                hold: id,
                amount: 1,
                reason: "nul\0".into(),
            },
            "invalid_request",
        ),
        (
            "k8",
            Request::Capture {
                hold: Uuid::new_v4(),
                amount: 1,
            },
            "unknown_hold",
        ),
        (
            "k9",
            Request::Capture {
                hold: id,
                amount: coins(1) + 1,
            },
            "over_capture",
        ),
        ("", deposit(500, "sandbox"), "invalid_request"),
        (&long_key, deposit(500, "sandbox"), "invalid_request"),
    ];
    for (key, request, code) in cases {
        let got = books.ledger.apply(key, &request).await;
        match got {
            Err(e) => assert_eq!(e.code(), code, "{request:?}: {e}"),
            Ok(r) => panic!("{request:?} is refused, got {r:?}"),
        }
    }
    assert_eq!(books.transfers().await, before, "nothing moved");
    let b = books.ledger.balances(user).await.unwrap();
    assert_eq!((b.wallet, b.held), (coins(9), coins(1)));
    books.assert_sound().await;
}
