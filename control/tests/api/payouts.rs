//! Payouts over HTTP: a client pays an expert (a sandbox purchase, then a
//! hold and a capture through the ledger, as messaging and bookings make
//! them), the clearing delay passes on the server's clock, the expert asks
//! to be paid, an administrator approves (under each tax option, to the
//! millime) or rejects; every refusal; concurrent requests; the ledger's
//! audit at the end of each.

use std::time::Duration;

use control::ledger::Request;
use platform::Clock;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::common::*;

both_backends!(
    an_expert_is_paid_with_tax_withheld_at_source,
    an_expert_is_paid_with_vat_included_at_the_rates_of_the_approval,
    a_rejected_payout_returns_to_what_is_available,
    payout_requests_are_refused_when_they_must_be,
    decisions_are_for_administrators_and_happen_once,
    concurrent_payout_requests_never_exceed_what_is_available,
    the_queue_and_the_expert_s_list_come_in_pages,
);

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A server whose sign-ins outlive the week of clearing the tests wait for.
async fn server(backend: Backend) -> Server {
    Server::start_with(backend, |settings| {
        settings.auth.access_token_ttl = 30 * DAY;
        settings.auth.refresh_token_ttl = 60 * DAY;
    })
    .await
}

/// 50,000 and 10,503 millimes paid for `expert`'s services by `payer`
/// (who must have them) and captured now: the expert earns 40,000 and
/// 8,403 (the platform 10,000 and 2,100).
const EARNED: i64 = 48_403;

async fn pay_expert(s: &Server, payer: &Session, expert: &Session) {
    let ledger = s.ledger();
    let (payer, expert) = (
        Uuid::parse_str(&payer.id).unwrap(),
        Uuid::parse_str(&expert.id).unwrap(),
    );
    for (amount, reference) in [(50_000, "call:1"), (10_503, "message:1")] {
        let hold = Request::Hold {
            payer,
            payee: expert,
            amount,
            expires_at: None,
            reference: format!("{reference}:{}", Uuid::new_v4()),
            reason: "a consultation".into(),
        };
        let key = Uuid::new_v4().to_string();
        let held = ledger.apply(&key, &hold).await.unwrap().hold.unwrap();
        let capture = Request::Capture { hold: held, amount };
        ledger
            .apply(&format!("{key}-capture"), &capture)
            .await
            .unwrap();
    }
}

/// A client who bought 230 coins (115,000 millimes) and an expert they
/// paid `EARNED` of earnings, not yet cleared.
async fn paid_expert(s: &Server, tax_option: &str) -> (Session, Session) {
    let amel = s.user("amel@example.tn").await;
    s.buy_pack(&amel, 2).await;
    let karim = s
        .payable_expert("karim@example.tn", "Karim", "Haddad", tax_option)
        .await;
    pay_expert(s, &amel, &karim).await;
    (amel, karim)
}

async fn request(s: &Server, token: &str, key: Option<&str>, body: Value) -> Resp {
    let mut req = s.req(reqwest::Method::POST, "/api/v1/payouts", Some(token));
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    s.send(req.json(&body)).await
}

async fn summary(s: &Server, token: &str) -> Value {
    s.get("/api/v1/payouts/summary", Some(token))
        .await
        .expect(200)
        .body
}

async fn decide(s: &Server, token: &str, id: &str, verdict: &str, body: Value) -> Resp {
    s.post(
        &format!("/api/v1/admin/payouts/{id}/{verdict}"),
        Some(token),
        body,
    )
    .await
}

async fn set_rates(s: &Server, admin: &Session, vat_bp: i64, withholding_bp: i64) {
    let rates = json!({ "vat_percent_bp": vat_bp, "withholding_percent_bp": withholding_bp });
    s.put("/api/v1/admin/settings/tax", Some(&admin.access), rates)
        .await
        .expect(200);
}

async fn assert_ledger_sound(s: &Server) {
    let audit = s.ledger().audit().await.unwrap();
    assert!(audit.is_clean(), "the ledger is unsound: {audit:?}");
}

fn rfc3339(ms: i64) -> String {
    control::api::views::timestamp(ms)
}

async fn an_expert_is_paid_with_tax_withheld_at_source(backend: Backend) {
    let s = server(backend).await;
    let admin = s.admin().await;
    let captured_at = s.clock.now_ms();
    let (_, karim) = paid_expert(&s, "withholding").await;

    // Nothing clears before the delay (7 days) has passed since the capture.
    let week = 7 * DAY.as_millis() as i64;
    assert_eq!(
        summary(&s, &karim.access).await,
        json!({ "available": 0, "clearing": EARNED, "pending": 0, "paid": 0, "withheld": 0,
                "minimum": 5_000, "next_clearing_at": rfc3339(captured_at + week) })
    );
    request(&s, &karim.access, Some("first"), json!({ "amount": 5_000 }))
        .await
        .expect_problem(422, "over_available");
    s.clock.advance(7 * DAY - Duration::from_millis(1));
    assert_eq!(summary(&s, &karim.access).await["available"], 0);
    s.clock.advance(Duration::from_millis(1));
    let cleared = summary(&s, &karim.access).await;
    assert_eq!(
        (
            &cleared["available"],
            &cleared["clearing"],
            &cleared["next_clearing_at"]
        ),
        (&json!(EARNED), &json!(0), &Value::Null)
    );

    // All of it, once however often it is sent.
    let requested_at = s.clock.now_ms();
    let p = request(
        &s,
        &karim.access,
        Some("first"),
        json!({ "amount": EARNED }),
    )
    .await
    .expect(201)
    .body;
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        p,
        json!({ "id": id, "expert_id": karim.id, "amount": EARNED, "state": "requested",
                "bank_kind": "rib", "bank_last4": &rib(BANK_ACCOUNT)[16..],
                "requested_at": rfc3339(requested_at), "decided_at": null, "reason": null,
                "tax_option": null, "net": null })
    );
    let again = request(
        &s,
        &karim.access,
        Some("first"),
        json!({ "amount": EARNED }),
    )
    .await
    .expect(200);
    assert_eq!(again.body["id"], id.as_str());
    request(&s, &karim.access, Some("first"), json!({ "amount": 5_000 }))
        .await
        .expect_problem(409, "idempotency_key_reused");
    let pending = summary(&s, &karim.access).await;
    assert_eq!(
        (&pending["available"], &pending["pending"]),
        (&json!(0), &json!(EARNED))
    );

    // The administrators' queue, with the number to transfer to.
    let queue = s
        .get("/api/v1/admin/payouts", Some(&admin.access))
        .await
        .expect(200)
        .body;
    let item = &queue["items"][0];
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["payout"]["id"], id.as_str());
    assert_eq!(item["expert_name"], "Karim Haddad");
    assert_eq!(item["expert_email"], "karim@example.tn");
    assert_eq!(item["bank_account"], rib(BANK_ACCOUNT));

    s.clock.advance(Duration::from_secs(3600));
    let paid_at = s.clock.now_ms();
    let paid = decide(&s, &admin.access, &id, "approve", json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (&paid["state"], &paid["tax_option"], &paid["net"]),
        (&json!("paid"), &json!("withholding"), &json!(41_143))
    );
    assert_eq!(paid["decided_at"], rfc3339(paid_at));

    // 48,403 x 15 % = 7,260.45: 7,260 withheld, 41,143 to the bank. What
    // clients paid: 60,503, of which the platform kept 12,100.
    let statement_path = format!("/api/v1/payouts/{id}/statement");
    let expected = json!({
        "payout_id": id, "expert_id": karim.id, "expert_name": "Karim Haddad",
        "currency": "TND", "requested_at": requested_at, "paid_at": paid_at,
        "gross": 60_503, "commission_rate_bp": 2_000, "commission": 12_100,
        "earnings": EARNED, "tax_option": "withholding",
        "taxes": [
            { "kind": "vat", "rate_bp": 0, "base": EARNED, "amount": 0,
              "withheld_at_source": false },
            { "kind": "withholding", "rate_bp": 1_500, "base": EARNED, "amount": 7_260,
              "withheld_at_source": true }
        ],
        "net": 41_143,
        "bank": { "kind": "rib", "last4": &rib(BANK_ACCOUNT)[16..] }
    });
    let statement = s
        .get(&statement_path, Some(&karim.access))
        .await
        .expect(200);
    assert_eq!(statement.body, expected);
    let csv = s
        .get(&format!("{statement_path}?format=csv"), Some(&karim.access))
        .await
        .expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        String::from_utf8(csv.bytes).unwrap(),
        format!(
            "payout_id,expert_id,expert_name,currency,requested_at,paid_at,gross_millimes,\
             commission_rate_bp,commission_millimes,earnings_millimes,tax_option,vat_rate_bp,\
             vat_base_millimes,vat_millimes,withholding_rate_bp,withholding_millimes,\
             net_millimes,bank_kind,bank_last4\r\n\
             {id},{},Karim Haddad,TND,{},{},60503,2000,12100,48403,withholding,0,48403,0,1500,\
             7260,41143,rib,{}\r\n",
            karim.id,
            rfc3339(requested_at),
            rfc3339(paid_at),
            &rib(BANK_ACCOUNT)[16..]
        )
    );
    // Administrators read it too; later rates never change it.
    set_rates(&s, &admin, 1_800, 1_200).await;
    let later = s
        .get(&statement_path, Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(later.body, expected);

    assert_eq!(
        summary(&s, &karim.access).await,
        json!({ "available": 0, "clearing": 0, "pending": 0, "paid": EARNED,
                "withheld": 7_260, "minimum": 5_000, "next_clearing_at": null })
    );
    let mail = s.wait_for_mails("karim@example.tn", 2).await.pop().unwrap();
    let mail = readable(&mail);
    assert!(mail.contains("41,143 TND"), "{mail}");
    assert!(mail.contains("7,260 TND"), "{mail}");
    assert!(mail.contains(&statement_path), "{mail}");

    // The expert's history and the platform's books show it.
    let history = s
        .get(
            "/api/v1/wallet/history?kind=payout_requested,payout_paid,payout_withheld",
            Some(&karim.access),
        )
        .await
        .expect(200);
    let moved: Vec<(&str, i64)> = history.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        moved,
        vec![
            ("payout_withheld", 7_260),
            ("payout_paid", 41_143),
            ("payout_requested", EARNED)
        ]
    );
    let report = s
        .get("/api/v1/admin/finance?period=month", Some(&admin.access))
        .await
        .expect(200)
        .body;
    let sum = |field: &str| -> i64 {
        report["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[field].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        [
            sum("payouts_requested"),
            sum("paid_out"),
            sum("withheld"),
            sum("payouts_rejected")
        ],
        [EARNED, 41_143, 7_260, 0]
    );
    assert_eq!(
        report["pending_payouts"],
        json!({ "count": 0, "amount": 0 })
    );
    assert_ledger_sound(&s).await;
}

async fn an_expert_is_paid_with_vat_included_at_the_rates_of_the_approval(backend: Backend) {
    let s = server(backend).await;
    let admin = s.admin().await;
    let (_, karim) = paid_expert(&s, "vat").await;
    s.clock.advance(7 * DAY);
    let p = request(&s, &karim.access, Some("all"), json!({ "amount": EARNED }))
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().unwrap();
    // The rates change while it waits: the approval applies those in force.
    set_rates(&s, &admin, 1_800, 1_200).await;
    let paid = decide(&s, &admin.access, id, "approve", json!({}))
        .await
        .expect(200);
    assert_eq!(paid.body["net"], EARNED, "the expert is paid all of it");
    let statement = s
        .get(
            &format!("/api/v1/payouts/{id}/statement"),
            Some(&karim.access),
        )
        .await
        .expect(200)
        .body;
    // 48,403 x 1,800 / 11,800 = 7,383.5: 7,383 of VAT on a base of 41,020.
    assert_eq!(
        statement["taxes"],
        json!([
            { "kind": "vat", "rate_bp": 1_800, "base": 41_020, "amount": 7_383,
              "withheld_at_source": false },
            { "kind": "withholding", "rate_bp": 0, "base": EARNED, "amount": 0,
              "withheld_at_source": true }
        ])
    );
    assert_eq!(
        (
            &statement["gross"],
            &statement["commission"],
            &statement["net"]
        ),
        (&json!(60_503), &json!(12_100), &json!(EARNED))
    );
    let csv = s
        .get(
            &format!("/api/v1/payouts/{id}/statement?format=csv"),
            Some(&karim.access),
        )
        .await
        .expect(200);
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(
        text.contains(",60503,2000,12100,48403,vat,1800,41020,7383,0,0,48403,rib,"),
        "{text}"
    );
    let totals = summary(&s, &karim.access).await;
    assert_eq!(
        (&totals["paid"], &totals["withheld"]),
        (&json!(EARNED), &json!(0))
    );
    assert_ledger_sound(&s).await;
}

async fn a_rejected_payout_returns_to_what_is_available(backend: Backend) {
    let s = server(backend).await;
    let admin = s.admin().await;
    let (_, karim) = paid_expert(&s, "withholding").await;
    s.clock.advance(7 * DAY);
    let p = request(&s, &karim.access, Some("part"), json!({ "amount": 20_000 }))
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        summary(&s, &karim.access).await["available"],
        EARNED - 20_000
    );
    decide(&s, &admin.access, id, "reject", json!({ "reason": "" }))
        .await
        .expect_problem(422, "validation_failed");
    let rejected = decide(
        &s,
        &admin.access,
        id,
        "reject",
        json!({ "reason": "The bank refused the transfer" }),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["reason"], "The bank refused the transfer");
    assert_eq!(rejected["net"], Value::Null);
    let back = summary(&s, &karim.access).await;
    assert_eq!(
        (&back["available"], &back["pending"], &back["paid"]),
        (&json!(EARNED), &json!(0), &json!(0))
    );
    let mail = readable(&s.wait_for_mails("karim@example.tn", 2).await.pop().unwrap());
    assert!(mail.contains("The bank refused the transfer"), "{mail}");
    assert!(mail.contains("20,000 TND"), "{mail}");
    s.get(
        &format!("/api/v1/payouts/{id}/statement"),
        Some(&karim.access),
    )
    .await
    .expect_problem(409, "payout_not_paid");
    for verdict in ["approve", "reject"] {
        decide(&s, &admin.access, id, verdict, json!({ "reason": "again" }))
            .await
            .expect_problem(409, "payout_decided");
    }
    let list = s
        .get("/api/v1/payouts", Some(&karim.access))
        .await
        .expect(200);
    assert_eq!(list.body["items"][0]["state"], "rejected");
    // And it can be asked for again, all of it.
    request(
        &s,
        &karim.access,
        Some("again"),
        json!({ "amount": EARNED }),
    )
    .await
    .expect(201);
    let report = s
        .get("/api/v1/admin/finance", Some(&admin.access))
        .await
        .expect(200)
        .body;
    assert_eq!(
        report["pending_payouts"],
        json!({ "count": 1, "amount": EARNED })
    );
    assert_ledger_sound(&s).await;
}

async fn payout_requests_are_refused_when_they_must_be(backend: Backend) {
    let s = server(backend).await;
    let (amel, karim) = paid_expert(&s, "withholding").await;
    s.clock.advance(7 * DAY);
    let amount = |a: Value| json!({ "amount": a });

    // Not an expert; an expert not approved; approved but nowhere to pay
    // to; approved with a bank account but no tax option.
    request(&s, &amel.access, Some("k"), amount(json!(5_000)))
        .await
        .expect_problem(403, "forbidden");
    let draft = s.expert_account("draft@example.tn", "Dora", "Draft").await;
    request(&s, &draft.access, Some("k"), amount(json!(5_000)))
        .await
        .expect_problem(409, "expert_not_approved");
    let bankless = s
        .approved_expert(
            "bankless@example.tn",
            "Bilel",
            "Bankless",
            json!({ "bio": "Conseil" }),
        )
        .await;
    request(&s, &bankless.access, Some("k"), amount(json!(5_000)))
        .await
        .expect_problem(409, "bank_account_missing");
    let taxless = s
        .expert_account("taxless@example.tn", "Tarek", "Taxless")
        .await;
    s.put(
        "/api/v1/experts/me/bank",
        Some(&taxless.access),
        json!({ "number": rib("080060999999999999") }),
    )
    .await
    .expect(200);
    s.approve_directly(&taxless).await;
    request(&s, &taxless.access, Some("k"), amount(json!(5_000)))
        .await
        .expect_problem(409, "tax_option_missing");

    // The request itself.
    request(&s, &karim.access, None, amount(json!(5_000)))
        .await
        .expect_problem(400, "idempotency_key_required");
    let long_key = "k".repeat(101);
    let r = request(&s, &karim.access, Some(&long_key), amount(json!(5_000)))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        vec![("Idempotency-Key".to_owned(), "invalid".to_owned())]
    );
    for below in [4_999, 0, -5_000] {
        let r = request(&s, &karim.access, Some("k"), amount(json!(below)))
            .await
            .expect_problem(422, "below_minimum");
        assert_eq!(
            r.field_codes(),
            vec![("amount".into(), "below_minimum".into())]
        );
    }
    let r = request(&s, &karim.access, Some("k"), amount(json!(EARNED + 1)))
        .await
        .expect_problem(422, "over_available");
    assert_eq!(
        r.body["errors"][0]["message"],
        "at most 48403 millimes are available"
    );
    request(&s, &karim.access, Some("k"), amount(json!("5000")))
        .await
        .expect_problem(422, "validation_failed");
    request(
        &s,
        &karim.access,
        Some("k"),
        json!({ "amount": 5_000, "to": "elsewhere" }),
    )
    .await
    .expect_problem(422, "validation_failed");
    // None of these used the key or moved anything.
    assert_eq!(summary(&s, &karim.access).await["available"], EARNED);
    request(&s, &karim.access, Some("k"), amount(json!(5_000)))
        .await
        .expect(201);
    s.get("/api/v1/payouts/summary", Some(&amel.access))
        .await
        .expect_problem(403, "forbidden");
    assert_ledger_sound(&s).await;
}

async fn decisions_are_for_administrators_and_happen_once(backend: Backend) {
    let s = server(backend).await;
    let admin = s.admin().await;
    let (amel, karim) = paid_expert(&s, "withholding").await;
    let other = s
        .payable_expert("salma@example.tn", "Salma", "Other", "vat")
        .await;
    s.clock.advance(7 * DAY);
    let id = request(&s, &karim.access, Some("k"), json!({ "amount": 10_000 }))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for who in [&karim, &amel, &other] {
        decide(&s, &who.access, &id, "approve", json!({}))
            .await
            .expect_problem(403, "forbidden");
        decide(&s, &who.access, &id, "reject", json!({ "reason": "no" }))
            .await
            .expect_problem(403, "forbidden");
        s.get("/api/v1/admin/payouts", Some(&who.access))
            .await
            .expect_problem(403, "forbidden");
    }
    decide(
        &s,
        &admin.access,
        &Uuid::new_v4().to_string(),
        "approve",
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    for unknown in ["not-a-uuid", "a%00b"] {
        decide(&s, &admin.access, unknown, "approve", json!({}))
            .await
            .expect_problem(404, "not_found");
        s.get(
            &format!("/api/v1/payouts/{unknown}/statement"),
            Some(&karim.access),
        )
        .await
        .expect_problem(404, "not_found");
    }

    // Concurrent decisions: one wins, every other finds it decided.
    let attempts = (0..8).map(|i| {
        let (verdict, body) = if i % 2 == 0 {
            ("approve", json!({}))
        } else {
            ("reject", json!({ "reason": "Duplicate" }))
        };
        decide(&s, &admin.access, &id, verdict, body)
    });
    let results = futures::future::join_all(attempts).await;
    let won: Vec<&Resp> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, r.code()), (409, "payout_decided"), "{}", r.body);
    }
    decide(&s, &admin.access, &id, "approve", json!({}))
        .await
        .expect_problem(409, "payout_decided");

    // Statements: the expert's own, and administrators'; to anyone else
    // there is no such payout.
    let path = format!("/api/v1/payouts/{id}/statement");
    let expected = if won[0].body["state"] == "paid" {
        200
    } else {
        409
    };
    assert_eq!(s.get(&path, Some(&karim.access)).await.status, expected);
    assert_eq!(s.get(&path, Some(&admin.access)).await.status, expected);
    for who in [&amel, &other] {
        s.get(&path, Some(&who.access))
            .await
            .expect_problem(404, "not_found");
    }
    s.get(&path, None).await.expect(401);
    s.get(
        &format!("/api/v1/payouts/{}/statement", Uuid::new_v4()),
        Some(&karim.access),
    )
    .await
    .expect_problem(404, "not_found");
    s.get(&format!("{path}?format=pdf"), Some(&karim.access))
        .await
        .expect_problem(400, "invalid_query");
    assert_ledger_sound(&s).await;
}

async fn concurrent_payout_requests_never_exceed_what_is_available(backend: Backend) {
    let s = server(backend).await;
    let (_, karim) = paid_expert(&s, "withholding").await;
    s.clock.advance(7 * DAY);
    // 48,403 available: room for nine payouts of 5,000, not ten.
    let keys: Vec<String> = (0..24).map(|i| format!("key-{i}")).collect();
    let attempts = keys
        .iter()
        .map(|key| request(&s, &karim.access, Some(key), json!({ "amount": 5_000 })));
    let results = futures::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    for r in results.iter().filter(|r| r.status != 201) {
        assert_eq!((r.status, r.code()), (422, "over_available"), "{}", r.body);
    }
    assert_eq!(created, 9);
    let after = summary(&s, &karim.access).await;
    assert_eq!(
        (&after["available"], &after["pending"]),
        (&json!(EARNED - 45_000), &json!(45_000))
    );
    assert_ledger_sound(&s).await;
}

async fn the_queue_and_the_expert_s_list_come_in_pages(backend: Backend) {
    let s = server(backend).await;
    let admin = s.admin().await;
    let (amel, karim) = paid_expert(&s, "withholding").await;
    let salma = s
        .payable_expert("salma@example.tn", "Salma", "Ben Ali", "vat")
        .await;
    s.buy_pack(&amel, 2).await;
    pay_expert(&s, &amel, &salma).await;
    s.clock.advance(7 * DAY);
    let mut ids = Vec::new();
    for (who, key) in [(&karim, "a"), (&salma, "b"), (&karim, "c")] {
        let p = request(&s, &who.access, Some(key), json!({ "amount": 5_000 }))
            .await
            .expect(201);
        ids.push(p.body["id"].as_str().unwrap().to_owned());
        s.clock.advance(Duration::from_secs(1));
    }
    // The queue: the longest waiting first, in pages.
    let first = s
        .get("/api/v1/admin/payouts?limit=2", Some(&admin.access))
        .await
        .expect(200)
        .body;
    let page_ids = |page: &Value, at: &str| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.pointer(at).unwrap().as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(page_ids(&first, "/payout/id"), ids[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = s
        .get(
            &format!("/api/v1/admin/payouts?limit=2&cursor={cursor}"),
            Some(&admin.access),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(page_ids(&second, "/payout/id"), ids[2..]);
    assert_eq!(second["next_cursor"], Value::Null);
    decide(&s, &admin.access, &ids[0], "approve", json!({}))
        .await
        .expect(200);
    let paid = s
        .get("/api/v1/admin/payouts?state=paid", Some(&admin.access))
        .await
        .expect(200)
        .body;
    assert_eq!(page_ids(&paid, "/payout/id"), ids[..1]);
    let queue = s
        .get("/api/v1/admin/payouts", Some(&admin.access))
        .await
        .expect(200)
        .body;
    assert_eq!(page_ids(&queue, "/payout/id"), ids[1..]);
    s.get("/api/v1/admin/payouts?state=lost", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");

    // One's own payouts, newest first, in pages; nobody else's.
    let mine = s
        .get("/api/v1/payouts?limit=1", Some(&karim.access))
        .await
        .expect(200)
        .body;
    assert_eq!(page_ids(&mine, "/id"), [ids[2].clone()]);
    let cursor = mine["next_cursor"].as_str().unwrap();
    let rest = s
        .get(
            &format!("/api/v1/payouts?limit=1&cursor={cursor}"),
            Some(&karim.access),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(page_ids(&rest, "/id"), [ids[0].clone()]);
    assert_eq!(rest["items"][0]["state"], "paid");
    assert_eq!(rest["items"][0]["net"], 5_000 - 750);
    assert_eq!(rest["next_cursor"], Value::Null);
    s.get("/api/v1/payouts?limit=0", Some(&karim.access))
        .await
        .expect_problem(400, "invalid_query");
    assert_ledger_sound(&s).await;
}
