//! A local server speaking Konnect's gateway API v2 (the parts our adapter
//! uses): `POST /api/v2/payments/init-payment` and
//! `GET /api/v2/payments/{paymentRef}`, both behind the `x-api-key` header,
//! with Konnect's error body `{"errors": [{"code", "target", "message"}]}`.
//! The test drives what Konnect would: a buyer paying, an outage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const API_KEY: &str = "6137ad140c181c5eb44a7f88:Rp2dpHPb0mBpj3_51s86zzp3PXs5w1";
pub const WALLET: &str = "5f7a209aeb3f76490ac4a3d1";

#[derive(Debug, Clone)]
pub struct Payment {
    pub amount: i64,
    pub order_id: String,
    pub webhook: String,
    pub status: &'static str,
    /// What Konnect reports as paid, when not the amount asked.
    pub paid: Option<i64>,
}

#[derive(Default)]
struct Inner {
    payments: HashMap<String, Payment>,
    down: bool,
    next: u64,
}

#[derive(Clone)]
pub struct Konnect {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

fn error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "errors": [{ "code": "error", "target": "", "message": message }] })),
    )
}

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn gate(inner: &Inner, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    if inner.down {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "maintenance"));
    }
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    Ok(())
}

async fn init(State(k): State<Konnect>, headers: HeaderMap, Json(body): Json<Value>) -> Answer {
    let mut inner = k.inner.lock().unwrap();
    gate(&inner, &headers)?;
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
    inner.next += 1;
    let reference = format!("{:024x}", 0x5f94_9873_5289_e405_u64 + inner.next);
    inner.payments.insert(
        reference.clone(),
        Payment {
            amount,
            order_id: body["orderId"].as_str().unwrap_or_default().to_owned(),
            webhook: body["webhook"].as_str().unwrap_or_default().to_owned(),
            status: "pending",
            paid: None,
        },
    );
    Ok(Json(json!({
        "payUrl": format!("{}/pay/{reference}", k.base),
        "paymentRef": reference,
    })))
}

async fn details(
    State(k): State<Konnect>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    let inner = k.inner.lock().unwrap();
    gate(&inner, &headers)?;
    let p = inner
        .payments
        .get(&reference)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Payment not found"))?;
    Ok(Json(json!({ "payment": {
        "id": reference,
        "status": p.status,
        "amount": p.paid.unwrap_or(p.amount),
        "amountDue": if p.status == "completed" { 0 } else { p.amount },
        "reachedAmount": if p.status == "completed" { p.paid.unwrap_or(p.amount) } else { 0 },
        "token": "TND",
        "orderId": p.order_id,
        "type": "immediate",
        "webhook": p.webhook,
        "transactions": [],
    }})))
}

impl Konnect {
    pub async fn start() -> Konnect {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let konnect = Konnect {
            base: format!("http://{}", listener.local_addr().unwrap()),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/api/v2/payments/init-payment", post(init))
            .route("/api/v2/payments/{reference}", get(details))
            .with_state(konnect.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        konnect
    }

    pub fn api_base(&self) -> String {
        format!("{}/api/v2", self.base)
    }

    pub fn payment(&self, reference: &str) -> Payment {
        self.inner.lock().unwrap().payments[reference].clone()
    }

    /// The buyer pays `amount` (the amount asked when `None`).
    pub fn pay(&self, reference: &str, amount: Option<i64>) {
        let mut inner = self.inner.lock().unwrap();
        let p = inner.payments.get_mut(reference).unwrap();
        p.status = "completed";
        p.paid = amount;
    }

    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }
}
