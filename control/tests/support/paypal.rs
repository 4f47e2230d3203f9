//! A local server speaking PayPal's REST API (the parts our adapter uses):
//! the client-credentials token, Orders v2 (create, show, capture) behind
//! its bearer token, and webhook signature verification, with PayPal's
//! error body `{"name", "message", "debug_id", "details": [{"issue"}]}`.
//! Amounts are kept in cents.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use crate::gateway::{Gateway, Payment};

pub const CLIENT_ID: &str = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer5cB4Bb";
pub const SECRET: &str = "EOv3VVH5vNGv6p8l2sVTOh5_lZhqPH5ZjA1Nvt7";
pub const WEBHOOK_ID: &str = "1JE4291016473214C";
/// The transmission signature our fake PayPal vouches for.
pub const GOOD_SIGNATURE: &str = "valid-signature";
const TOKEN: &str = "A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj";

#[derive(Clone)]
pub struct PayPal {
    pub gateway: Gateway,
    /// Tokens handed out: the adapter should reuse one.
    pub tokens: Arc<AtomicU64>,
}

type Answer = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

fn error(status: StatusCode, name: &str, issue: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(
            json!({ "name": name, "message": name, "debug_id": "f1e2d3c4b5a69",
                     "details": [{ "issue": issue }] }),
        ),
    )
}

fn bearer(p: &PayPal, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    if p.gateway.is_down() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "",
        ));
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_FAILURE",
            "",
        ));
    }
    Ok(())
}

async fn token(State(p): State<PayPal>, headers: HeaderMap) -> Answer {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Basic {basic}"))
    {
        return Err(error(StatusCode::UNAUTHORIZED, "invalid_client", ""));
    }
    p.tokens.fetch_add(1, Ordering::Relaxed);
    Ok((
        StatusCode::OK,
        Json(json!({
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": TOKEN, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
            "expires_in": 32400, "nonce": "2026-11-24T08:00:00Z",
        })),
    ))
}

fn cents(value: &str) -> Option<i64> {
    let (units, hundredths) = value.split_once('.')?;
    (hundredths.len() == 2).then_some(())?;
    Some(units.parse::<i64>().ok()? * 100 + hundredths.parse::<i64>().ok()?)
}

fn value(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn order(p: &PayPal, id: &str, payment: &Payment) -> Value {
    let status = match (payment.paid, payment.captured) {
        (_, true) => "COMPLETED",
        (true, false) => "APPROVED",
        _ => "PAYER_ACTION_REQUIRED",
    };
    let mut order = json!({
        "id": id,
        "status": status,
        "purchase_units": [{ "reference_id": payment.order_id, "custom_id": payment.order_id,
                             "amount": { "currency_code": "EUR", "value": value(payment.amount) } }],
        "links": [
            { "rel": "self", "href": format!("{}/v2/checkout/orders/{id}", p.gateway.base) },
            { "rel": "payer-action", "href": format!("{}/checkoutnow?token={id}", p.gateway.base) },
        ],
    });
    if payment.captured {
        order["purchase_units"][0]["payments"] = json!({ "captures": [{
            "id": format!("CAP{id}"), "status": "COMPLETED", "final_capture": true,
            "amount": { "currency_code": "EUR", "value": value(payment.reported_amount()) },
        }]});
    }
    order
}

async fn create(State(p): State<PayPal>, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    bearer(&p, &headers)?;
    let unit = &body["purchase_units"][0];
    let amount = unit["amount"]["value"]
        .as_str()
        .and_then(cents)
        .filter(|c| *c > 0);
    let (Some(amount), Some("EUR"), Some("CAPTURE")) = (
        amount,
        unit["amount"]["currency_code"].as_str(),
        body["intent"].as_str(),
    ) else {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "DECIMAL_PRECISION",
        ));
    };
    let payment = Payment {
        amount,
        order_id: unit["custom_id"].as_str().unwrap_or_default().to_owned(),
        webhook: String::new(),
        return_url: body["payment_source"]["paypal"]["experience_context"]["return_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        paid: false,
        paid_amount: None,
        captured: false,
    };
    let id = p
        .gateway
        .open(payment.clone(), |n| format!("5O190127TN364715{n}T"));
    Ok((StatusCode::CREATED, Json(order(&p, &id, &payment))))
}

fn find(p: &PayPal, id: &str) -> Result<Payment, (StatusCode, Json<Value>)> {
    p.gateway.payment(id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
        )
    })
}

async fn show(State(p): State<PayPal>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    bearer(&p, &headers)?;
    let payment = find(&p, &id)?;
    Ok((StatusCode::OK, Json(order(&p, &id, &payment))))
}

async fn capture(State(p): State<PayPal>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    bearer(&p, &headers)?;
    let payment = find(&p, &id)?;
    match (payment.paid, payment.captured) {
        (false, _) => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "ORDER_NOT_APPROVED",
        )),
        (_, true) => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "ORDER_ALREADY_CAPTURED",
        )),
        _ => {
            p.gateway.update(&id, |pay| pay.captured = true);
            let captured = p.gateway.payment(&id).unwrap();
            Ok((StatusCode::CREATED, Json(order(&p, &id, &captured))))
        }
    }
}

async fn verify_signature(
    State(p): State<PayPal>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    bearer(&p, &headers)?;
    let good = body["transmission_sig"] == GOOD_SIGNATURE
        && body["webhook_id"] == WEBHOOK_ID
        && body["webhook_event"].is_object();
    let status = if good { "SUCCESS" } else { "FAILURE" };
    Ok((
        StatusCode::OK,
        Json(json!({ "verification_status": status })),
    ))
}

pub async fn start() -> PayPal {
    let tokens = Arc::new(AtomicU64::new(0));
    let counted = tokens.clone();
    let gateway = Gateway::start(move |g| {
        let p = PayPal {
            gateway: g,
            tokens: counted,
        };
        Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders", post(create))
            .route("/v2/checkout/orders/{id}", get(show))
            .route("/v2/checkout/orders/{id}/capture", post(capture))
            .route(
                "/v1/notifications/verify-webhook-signature",
                post(verify_signature),
            )
            .with_state(p)
    })
    .await;
    PayPal { gateway, tokens }
}
