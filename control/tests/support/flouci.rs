//! A local server speaking Flouci's API v2 (the parts our adapter uses):
//! `POST /api/v2/generate_payment` and `GET /api/v2/verify_payment/{id}`,
//! both behind `Authorization: Bearer <public>:<private>`, answering in
//! Flouci's `{"result": ..., "success": ...}` envelope.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::gateway::{Gateway, Payment};

pub const PUBLIC: &str = "2d5b4f0e-7b1f-4c61-a8a4-0a9f6f1f2b11";
pub const PRIVATE: &str = "8a1c9e2f-3d4b-4e5f-9a6b-7c8d9e0f1a2b";

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "success": false, "message": message })),
    )
}

fn gate(f: &Gateway, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    if f.is_down() {
        return Err(error(StatusCode::BAD_GATEWAY, "upstream error"));
    }
    let expected = format!("Bearer {PUBLIC}:{PRIVATE}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, "Invalid credentials"));
    }
    Ok(())
}

async fn generate(State(f): State<Gateway>, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    gate(&f, &headers)?;
    let Some(amount) = body["amount"].as_i64().filter(|a| *a > 0) else {
        return Err(error(StatusCode::BAD_REQUEST, "amount is required"));
    };
    let payment = Payment {
        amount,
        order_id: body["developer_tracking_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        webhook: body["webhook"].as_str().unwrap_or_default().to_owned(),
        return_url: body["success_link"].as_str().unwrap_or_default().to_owned(),
        paid: false,
        paid_amount: None,
        captured: false,
    };
    let id = f.open(payment, |n| format!("FoPKKHqfQIKfBqhEj8M4{n:02}"));
    Ok(Json(json!({
        "result": {
            "success": true,
            "payment_id": id,
            "link": format!("{}/pay/{id}", f.base),
            "developer_tracking_id": body["developer_tracking_id"],
        },
        "name": "developers", "code": 0, "version": "v2",
    })))
}

async fn verify(State(f): State<Gateway>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    gate(&f, &headers)?;
    let p = f
        .payment(&id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "payment not found"))?;
    Ok(Json(json!({
        "success": true,
        "result": {
            "type": "card",
            "amount": p.reported_amount(),
            "status": if p.paid { "SUCCESS" } else { "PENDING" },
            "developer_tracking_id": p.order_id,
            "details": { "currency": "788" },
        },
        "status_code": 200, "name": "developers", "code": 0, "version": "2.0.0",
    })))
}

pub async fn start() -> Gateway {
    Gateway::start(|f| {
        Router::new()
            .route("/api/v2/generate_payment", post(generate))
            .route("/api/v2/verify_payment/{id}", get(verify))
            .with_state(f)
    })
    .await
}
