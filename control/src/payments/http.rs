//! What every provider adapter shares: its HTTP client, its required
//! settings, and what it does with an answer: a server error or no answer
//! is `Unavailable` (try again later), another error status is `Refused`
//! with the provider's own message, a success is parsed.

use std::time::Duration;

use super::GatewayError;

/// The client an adapter calls its provider with, and the provider's API
/// base without a trailing slash. `Err` names the setting at fault.
pub fn client(
    section: &'static str,
    base_url: &str,
) -> Result<(reqwest::Client, String), &'static str> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|_| section)?;
    Ok((http, base_url.trim_end_matches('/').to_owned()))
}

/// A setting the adapter cannot work without; `Err` names it.
pub fn required(value: &Option<String>, key: &'static str) -> Result<String, &'static str> {
    value.clone().ok_or(key)
}

pub async fn read<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    response: Result<reqwest::Response, reqwest::Error>,
    message: fn(&serde_json::Value) -> Option<String>,
) -> Result<T, GatewayError> {
    let unavailable = |detail: String| GatewayError::Unavailable { provider, detail };
    let response = response.map_err(|e| unavailable(e.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if status.is_server_error() {
        return Err(unavailable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        let said = serde_json::from_str(&text)
            .ok()
            .and_then(|v| message(&v))
            .unwrap_or_default();
        return Err(GatewayError::Refused {
            provider,
            detail: format!("HTTP {status} {said}").trim_end().to_owned(),
        });
    }
    serde_json::from_str(&text).map_err(|e| unavailable(format!("unreadable answer: {e}")))
}
