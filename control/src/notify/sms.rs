//! SMS through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//! a form with `To`, `Body` and `From` (or `MessagingServiceSid`), HTTP basic
//! authentication with the account SID and auth token; 201 with the
//! message's `sid`, or an error body `{code, message, status}`.

use std::time::Duration;

use platform::config::ConfigError;
use serde::Deserialize;

use super::retry::Failure;
use crate::settings::SmsSettings;

pub struct Sms {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: String,
    from: String,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct Refusal {
    code: Option<i64>,
    message: Option<String>,
}

impl Sms {
    /// `None` when SMS is not configured (no SID, token or sender).
    pub fn new(settings: &SmsSettings, timeout: Duration) -> Result<Option<Sms>, ConfigError> {
        let (Some(sid), Some(token), Some(from)) =
            (&settings.account_sid, &settings.auth_token, &settings.from)
        else {
            return Ok(None);
        };
        let base = settings.base_url.trim_end_matches('/');
        reqwest::Url::parse(base)
            .map_err(|e| ConfigError::key("control.notify.sms.base_url", e))?;
        Ok(Some(Sms {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| ConfigError::key("control.notify.sms", e))?,
            messages_url: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
            account_sid: sid.clone(),
            auth_token: token.clone(),
            from: from.clone(),
        }))
    }

    /// Sends `body` to `to` (E.164); the provider's message id.
    pub async fn send(&self, to: &str, body: &str) -> Result<String, Failure> {
        // A Messaging Service picks the sender itself.
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[("To", to), ("Body", body), (sender, self.from.as_str())])
            .send()
            .await
            .map_err(|e| Failure::Transient(format!("SMS provider unreachable: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Transient(format!("SMS provider answer lost: {e}")))?;
        if status.is_success() {
            return serde_json::from_str::<Created>(&text)
                .map(|c| c.sid)
                .map_err(|e| Failure::Transient(format!("unreadable SMS provider answer: {e}")));
        }
        let said = serde_json::from_str::<Refusal>(&text)
            .ok()
            .map(|r| {
                format!(
                    "{} {}",
                    r.code.map(|c| c.to_string()).unwrap_or_default(),
                    r.message.unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let detail = format!("SMS provider answered {status}: {}", said.trim());
        // Credentials refused are ours to fix: retried, so messages wait
        // for the fix rather than being dropped at once.
        Err(match status.as_u16() {
            401 | 403 | 408 | 429 | 500..=599 => Failure::Transient(detail),
            _ => Failure::Permanent(detail),
        })
    }
}
