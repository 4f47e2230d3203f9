//! PayPal, REST Orders v2. An OAuth client-credentials token (cached until
//! shortly before it expires) authorises every call. `POST /v2/checkout/orders`
//! starts an order; the buyer approves it on PayPal's page; we capture it
//! (`POST .../capture`) the first time we see it approved, whether on the
//! buyer's return, from a webhook or by reconciliation. Paid means the capture's
//! own status is `COMPLETED` for the amount asked.
//!
//! PayPal has no Tunisian dinar: the price is charged in `currency` at the
//! configured rate (`millimes_per_unit`), rounded up to the cent.
//! Webhooks are checked with PayPal's `verify-webhook-signature` call before
//! they may even make us look.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::http::{client, read, required};
use super::{Charge, Checkout, GatewayError, Verified};
use crate::settings::PayPalSettings;

pub const NAME: &str = "paypal";

pub struct PayPal {
    http: reqwest::Client,
    base: String,
    client_id: String,
    secret: String,
    webhook_id: Option<String>,
    currency: String,
    millimes_per_unit: i64,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: u64,
}

/// PayPal's errors: `{"name", "message", "debug_id", "details": [{"issue"}]}`.
fn paypal_error(v: &Value) -> Option<String> {
    let issue = v["details"][0]["issue"].as_str().unwrap_or_default();
    let name = v["name"].as_str()?;
    Some(format!(
        "{name} {issue} (debug_id {})",
        v["debug_id"].as_str().unwrap_or("-")
    ))
}

impl PayPal {
    /// `Err` names the missing or impossible setting.
    pub fn new(s: &PayPalSettings) -> Result<PayPal, &'static str> {
        let client_id = required(&s.client_id, "control.payments.paypal.client_id")?;
        let secret = required(&s.client_secret, "control.payments.paypal.client_secret")?;
        if s.millimes_per_unit <= 0 {
            return Err("control.payments.paypal.millimes_per_unit");
        }
        if s.currency.len() != 3 || !s.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("control.payments.paypal.currency");
        }
        let (http, base) = client("control.payments.paypal", &s.base_url)?;
        Ok(PayPal {
            http,
            base,
            client_id,
            secret,
            webhook_id: s.webhook_id.clone(),
            currency: s.currency.clone(),
            millimes_per_unit: s.millimes_per_unit,
            token: Mutex::new(None),
        })
    }

    /// The price in `currency`, rounded up to the cent: "12.35".
    pub fn charge_of(&self, millimes: i64) -> String {
        let cents = (millimes * 100 + self.millimes_per_unit - 1) / self.millimes_per_unit;
        format!("{}.{:02}", cents / 100, cents % 100)
    }

    async fn token(&self) -> Result<String, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let t: Token = read(NAME, response, paypal_error).await?;
        // A minute early, so no call goes out with a token about to lapse.
        let until = Instant::now() + Duration::from_secs(t.expires_in.saturating_sub(60));
        *cached = Some((t.access_token.clone(), until));
        Ok(t.access_token)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        request_id: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token().await?);
        if let Some(id) = request_id {
            request = request.header("PayPal-Request-Id", id);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(NAME, request.send().await, paypal_error).await
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": charge.payment,
                "custom_id": charge.payment,
                "description": charge.description,
                "amount": { "currency_code": self.currency, "value": self.charge_of(charge.amount) },
            }],
            "payment_source": { "paypal": { "experience_context": {
                "return_url": charge.return_url,
                "cancel_url": charge.return_url,
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
                "brand_name": "DeepInfluence",
            }}},
        });
        let order = self
            .call(
                reqwest::Method::POST,
                "/v2/checkout/orders",
                Some(body),
                Some(&charge.payment),
            )
            .await?;
        let approve = order["links"].as_array().and_then(|links| {
            links
                .iter()
                .find(|l| matches!(l["rel"].as_str(), Some("approve" | "payer-action")))
                .and_then(|l| l["href"].as_str())
        });
        match (order["id"].as_str(), approve) {
            (Some(id), Some(url)) => Ok(Checkout {
                provider_ref: id.to_owned(),
                url: url.to_owned(),
            }),
            _ => Err(GatewayError::Unavailable {
                provider: NAME,
                detail: "the order came back without an id or an approval link".into(),
            }),
        }
    }

    /// Where the order stands; an approved order is captured first.
    pub async fn verify(&self, order_id: &str, price: i64) -> Result<Verified, GatewayError> {
        let path = format!("/v2/checkout/orders/{order_id}");
        let mut order = self.call(reqwest::Method::GET, &path, None, None).await?;
        if order["status"] == "APPROVED" {
            let capture = format!("{path}/capture");
            let request_id = format!("capture-{order_id}");
            order = self
                .call(
                    reqwest::Method::POST,
                    &capture,
                    Some(json!({})),
                    Some(&request_id),
                )
                .await?;
        }
        let captured = &order["purchase_units"][0]["payments"]["captures"][0];
        Ok(
            match (order["status"].as_str(), captured["status"].as_str()) {
                (Some("COMPLETED"), Some("COMPLETED")) => {
                    let amount = &captured["amount"];
                    let asked = self.charge_of(price);
                    let paid = (amount["currency_code"].as_str(), amount["value"].as_str());
                    if paid == (Some(self.currency.as_str()), Some(asked.as_str())) {
                        // The charge for exactly this price: paid in full.
                        Verified::Paid { amount: price }
                    } else {
                        Verified::Mismatch(format!(
                            "paid {} {}, expected {asked} {}",
                            paid.1.unwrap_or("?"),
                            paid.0.unwrap_or("?"),
                            self.currency
                        ))
                    }
                }
                (_, Some("DECLINED" | "FAILED")) => {
                    Verified::Failed("the capture was declined".into())
                }
                (Some("VOIDED"), _) => Verified::Failed("the order was voided".into()),
                _ => Verified::Pending,
            },
        )
    }

    /// Whether PayPal vouches for a webhook (its `verify-webhook-signature`
    /// call), given its headers and raw body.
    pub async fn authentic(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<bool, GatewayError> {
        let Some(webhook_id) = &self.webhook_id else {
            return Ok(false);
        };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let Ok(event) = serde_json::from_slice::<&serde_json::value::RawValue>(body) else {
            return Ok(false);
        };
        let check = json!({
            "auth_algo": header("paypal-auth-algo"),
            "cert_url": header("paypal-cert-url"),
            "transmission_id": header("paypal-transmission-id"),
            "transmission_sig": header("paypal-transmission-sig"),
            "transmission_time": header("paypal-transmission-time"),
            "webhook_id": webhook_id,
            "webhook_event": event,
        });
        let answer = self
            .call(
                reqwest::Method::POST,
                "/v1/notifications/verify-webhook-signature",
                Some(check),
                None,
            )
            .await?;
        Ok(answer["verification_status"] == "SUCCESS")
    }
}

/// The order a webhook event is about: the resource itself for order
/// events, the capture's order for capture events.
pub fn order_of(event: &Value) -> Option<String> {
    let resource = &event["resource"];
    let id = match event["event_type"].as_str()? {
        t if t.starts_with("CHECKOUT.ORDER.") => resource["id"].as_str(),
        _ => resource["supplementary_data"]["related_ids"]["order_id"].as_str(),
    };
    id.map(str::to_owned)
}
