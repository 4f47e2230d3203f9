//! Buying coins over the API: the sandbox provider end to end, and Konnect
//! through a local server that speaks its API (notifications before and
//! after payment, duplicates, late ones, outages, a wrong amount, payments
//! never notified and settled by reconciliation).

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, Server, Session};
use crate::gateway::Gateway;
use crate::{clictopay, flouci, konnect, paypal};

both_backends!(
    buying_a_pack_in_the_sandbox_credits_the_coins_once,
    purchase_requests_are_checked_and_keys_are_idempotent,
    konnect_payments_settle_from_konnect_s_own_answer,
    konnect_outages_wrong_amounts_and_payments_never_notified,
    flouci_payments_settle_from_flouci_s_own_answer,
    clictopay_payments_settle_from_clictopay_s_own_answer,
    paypal_orders_are_captured_once_approved_and_webhooks_must_be_vouched_for,
);

impl Server {
    async fn buy(&self, who: &Session, key: &str, body: Value) -> crate::common::Resp {
        let req = self
            .req(
                reqwest::Method::POST,
                "/api/v1/wallet/purchases",
                Some(&who.access),
            )
            .header("Idempotency-Key", key)
            .json(&body);
        self.send(req).await
    }

    /// Starts buying `coins` with Konnect; returns the purchase and
    /// Konnect's payment reference (the end of its payment page's URL).
    async fn buy_konnect(&self, who: &Session, key: &str, coins: i64) -> (Value, String) {
        let p = self
            .buy(who, key, json!({ "coins": coins, "provider": "konnect" }))
            .await
            .expect(201)
            .body;
        let reference = p["checkout_url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        (p, reference)
    }

    async fn notify_konnect(&self, reference: &str) -> crate::common::Resp {
        self.get(
            &format!("/api/v1/payments/konnect/webhook?payment_ref={reference}"),
            None,
        )
        .await
    }

    async fn coins(&self, who: &Session) -> i64 {
        let w = self
            .get("/api/v1/wallet", Some(&who.access))
            .await
            .expect(200);
        w.body["coins"].as_i64().unwrap()
    }
}

async fn buying_a_pack_in_the_sandbox_credits_the_coins_once(backend: Backend) {
    let server = Server::start(backend).await;
    let amel = server.user("amel@example.tn").await;
    assert_eq!(server.coins(&amel).await, 0);
    let offer = server.get("/api/v1/wallet/offer", None).await.expect(200);
    assert_eq!(offer.body["providers"], json!(["sandbox"]));
    assert_eq!(
        offer.body["packs"][0],
        json!({ "coins": 20, "price": 10_000 })
    );

    let p = server
        .buy(&amel, "k1", json!({ "pack": 0, "provider": "sandbox" }))
        .await
        .expect(201);
    assert_eq!(p.body["state"], "pending");
    assert_eq!(
        (p.body["coins"].as_i64(), p.body["price"].as_i64()),
        (Some(20), Some(10_000))
    );
    let page = p.body["checkout_url"].as_str().unwrap();
    let path = page.strip_prefix(&server.base).expect("a page of ours");
    let html = server.get(path, None).await.expect(200);
    assert!(String::from_utf8_lossy(&html.bytes).contains("<button>Pay</button>"));

    let paid = server
        .post(&format!("{path}/pay"), None, json!({}))
        .await
        .expect(200);
    assert_eq!(paid.body["state"], "paid");
    assert_eq!(server.coins(&amel).await, 20);
    let w = server
        .get("/api/v1/wallet", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(w.body["balance"], 20 * 500);

    // Paying again, reading it, retrying the purchase: no more coins.
    server
        .post(&format!("{path}/pay"), None, json!({}))
        .await
        .expect(200);
    let id = p.body["id"].as_str().unwrap();
    let again = server
        .get(
            &format!("/api/v1/wallet/purchases/{id}"),
            Some(&amel.access),
        )
        .await
        .expect(200);
    assert_eq!(again.body["state"], "paid");
    let retry = server
        .buy(&amel, "k1", json!({ "pack": 0, "provider": "sandbox" }))
        .await
        .expect(201);
    assert_eq!(retry.body["id"], p.body["id"]);
    assert_eq!(server.coins(&amel).await, 20);
    let list = server
        .get("/api/v1/wallet/purchases", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    // Someone else cannot see it.
    let sami = server.user("sami@example.tn").await;
    server
        .get(
            &format!("/api/v1/wallet/purchases/{id}"),
            Some(&sami.access),
        )
        .await
        .expect_problem(404, "not_found");
}

async fn purchase_requests_are_checked_and_keys_are_idempotent(backend: Backend) {
    let server = Server::start(backend).await;
    let amel = server.user("amel@example.tn").await;
    for (body, field) in [
        (json!({ "pack": 3, "provider": "sandbox" }), "pack"),
        (json!({ "coins": 9, "provider": "sandbox" }), "coins"),
        (json!({ "coins": 20_001, "provider": "sandbox" }), "coins"),
        (
            json!({ "coins": 10, "pack": 0, "provider": "sandbox" }),
            "pack",
        ),
        (json!({ "provider": "sandbox" }), "pack"),
        (json!({ "coins": 10, "provider": "paypal" }), "provider"),
    ] {
        let r = server
            .buy(&amel, "bad", body.clone())
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(r.field_codes()[0].0, field, "{body}");
    }
    let chosen = server
        .buy(&amel, "k2", json!({ "coins": 15, "provider": "sandbox" }))
        .await
        .expect(201);
    assert_eq!(chosen.body["price"], 15 * 500);
    server
        .buy(&amel, "k2", json!({ "coins": 16, "provider": "sandbox" }))
        .await
        .expect_problem(409, "idempotency_key_reused");
    let no_key = server
        .post(
            "/api/v1/wallet/purchases",
            Some(&amel.access),
            json!({ "coins": 15, "provider": "sandbox" }),
        )
        .await;
    no_key.expect_problem(400, "idempotency_key_required");
    server
        .post(
            "/api/v1/wallet/purchases",
            None,
            json!({ "coins": 15, "provider": "sandbox" }),
        )
        .await
        .expect(401);
    let list = server
        .get("/api/v1/wallet/purchases", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(
        list.body.as_array().unwrap().len(),
        1,
        "refusals started nothing"
    );
    assert_eq!(server.coins(&amel).await, 0);
}

/// Where providers send the buyer back.
fn return_path(purchase: &str) -> String {
    format!("/api/v1/payments/return/{purchase}")
}

async fn with_konnect(backend: Backend, k: &Gateway, api_key: &str) -> Server {
    let (base, key) = (format!("{}/api/v2", k.base), api_key.to_owned());
    Server::start_with(backend, move |s| {
        s.payments.providers = vec!["konnect".into()];
        s.payments.konnect.base_url = base;
        s.payments.konnect.api_key = Some(key);
        s.payments.konnect.wallet_id = Some(konnect::WALLET.into());
    })
    .await
}

async fn konnect_payments_settle_from_konnect_s_own_answer(backend: Backend) {
    let k = konnect::start().await;
    let server = with_konnect(backend, &k, konnect::API_KEY).await;
    let amel = server.user("amel@example.tn").await;
    let p = server
        .buy(&amel, "k1", json!({ "coins": 30, "provider": "konnect" }))
        .await
        .expect(201);
    let id = p.body["id"].as_str().unwrap();
    let pay_url = p.body["checkout_url"].as_str().unwrap();
    let reference = pay_url.rsplit('/').next().unwrap();
    assert!(
        pay_url.starts_with(&k.base),
        "the buyer pays on Konnect's page"
    );
    let asked = k.payment(reference).unwrap();
    assert_eq!(asked.amount, 15_000, "millimes of TND");
    assert_eq!(asked.order_id, id);
    assert_eq!(
        asked.webhook,
        format!("{}/api/v1/payments/konnect/webhook", server.base)
    );
    // The buyer comes back, signed in or not, before paying: still pending.
    assert_eq!(
        asked.return_url,
        format!("{}{}", server.base, return_path(id))
    );
    let back = server.get(&return_path(id), None).await.expect(200);
    assert_eq!(back.body["state"], "pending");

    // A notification says nothing by itself: Konnect still says pending.
    let hook = format!("/api/v1/payments/konnect/webhook?payment_ref={reference}");
    let early = server.get(&hook, None).await.expect(200);
    assert_eq!(early.body["state"], "pending");
    assert_eq!(server.coins(&amel).await, 0);

    k.pay(reference, None);
    let paid = server.get(&hook, None).await.expect(200);
    assert_eq!(paid.body["state"], "paid");
    assert_eq!(server.coins(&amel).await, 30);
    for _ in 0..3 {
        server.get(&hook, None).await.expect(200);
    }
    assert_eq!(server.coins(&amel).await, 30, "duplicates credit nothing");
    server
        .get(
            "/api/v1/payments/konnect/webhook?payment_ref=000000000000000000000000",
            None,
        )
        .await
        .expect_problem(404, "not_found");
}

async fn konnect_outages_wrong_amounts_and_payments_never_notified(backend: Backend) {
    let k = konnect::start().await;
    let server = with_konnect(backend, &k, konnect::API_KEY).await;
    let amel = server.user("amel@example.tn").await;
    let admin = server.admin().await;

    k.set_down(true);
    server
        .buy(&amel, "down", json!({ "coins": 10, "provider": "konnect" }))
        .await
        .expect_problem(502, "payment_provider_unavailable");
    k.set_down(false);
    let list = server
        .get("/api/v1/wallet/purchases", Some(&amel.access))
        .await
        .expect(200);
    assert_eq!(list.body[0]["state"], "failed");

    // Paid less than asked: not credited, marked for a human.
    let (_, short_ref) = server.buy_konnect(&amel, "short", 10).await;
    k.pay(&short_ref, Some(4_000));
    let r = server.notify_konnect(&short_ref).await.expect(200);
    assert_eq!(r.body["state"], "failed");
    assert!(r.body["failure"]
        .as_str()
        .unwrap()
        .contains("expected 5000"));

    // Paid, but the notification never comes: reconciliation finds it.
    let (_, quiet_ref) = server.buy_konnect(&amel, "quiet", 12).await;
    let (unpaid, _) = server.buy_konnect(&amel, "unpaid", 14).await;
    k.pay(&quiet_ref, None);
    let reconcile = "/api/v1/admin/payments/reconcile";
    server
        .post(reconcile, Some(&amel.access), json!({}))
        .await
        .expect(403);
    let r = server
        .post(reconcile, Some(&admin.access), json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["settled"], 0, "too recent to ask about");
    server.clock.advance(Duration::from_secs(180));
    let r = server
        .post(reconcile, Some(&admin.access), json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["settled"], 1);
    assert_eq!(server.coins(&amel).await, 12);
    // The late notification changes nothing.
    server.notify_konnect(&quiet_ref).await.expect(200);
    assert_eq!(server.coins(&amel).await, 12);

    // Never paid: given up on after a day (a day later, sign in again).
    server.clock.advance(Duration::from_secs(24 * 3600));
    let admin = server.relogin(&admin, "admin@deepinfluence.tn").await;
    let amel = server.relogin(&amel, "amel@example.tn").await;
    server
        .post(reconcile, Some(&admin.access), json!({}))
        .await
        .expect(200);
    let id = unpaid["id"].as_str().unwrap();
    let gone = server
        .get(
            &format!("/api/v1/wallet/purchases/{id}"),
            Some(&amel.access),
        )
        .await
        .expect(200);
    assert_eq!(gone.body["state"], "failed");
    assert_eq!(gone.body["failure"], "not paid in time");

    // A wrong API key: Konnect refuses, and says so.
    let wrong = with_konnect(backend, &k, "not-the-key").await;
    let sami = wrong.user("sami@example.tn").await;
    wrong
        .buy(&sami, "k", json!({ "coins": 10, "provider": "konnect" }))
        .await
        .expect_problem(502, "payment_provider_refused");
}

async fn flouci_payments_settle_from_flouci_s_own_answer(backend: Backend) {
    let f = flouci::start().await;
    let base = format!("{}/api/v2", f.base);
    let server = Server::start_with(backend, move |s| {
        s.payments.providers = vec!["flouci".into(), "sandbox".into()];
        s.payments.flouci.base_url = base;
        s.payments.flouci.public_key = Some(flouci::PUBLIC.into());
        s.payments.flouci.private_key = Some(flouci::PRIVATE.into());
    })
    .await;
    let amel = server.user("amel@example.tn").await;
    let offer = server.get("/api/v1/wallet/offer", None).await.expect(200);
    assert_eq!(offer.body["providers"], json!(["flouci", "sandbox"]));
    let p = server
        .buy(&amel, "f1", json!({ "pack": 1, "provider": "flouci" }))
        .await
        .expect(201);
    let link = p.body["checkout_url"].as_str().unwrap();
    let id = link.rsplit('/').next().unwrap();
    let asked = f.payment(id).unwrap();
    assert_eq!(asked.amount, 50_000, "the pack's price in millimes");
    assert_eq!(asked.order_id, p.body["id"].as_str().unwrap());
    assert_eq!(
        asked.webhook,
        format!("{}/api/v1/payments/flouci/webhook", server.base)
    );
    let ours = p.body["id"].as_str().unwrap();
    assert_eq!(
        asked.return_url,
        format!("{}{}", server.base, return_path(ours))
    );

    let hook = "/api/v1/payments/flouci/webhook";
    let early = server
        .post(hook, None, json!({ "payment_id": id }))
        .await
        .expect(200);
    assert_eq!(early.body["state"], "pending");
    f.pay(id, None);
    // The notification's payload is not documented: the id may come in the
    // body or the query, by POST or GET.
    let paid = server
        .post(&format!("{hook}?payment_id={id}"), None, json!({}))
        .await
        .expect(200);
    assert_eq!(paid.body["state"], "paid");
    server
        .get(&format!("{hook}?payment_id={id}"), None)
        .await
        .expect(200);
    server
        .post(hook, None, json!({ "data": { "payment_id": id } }))
        .await
        .expect(200);
    assert_eq!(server.coins(&amel).await, 110, "credited once");
    server
        .post(hook, None, json!({}))
        .await
        .expect_problem(400, "payment_id_required");
    server
        .post(hook, None, json!({ "payment_id": "unknown" }))
        .await
        .expect_problem(404, "not_found");

    f.set_down(true);
    server
        .buy(&amel, "f2", json!({ "coins": 10, "provider": "flouci" }))
        .await
        .expect_problem(502, "payment_provider_unavailable");
}

async fn clictopay_payments_settle_from_clictopay_s_own_answer(backend: Backend) {
    let c = clictopay::start().await;
    let start = |password: &'static str| {
        let base = format!("{}/payment/rest", c.base);
        Server::start_with(backend, move |s| {
            s.payments.providers = vec!["clictopay".into()];
            s.payments.clictopay.base_url = base;
            s.payments.clictopay.user_name = Some(clictopay::USER.into());
            s.payments.clictopay.password = Some(password.into());
        })
    };
    let server = start(clictopay::PASSWORD).await;
    let amel = server.user("amel@example.tn").await;
    let p = server
        .buy(&amel, "c1", json!({ "coins": 40, "provider": "clictopay" }))
        .await
        .expect(201);
    let form_url = p.body["checkout_url"].as_str().unwrap();
    let order = form_url.rsplit("mdOrder=").next().unwrap();
    let asked = c.payment(order).unwrap();
    assert_eq!(asked.amount, 20_000, "millimes of TND");
    assert_eq!(
        asked.order_id,
        p.body["id"].as_str().unwrap().replace('-', "")
    );
    let back = return_path(p.body["id"].as_str().unwrap());
    assert_eq!(asked.return_url, format!("{}{back}", server.base));

    // The buyer's return is the only signal, and it proves nothing alone.
    assert_eq!(
        server.get(&back, None).await.expect(200).body["state"],
        "pending"
    );
    c.pay(order, None);
    assert_eq!(
        server.get(&back, None).await.expect(200).body["state"],
        "paid"
    );
    server.get(&back, None).await.expect(200);
    assert_eq!(server.coins(&amel).await, 40, "credited once");
    server
        .get(&return_path("not-a-payment"), None)
        .await
        .expect_problem(404, "not_found");

    // ClicToPay's own system error, and refused credentials (both HTTP 200
    // with an errorCode).
    c.set_down(true);
    server
        .buy(&amel, "c2", json!({ "coins": 10, "provider": "clictopay" }))
        .await
        .expect_problem(502, "payment_provider_unavailable");
    c.set_down(false);
    let wrong = start("wrong").await;
    let sami = wrong.user("sami@example.tn").await;
    wrong
        .buy(&sami, "c3", json!({ "coins": 10, "provider": "clictopay" }))
        .await
        .expect_problem(502, "payment_provider_refused");
}

async fn paypal_orders_are_captured_once_approved_and_webhooks_must_be_vouched_for(
    backend: Backend,
) {
    let pp = paypal::start().await;
    let start = |secret: &'static str| {
        let base = pp.gateway.base.clone();
        Server::start_with(backend, move |s| {
            s.payments.providers = vec!["paypal".into()];
            s.payments.paypal.base_url = base;
            s.payments.paypal.client_id = Some(paypal::CLIENT_ID.into());
            s.payments.paypal.client_secret = Some(secret.into());
            s.payments.paypal.webhook_id = Some(paypal::WEBHOOK_ID.into());
        })
    };
    let server = start(paypal::SECRET).await;
    let amel = server.user("amel@example.tn").await;
    // 34 coins are 17 TND; at 3.400 TND a euro, 5.00 EUR.
    let p = server
        .buy(&amel, "p1", json!({ "coins": 34, "provider": "paypal" }))
        .await
        .expect(201);
    let approve = p.body["checkout_url"].as_str().unwrap();
    let order = approve.rsplit("token=").next().unwrap().to_owned();
    let asked = pp.gateway.payment(&order).unwrap();
    assert_eq!(asked.amount, 500, "cents of EUR");
    assert_eq!(asked.order_id, p.body["id"].as_str().unwrap());
    let back = return_path(p.body["id"].as_str().unwrap());
    assert_eq!(asked.return_url, format!("{}{back}", server.base));

    assert_eq!(
        server.get(&back, None).await.expect(200).body["state"],
        "pending"
    );
    pp.gateway.pay(&order, None);

    // A webhook PayPal does not vouch for is refused and changes nothing.
    let event = json!({ "id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED",
                        "resource": { "id": order, "status": "APPROVED" } });
    let hook = |signature: &str| {
        server
            .req(
                reqwest::Method::POST,
                "/api/v1/payments/paypal/webhook",
                None,
            )
            .header("paypal-auth-algo", "SHA256withRSA")
            .header(
                "paypal-cert-url",
                "https://api.paypal.com/v1/notifications/certs/CERT",
            )
            .header(
                "paypal-transmission-id",
                "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
            )
            .header("paypal-transmission-time", "2026-11-24T08:00:00Z")
            .header("paypal-transmission-sig", signature)
            .header("content-type", "application/json")
            .body(event.to_string())
    };
    server
        .send(hook("forged"))
        .await
        .expect_problem(400, "webhook_not_verified");
    assert!(!pp.gateway.payment(&order).unwrap().captured);
    assert_eq!(server.coins(&amel).await, 0);

    let paid = server.send(hook(paypal::GOOD_SIGNATURE)).await.expect(200);
    assert_eq!(paid.body["state"], "paid");
    assert!(
        pp.gateway.payment(&order).unwrap().captured,
        "approved, then captured by us"
    );
    assert_eq!(server.coins(&amel).await, 34);
    // The buyer's return and a capture event afterwards credit nothing more.
    assert_eq!(
        server.get(&back, None).await.expect(200).body["state"],
        "paid"
    );
    let captured = json!({ "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": { "id": "CAP1", "supplementary_data": { "related_ids": { "order_id": order } } } });
    let req = server
        .req(
            reqwest::Method::POST,
            "/api/v1/payments/paypal/webhook",
            None,
        )
        .header("paypal-transmission-sig", paypal::GOOD_SIGNATURE)
        .body(captured.to_string());
    server.send(req).await.expect(200);
    assert_eq!(server.coins(&amel).await, 34);
    assert_eq!(
        pp.tokens.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "one token, reused"
    );

    // 11 coins are 5.500 TND: 1.6176... EUR, charged 1.62. Paid 1.00: a case for a human.
    let short = server
        .buy(&amel, "p2", json!({ "coins": 11, "provider": "paypal" }))
        .await
        .expect(201);
    let short_order = short.body["checkout_url"]
        .as_str()
        .unwrap()
        .rsplit("token=")
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(pp.gateway.payment(&short_order).unwrap().amount, 162);
    pp.gateway.pay(&short_order, Some(100));
    let r = server
        .get(&return_path(short.body["id"].as_str().unwrap()), None)
        .await
        .expect(200);
    assert_eq!(r.body["state"], "failed");
    assert_eq!(r.body["failure"], "paid 1.00 EUR, expected 1.62 EUR");
    assert_eq!(server.coins(&amel).await, 34);

    let wrong = start("not-the-secret").await;
    let sami = wrong.user("sami@example.tn").await;
    wrong
        .buy(&sami, "p3", json!({ "coins": 10, "provider": "paypal" }))
        .await
        .expect_problem(502, "payment_provider_refused");
}
