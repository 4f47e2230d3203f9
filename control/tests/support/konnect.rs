//! A local server speaking Konnect's gateway API v2 (the parts our adapter
//! uses): `POST /api/v2/payments/init-payment` and
//! `GET /api/v2/payments/{paymentRef}`, both behind the `x-api-key` header,
//! with Konnect's error body `{"errors": [{"code", "target", "message"}]}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::gateway::{Gateway, Payment};

pub const API_KEY: &str = "6137ad140c181c5eb44a7f88:Rp2dpHPb0mBpj3_51s86zzp3PXs5w1";
pub const WALLET: &str = "5f7a209aeb3f76490ac4a3d1";

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "errors": [{ "code": "error", "target": "", "message": message }] })),
    )
}

fn gate(k: &Gateway, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    if k.is_down() {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "maintenance"));
    }
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    Ok(())
}

async fn init(State(k): State<Gateway>, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    gate(&k, &headers)?;
    let amount = body["amount"].as_i64().filter(|a| *a > 0);
    let (Some(amount), Some(WALLET), Some("TND")) = (
        amount,
        body["receiverWalletId"].as_str(),
        body["token"].as_str(),
    ) else {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid payment request",
        ));
    };
    let payment = Payment {
        amount,
        order_id: body["orderId"].as_str().unwrap_or_default().to_owned(),
        webhook: body["webhook"].as_str().unwrap_or_default().to_owned(),
        return_url: body["successUrl"].as_str().unwrap_or_default().to_owned(),
        paid: false,
        paid_amount: None,
        captured: false,
    };
    let reference = k.open(payment, |n| {
        format!("{:024x}", 0x5f94_9873_5289_e405_u64 + n)
    });
    Ok(Json(json!({
        "payUrl": format!("{}/pay/{reference}", k.base),
        "paymentRef": reference,
    })))
}

async fn details(
    State(k): State<Gateway>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    gate(&k, &headers)?;
    let p = k
        .payment(&reference)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Payment not found"))?;
    let status = if p.paid { "completed" } else { "pending" };
    Ok(Json(json!({ "payment": {
        "id": reference,
        "status": status,
        "amount": p.reported_amount(),
        "amountDue": if p.paid { 0 } else { p.amount },
        "reachedAmount": if p.paid { p.reported_amount() } else { 0 },
        "token": "TND",
        "orderId": p.order_id,
        "type": "immediate",
        "webhook": p.webhook,
        "transactions": [],
    }})))
}

pub async fn start() -> Gateway {
    Gateway::start(|k| {
        Router::new()
            .route("/api/v2/payments/init-payment", post(init))
            .route("/api/v2/payments/{reference}", get(details))
            .with_state(k)
    })
    .await
}
