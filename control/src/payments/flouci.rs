//! Flouci (developers.flouci.com), API v2: `POST /generate_payment` starts a
//! payment (amounts in millimes of TND) and gives the page to pay on;
//! `GET /verify_payment/{payment_id}` says whether it was paid
//! (`success` and `result.status == "SUCCESS"`). Flouci's notification of
//! a one-off payment is not signed, and its shape is not documented beyond
//! carrying the `payment_id`: it only makes us verify. Every call carries
//! `Authorization: Bearer <public key>:<private key>`.

use serde::Deserialize;
use serde_json::json;

use super::http::{client, read, required};
use super::{Charge, Checkout, GatewayError, Verified};
use crate::settings::FlouciSettings;

pub const NAME: &str = "flouci";

pub struct Flouci {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

#[derive(Deserialize)]
struct Answer<T> {
    success: Option<bool>,
    result: T,
}

#[derive(Deserialize)]
struct Generated {
    success: bool,
    payment_id: String,
    link: String,
}

#[derive(Deserialize)]
struct Verification {
    status: String,
    amount: Option<i64>,
}

impl Flouci {
    /// `Err` names the missing setting.
    pub fn new(s: &FlouciSettings) -> Result<Flouci, &'static str> {
        let public = required(&s.public_key, "control.payments.flouci.public_key")?;
        let private = required(&s.private_key, "control.payments.flouci.private_key")?;
        let (http, base) = client("control.payments.flouci", &s.base_url)?;
        Ok(Flouci {
            http,
            base,
            authorization: format!("Bearer {public}:{private}"),
        })
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        let body = json!({
            "amount": charge.amount,
            "accept_card": true,
            "session_timeout_secs": 1800,
            "success_link": charge.return_url,
            "fail_link": charge.return_url,
            "webhook": charge.webhook_url,
            "developer_tracking_id": charge.payment,
        });
        let response = self
            .http
            .post(format!("{}/generate_payment", self.base))
            .header("authorization", &self.authorization)
            .json(&body)
            .send()
            .await;
        let answer: Answer<Generated> = read(NAME, response, flouci_error).await?;
        if !answer.result.success {
            return Err(GatewayError::Refused {
                provider: NAME,
                detail: "generate_payment did not succeed".into(),
            });
        }
        Ok(Checkout {
            provider_ref: answer.result.payment_id,
            url: answer.result.link,
        })
    }

    pub async fn verify(&self, payment_id: &str) -> Result<Verified, GatewayError> {
        let response = self
            .http
            .get(format!("{}/verify_payment/{payment_id}", self.base))
            .header("authorization", &self.authorization)
            .send()
            .await;
        let answer: Answer<Verification> = read(NAME, response, flouci_error).await?;
        let r = answer.result;
        Ok(match (answer.success, r.status.as_str(), r.amount) {
            (Some(true), "SUCCESS", Some(amount)) => Verified::Paid { amount },
            (_, "EXPIRED", _) => Verified::Failed("the payment session expired".into()),
            (_, "FAILURE" | "SYSTEM_FAILURE", _) => Verified::Failed("the payment failed".into()),
            _ => Verified::Pending,
        })
    }
}

/// Flouci does not document its error body; its answers carry `message`
/// or `result.message` when they say anything.
fn flouci_error(body: &serde_json::Value) -> Option<String> {
    body["message"]
        .as_str()
        .or_else(|| body["result"]["message"].as_str())
        .map(str::to_owned)
}
