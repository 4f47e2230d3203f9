//! A local server speaking ClicToPay's `payment/rest` API (the parts our
//! adapter uses): `register.do` and `getOrderStatusExtended.do`, form
//! parameters with the merchant's `userName` and `password`, errors as
//! HTTP 200 with a non-zero `errorCode`.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use crate::gateway::{Gateway, Payment};

pub const USER: &str = "deepinfluence-api";
pub const PASSWORD: &str = "Xq7!tunis-2026";

fn failure(code: &str, message: &str) -> Json<Value> {
    Json(json!({ "errorCode": code, "errorMessage": message }))
}

fn gate(c: &Gateway, form: &HashMap<String, String>) -> Result<(), Json<Value>> {
    if c.is_down() {
        return Err(failure("7", "Erreur système"));
    }
    let given = (form.get("userName"), form.get("password"));
    if given != (Some(&USER.to_owned()), Some(&PASSWORD.to_owned())) {
        return Err(failure("5", "Accès refusé"));
    }
    Ok(())
}

async fn register(
    State(c): State<Gateway>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = gate(&c, &form) {
        return e;
    }
    let amount = form.get("amount").and_then(|a| a.parse::<i64>().ok());
    let order = form
        .get("orderNumber")
        .filter(|o| !o.is_empty() && o.len() <= 32);
    let (Some(amount), Some(order), Some("788")) =
        (amount, order, form.get("currency").map(String::as_str))
    else {
        return failure("4", "Paramètre obligatoire manquant");
    };
    let payment = Payment {
        amount,
        order_id: order.clone(),
        webhook: String::new(),
        return_url: form.get("returnUrl").cloned().unwrap_or_default(),
        paid: false,
        paid_amount: None,
        captured: false,
    };
    let id = c.open(payment, |n| {
        format!("70906e55-7114-41d6-8332-4609dc6590{n:02}")
    });
    Json(json!({
        "orderId": id,
        "formUrl": format!("{}/payment/merchants/pay/payment_fr.html?mdOrder={id}", c.base),
    }))
}

async fn status(
    State(c): State<Gateway>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = gate(&c, &form) {
        return e;
    }
    let Some(p) = form.get("orderId").and_then(|id| c.payment(id)) else {
        return failure("6", "Numéro de commande non enregistré");
    };
    Json(json!({
        "errorCode": "0",
        "errorMessage": "Succès",
        "orderNumber": p.order_id,
        "orderStatus": if p.paid { 2 } else { 0 },
        "actionCode": 0,
        "amount": p.reported_amount(),
        "currency": "788",
    }))
}

pub async fn start() -> Gateway {
    Gateway::start(|c| {
        Router::new()
            .route("/payment/rest/register.do", post(register))
            .route("/payment/rest/getOrderStatusExtended.do", post(status))
            .with_state(c)
    })
    .await
}
