//! ClicToPay (SMT), the BPC/RBS `payment/rest` API: `register.do` starts a
//! payment (amount in millimes, currency 788 for TND) and gives the page to
//! pay on; `getOrderStatusExtended.do` says whether it was paid
//! (`orderStatus` 2). Credentials go as form parameters on every call.
//! Errors come back as HTTP 200 with a non-zero `errorCode`. No
//! server-to-server notification is documented: the buyer's browser coming
//! back to `returnUrl` is the signal, and reconciliation covers buyers who
//! never come back.

use serde_json::Value;

use super::http::{client, read, required};
use super::{Charge, Checkout, GatewayError, Verified};
use crate::settings::ClicToPaySettings;

pub const NAME: &str = "clictopay";
/// ISO 4217 numeric code of the Tunisian dinar.
const TND: &str = "788";

pub struct ClicToPay {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

/// An `errorCode` as RBS sends it (a string or a number; absent or 0 when
/// there is no error).
fn error_code(v: &Value) -> i64 {
    let code = &v["errorCode"];
    code.as_i64()
        .or_else(|| code.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

impl ClicToPay {
    /// `Err` names the missing setting.
    pub fn new(s: &ClicToPaySettings) -> Result<ClicToPay, &'static str> {
        let user = required(&s.user_name, "control.payments.clictopay.user_name")?;
        let password = required(&s.password, "control.payments.clictopay.password")?;
        let (http, base) = client("control.payments.clictopay", &s.base_url)?;
        Ok(ClicToPay {
            http,
            base,
            user,
            password,
        })
    }

    async fn call(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, GatewayError> {
        let mut form = vec![
            ("userName", self.user.as_str()),
            ("password", self.password.as_str()),
        ];
        form.extend_from_slice(params);
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .form(&form)
            .send()
            .await;
        let v: Value = read(NAME, response, |v| {
            v["errorMessage"].as_str().map(str::to_owned)
        })
        .await?;
        match error_code(&v) {
            0 => Ok(v),
            // 7: the gateway's own system error.
            7 => Err(GatewayError::Unavailable {
                provider: NAME,
                detail: v["errorMessage"]
                    .as_str()
                    .unwrap_or("system error")
                    .to_owned(),
            }),
            code => Err(GatewayError::Refused {
                provider: NAME,
                detail: format!(
                    "errorCode {code}: {}",
                    v["errorMessage"].as_str().unwrap_or_default()
                ),
            }),
        }
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        // orderNumber is at most 32 characters: the payment id without dashes.
        let order = charge.payment.replace('-', "");
        let amount = charge.amount.to_string();
        let v = self
            .call(
                "register.do",
                &[
                    ("orderNumber", &order),
                    ("amount", &amount),
                    ("currency", TND),
                    ("returnUrl", &charge.return_url),
                    ("failUrl", &charge.return_url),
                    ("description", &charge.description),
                    ("language", "fr"),
                ],
            )
            .await?;
        match (v["orderId"].as_str(), v["formUrl"].as_str()) {
            (Some(id), Some(url)) => Ok(Checkout {
                provider_ref: id.to_owned(),
                url: url.to_owned(),
            }),
            _ => Err(GatewayError::Unavailable {
                provider: NAME,
                detail: "register.do answered without orderId and formUrl".into(),
            }),
        }
    }

    pub async fn verify(&self, order_id: &str) -> Result<Verified, GatewayError> {
        let v = self
            .call("getOrderStatusExtended.do", &[("orderId", order_id)])
            .await?;
        let status = v["orderStatus"].as_i64().unwrap_or(0);
        let currency = v["currency"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| v["currency"].as_i64().map(|c| c.to_string()));
        Ok(match (status, v["amount"].as_i64()) {
            (2, Some(amount)) if currency.as_deref().unwrap_or(TND) == TND => {
                Verified::Paid { amount }
            }
            (2, _) => Verified::Failed("paid in another currency or amount unknown".into()),
            (3, _) => Verified::Failed("the authorisation was cancelled".into()),
            (4, _) => Verified::Failed("the payment was refunded".into()),
            (6, _) => Verified::Failed("the authorisation was refused".into()),
            _ => Verified::Pending,
        })
    }
}
