//! What every provider adapter does with an HTTP answer: a server error or
//! no answer is `Unavailable` (try again later), another error status is
//! `Refused` with the provider's own message, a success is parsed.

use super::GatewayError;

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
