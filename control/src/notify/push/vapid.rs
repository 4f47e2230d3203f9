//! VAPID (RFC 8292): our identity towards push services. Every request
//! carries a short JWT (ES256) naming the push service's origin, signed with
//! our P-256 key, and that key's public half, which browsers were given as
//! `applicationServerKey` when they subscribed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::SecretKey;
use serde_json::json;

/// A token lives 12 hours: push services refuse more than 24.
const TOKEN_SECS: i64 = 12 * 3600;

pub struct Vapid {
    key: SigningKey,
    /// base64url of the uncompressed public point.
    public: String,
    subject: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the push endpoint is not an absolute http(s) URL")]
pub struct BadEndpoint;

impl Vapid {
    /// From the base64url of the 32-byte private scalar; `None` if it is not one.
    pub fn from_base64url(private: &str, subject: &str) -> Option<Vapid> {
        let secret = SecretKey::from_slice(&B64.decode(private.trim()).ok()?).ok()?;
        let public = B64.encode(secret.public_key().to_encoded_point(false).as_bytes());
        Some(Vapid {
            key: SigningKey::from(secret),
            public,
            subject: subject.to_owned(),
        })
    }

    /// A new private key, base64url.
    pub fn generate_key() -> String {
        B64.encode(super::random_key().to_bytes())
    }

    /// What browsers subscribe with (`applicationServerKey`).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a request to `endpoint` at `now_secs`:
    /// `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, endpoint: &str, now_secs: i64) -> Result<String, BadEndpoint> {
        let url = reqwest::Url::parse(endpoint).map_err(|_| BadEndpoint)?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err(BadEndpoint);
        }
        let header = B64.encode(json!({ "typ": "JWT", "alg": "ES256" }).to_string());
        let claims = B64.encode(
            json!({
                "aud": url.origin().ascii_serialization(),
                "exp": now_secs + TOKEN_SECS,
                "sub": self.subject,
            })
            .to_string(),
        );
        let input = format!("{header}.{claims}");
        // JWS ES256 is the raw r and s, 32 bytes each: what `to_bytes` gives.
        let signature: Signature = self.key.sign(input.as_bytes());
        Ok(format!(
            "vapid t={input}.{}, k={}",
            B64.encode(signature.to_bytes()),
            self.public
        ))
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    use super::*;

    #[test]
    fn the_token_names_the_origin_and_verifies_with_the_public_key() {
        let vapid = Vapid::from_base64url(&Vapid::generate_key(), "mailto:ops@example.tn").unwrap();
        let header = vapid
            .authorization("https://push.example.net:8443/wpush/v2/abc?x=1", 1_000)
            .unwrap();
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(k, vapid.public_key());
        let (input, sig) = t.rsplit_once('.').unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(input.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["exp"], 1_000 + TOKEN_SECS);
        assert_eq!(claims["sub"], "mailto:ops@example.tn");
        let key = VerifyingKey::from_sec1_bytes(&B64.decode(k).unwrap()).unwrap();
        let sig = Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
        key.verify(input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn refuses_what_is_not_a_key_or_an_endpoint() {
        assert!(Vapid::from_base64url("not a key", "mailto:a@b").is_none());
        assert!(Vapid::from_base64url(&B64.encode([0u8; 32]), "mailto:a@b").is_none());
        let vapid = Vapid::from_base64url(&Vapid::generate_key(), "mailto:a@b").unwrap();
        assert_eq!(vapid.authorization("/relative", 0), Err(BadEndpoint));
        assert_eq!(vapid.authorization("mailto:x@y", 0), Err(BadEndpoint));
    }
}
