//! Money reports over the API: one's history (filters, pages, CSV), holds,
//! an expert's earnings, and the administrators' finance report. The holds
//! and captures come through the ledger's service API, as messaging and
//! bookings make them.

use control::ledger::Request;
use uuid::Uuid;

use crate::both_backends;
use crate::common::{Backend, Server};

both_backends!(history_holds_earnings_and_finance_add_up);

async fn history_holds_earnings_and_finance_add_up(backend: Backend) {
    let server = Server::start(backend).await;
    let amel = server.user("amel@example.tn").await;
    let karim = server.user("karim@example.tn").await;
    let admin = server.admin().await;
    server.buy_pack(&amel, 0).await;

    // What messaging and bookings will do.
    let ledger = server.ledger();
    let (user, expert) = (
        Uuid::parse_str(&amel.id).unwrap(),
        Uuid::parse_str(&karim.id).unwrap(),
    );
    let hold = |amount, reference: &str| Request::Hold {
        payer: user,
        payee: expert,
        amount,
        expires_at: None,
        reference: reference.into(),
        reason: "test".into(),
    };
    let apply = |key: &'static str, r: Request| {
        let ledger = ledger.clone();
        async move { ledger.apply(key, &r).await.unwrap() }
    };
    let message = apply("h1", hold(1_500, "message:1")).await.hold.unwrap();
    apply(
        "c1",
        Request::Capture {
            hold: message,
            amount: 1_500,
        },
    )
    .await;
    let _booking = apply("h2", hold(1_000, "booking:1")).await;
    let call = apply("h3", hold(500, "call:1")).await.hold.unwrap();
    apply(
        "c3",
        Request::Capture {
            hold: call,
            amount: 500,
        },
    )
    .await;
    apply(
        "r3",
        Request::Refund {
            hold: call,
            amount: 5,
            reason: "cut short".into(),
        },
    )
    .await;

    // amel's history: deposit, three holds, two captures with their shares,
    // the refund's two shares; newest first.
    let all = server
        .get("/api/v1/wallet/history", Some(&amel.access))
        .await
        .expect(200);
    let entries = all.body["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds[0].starts_with("refund"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"deposit"));
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    let counts = [
        "deposit",
        "hold",
        "capture_expert",
        "capture_platform",
        "refund_expert",
        "refund_platform",
    ]
    .map(count);
    assert_eq!(counts, [1, 3, 2, 2, 1, 1], "{kinds:?}");
    let deposits = server
        .get("/api/v1/wallet/history?kind=deposit", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(deposits.body["entries"][0]["amount"], 10_000);
    assert_eq!(deposits.body["entries"].as_array().unwrap().len(), 1);

    // Pages of two cover the whole history once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/wallet/history?limit=2".to_owned();
    loop {
        let page = server.get(&path, Some(&amel.access)).await.expect(200);
        for e in page.body["entries"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/wallet/history?limit=2&cursor={c}"),
            None => break,
        }
    }
    let ids: Vec<String> = entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ids);

    let csv = server
        .get("/api/v1/wallet/history?format=csv", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8(csv.bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "time,kind,amount_millimes,from,to,reference,hold,id"
    );
    assert_eq!(lines.len(), entries.len() + 1);
    for bad in [
        "kind=theft",
        "from=yesterday",
        "cursor=%%%",
        "limit=0",
        "format=xml",
    ] {
        server
            .get(&format!("/api/v1/wallet/history?{bad}"), Some(&amel.access))
            .await
            .expect_problem(400, "invalid_query");
    }

    let holds = server
        .get("/api/v1/wallet/holds", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(holds.body.as_array().unwrap().len(), 1);
    assert_eq!(holds.body[0]["reference"], "booking:1");

    // karim earned 80 % of the message and of the call, less the refund's share.
    let earned = server
        .get("/api/v1/wallet/earnings?period=day", Some(&karim.access))
        .await
        .expect(200);
    let rows = earned.body.as_array().unwrap();
    let by_service = |s: &str| rows.iter().find(|r| r["service"] == s).cloned().unwrap();
    assert_eq!(by_service("message")["earned"], 1_200);
    assert_eq!(by_service("message")["consultations"], 1);
    assert_eq!(by_service("call")["earned"], 400 - 4);

    let report = server
        .get("/api/v1/admin/finance?period=month", Some(&admin.access))
        .await
        .expect(200);
    let month = &report.body["periods"][0];
    assert_eq!(month["deposits"], 10_000);
    assert_eq!(month["captured"], 2_000);
    assert_eq!(month["commissions"], 400);
    assert_eq!(month["refunds"], 5);
    assert_eq!(month["revenue"], 399);
    assert_eq!(report.body["pending_holds"].as_array().unwrap().len(), 1);
    assert_eq!(report.body["pending_payments"].as_array().unwrap().len(), 0);
    server
        .get("/api/v1/admin/finance", Some(&amel.access))
        .await
        .expect(403);
    server
        .get(
            "/api/v1/admin/finance?from=2026-12-01&to=2026-11-01",
            Some(&admin.access),
        )
        .await
        .expect_problem(400, "invalid_query");
}
