//! Web push (RFC 8030): a notification POSTed to the push service behind a
//! browser's subscription, encrypted for that browser (`ece.rs`) and signed
//! as ours (`vapid.rs`).

pub mod ece;
pub mod vapid;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::SecretKey;
use sha2::{Digest, Sha256};

use super::retry::Failure;
pub use vapid::Vapid;

/// A browser's subscription, as it gave it.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub endpoint: String,
    /// base64url of the browser's P-256 public key.
    pub p256dh: String,
    /// base64url of its 16-byte authentication secret.
    pub auth: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The subscription no longer exists (404, 410): forget it.
    #[error("the subscription has expired")]
    Gone,
    #[error(transparent)]
    Failed(#[from] Failure),
}

pub struct WebPush {
    http: reqwest::Client,
    vapid: Vapid,
    ttl_secs: u64,
}

impl WebPush {
    pub fn new(vapid: Vapid, ttl: Duration, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(WebPush {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            vapid,
            ttl_secs: ttl.as_secs(),
        })
    }

    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Sends `payload` to `to`. `id` names the message: its hash is the
    /// `Topic`, so a push service holding an undelivered copy (a retry after
    /// a lost answer) replaces it rather than delivering both.
    pub async fn send(
        &self,
        to: &Subscription,
        payload: &[u8],
        id: &str,
        now_secs: i64,
    ) -> Result<(), PushError> {
        let permanent = |m: String| PushError::Failed(Failure::Permanent(m));
        let key = B64
            .decode(to.p256dh.trim_end_matches('='))
            .map_err(|_| permanent("p256dh is not base64url".into()))?;
        let auth = B64
            .decode(to.auth.trim_end_matches('='))
            .map_err(|_| permanent("auth is not base64url".into()))?;
        // A fresh sender key and salt for every message.
        let body = ece::encrypt(payload, &key, &auth, &random_key(), &rand::random())
            .map_err(|e| permanent(e.to_string()))?;
        let authorization = self
            .vapid
            .authorization(&to.endpoint, now_secs)
            .map_err(|e| permanent(e.to_string()))?;
        let response = self
            .http
            .post(&to.endpoint)
            .header("Authorization", authorization)
            .header("TTL", self.ttl_secs)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Urgency", "normal")
            .header("Topic", topic(id))
            .body(body)
            .send()
            .await
            // Without the URL: it is the browser's capability.
            .map_err(|e| {
                PushError::Failed(Failure::Transient(format!(
                    "push service unreachable: {}",
                    e.without_url()
                )))
            })?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            404 | 410 => Err(PushError::Gone),
            408 | 429 | 500..=599 => Err(PushError::Failed(Failure::Transient(format!(
                "push service answered {status}"
            )))),
            _ => Err(permanent(format!("push service refused: {status}"))),
        }
    }
}

/// A new random P-256 key.
fn random_key() -> SecretKey {
    // Nearly every 32 bytes are a valid scalar (all but about 2^-32).
    loop {
        if let Ok(key) = SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            return key;
        }
    }
}

/// RFC 8030 topics are at most 32 characters of the base64url alphabet.
fn topic(id: &str) -> String {
    B64.encode(Sha256::digest(id.as_bytes()))[..32].to_owned()
}

/// Whether `endpoint` is a push service we may POST to: https (or http when
/// allowed) to one of `hosts` or a subdomain of one.
pub fn endpoint_allowed(endpoint: &str, hosts: &[String], allow_http: bool) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    scheme_ok
        && url.username().is_empty()
        && hosts.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            host == h || host.ends_with(&format!(".{h}"))
        })
}

/// Whether the browser's keys can be encrypted to: a P-256 point and a
/// 16-byte secret, base64url (padded or not).
pub fn keys_valid(p256dh: &str, auth: &str) -> (bool, bool) {
    let key = B64
        .decode(p256dh.trim_end_matches('='))
        .ok()
        .is_some_and(|k| p256::PublicKey::from_sec1_bytes(&k).is_ok());
    let secret = B64
        .decode(auth.trim_end_matches('='))
        .ok()
        .is_some_and(|a| a.len() == 16);
    (key, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_push_services_over_https() {
        let hosts = vec!["fcm.googleapis.com".to_owned(), "push.apple.com".to_owned()];
        let ok = |e: &str| endpoint_allowed(e, &hosts, false);
        assert!(ok("https://fcm.googleapis.com/fcm/send/abc"));
        assert!(ok("https://web.push.apple.com/QGuQ"));
        assert!(!ok("http://fcm.googleapis.com/fcm/send/abc"));
        assert!(!ok("https://evilpush.apple.com.example/x"));
        assert!(!ok("https://notpush.apple.com/x"));
        assert!(!ok("https://user@fcm.googleapis.com/x"));
        assert!(!ok("https://127.0.0.1/x"));
        assert!(!ok("not a url"));
        assert!(endpoint_allowed(
            "http://127.0.0.1:9000/push/1",
            &["127.0.0.1".to_owned()],
            true
        ));
    }
}
