//! Konnect (konnect.network), gateway API v2: `POST /payments/init-payment`
//! starts a payment (amounts in millimes of TND) and gives the page to pay
//! on; Konnect then calls our webhook with `GET ?payment_ref=`, unsigned,
//! and `GET /payments/{paymentRef}` says whether it was paid
//! (`payment.status == "completed"`; "pending" covers both not yet paid and
//! failed attempts). Every call carries the `x-api-key` header.

use serde::Deserialize;
use serde_json::json;

use super::http::{client, read, required};
use super::{Charge, Checkout, GatewayError, Verified};
use crate::settings::KonnectSettings;

pub const NAME: &str = "konnect";

pub struct Konnect {
    http: reqwest::Client,
    base: String,
    api_key: String,
    wallet: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    pay_url: String,
    payment_ref: String,
}

#[derive(Deserialize)]
struct Details {
    payment: Payment,
}

#[derive(Deserialize)]
struct Payment {
    status: String,
    amount: i64,
    token: Option<String>,
}

impl Konnect {
    /// `Err` names the missing setting.
    pub fn new(s: &KonnectSettings) -> Result<Konnect, &'static str> {
        let api_key = required(&s.api_key, "control.payments.konnect.api_key")?;
        let wallet = required(&s.wallet_id, "control.payments.konnect.wallet_id")?;
        let (http, base) = client("control.payments.konnect", &s.base_url)?;
        Ok(Konnect {
            http,
            base,
            api_key,
            wallet,
        })
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        let body = json!({
            "receiverWalletId": self.wallet,
            "token": "TND",
            "amount": charge.amount,
            "type": "immediate",
            "description": charge.description,
            "acceptedPaymentMethods": ["wallet", "bank_card", "e-DINAR"],
            "lifespan": 60,
            "orderId": charge.payment,
            "webhook": charge.webhook_url,
            "successUrl": charge.return_url,
            "failUrl": charge.return_url,
        });
        let response = self
            .http
            .post(format!("{}/payments/init-payment", self.base))
            .header("x-api-key", &self.api_key)
            .json(&body)
            .send()
            .await;
        let started: Started = read(NAME, response, konnect_error).await?;
        Ok(Checkout {
            provider_ref: started.payment_ref,
            url: started.pay_url,
        })
    }

    pub async fn verify(&self, payment_ref: &str) -> Result<Verified, GatewayError> {
        let response = self
            .http
            .get(format!("{}/payments/{payment_ref}", self.base))
            .header("x-api-key", &self.api_key)
            .send()
            .await;
        let details: Details = read(NAME, response, konnect_error).await?;
        let p = details.payment;
        Ok(match p.status.as_str() {
            "completed" if p.token.as_deref().unwrap_or("TND") == "TND" => {
                Verified::Paid { amount: p.amount }
            }
            "completed" => {
                Verified::Failed(format!("paid in {}, not TND", p.token.unwrap_or_default()))
            }
            "expired" => Verified::Failed("the payment link expired".into()),
            _ => Verified::Pending,
        })
    }
}

/// Konnect's errors are `{"errors": [{"code", "target", "message"}]}`, or
/// no body at all.
fn konnect_error(body: &serde_json::Value) -> Option<String> {
    body["errors"][0]["message"].as_str().map(str::to_owned)
}
