//! Signed tokens. Access tokens are short-lived HS256 JWTs; emailed links carry
//! an HMAC-signed payload. Both keys derive from the one configured secret
//! with a label each, so a token of one kind is never valid as the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::Role;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    access_enc: EncodingKey,
    access_dec: DecodingKey,
    link: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// The session (refresh-token family) this token belongs to.
    pub sid: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

/// What an emailed link proves: that whoever holds it received the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    pub account: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Unique per link, so a single-use link can be marked used.
    pub nonce: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is wrong")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

fn derive(secret: &[u8], label: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl Keys {
    pub fn new(secret: &[u8]) -> Self {
        let access = derive(secret, "deepinfluence access token v1");
        Keys {
            access_enc: EncodingKey::from_secret(&access),
            access_dec: DecodingKey::from_secret(&access),
            link: derive(secret, "deepinfluence signed link v1"),
        }
    }

    pub fn issue_access(&self, claims: &AccessClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.access_enc)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks the signature, then expiry against `now_secs` (our clock, not the
    /// library's, so tests can move time).
    pub fn verify_access(&self, token: &str, now_secs: i64) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.access_dec, &validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.exp <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    pub fn sign_link(&self, claims: &LinkClaims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).expect("plain struct serialises"));
        let mut mac = HmacSha256::new_from_slice(&self.link).expect("any key length");
        mac.update(payload.as_bytes());
        format!("{payload}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    pub fn verify_link(
        &self,
        token: &str,
        purpose: &str,
        now_secs: i64,
    ) -> Result<LinkClaims, TokenError> {
        let (payload, sig) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Invalid)?;
        let mut mac = HmacSha256::new_from_slice(&self.link).expect("any key length");
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        let claims: LinkClaims = B64
            .decode(payload)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or(TokenError::Invalid)?;
        if claims.purpose != purpose {
            return Err(TokenError::Invalid);
        }
        if claims.exp <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// 256 random bits, URL-safe: refresh tokens, nonces, generated secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Refresh tokens are stored only as this digest, so a database leak does not
/// leak usable tokens.
pub fn digest(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(exp: i64) -> LinkClaims {
        LinkClaims {
            purpose: "verify_email".into(),
            account: "a1".into(),
            exp,
            nonce: "n".into(),
        }
    }

    #[test]
    fn links_verify_and_refuse_tampering_expiry_and_other_purposes() {
        let keys = Keys::new(b"secret");
        let token = keys.sign_link(&link(100));
        assert_eq!(
            keys.verify_link(&token, "verify_email", 99)
                .unwrap()
                .account,
            "a1"
        );
        assert_eq!(
            keys.verify_link(&token, "verify_email", 100),
            Err(TokenError::Expired)
        );
        assert_eq!(
            keys.verify_link(&token, "reset_password", 99),
            Err(TokenError::Invalid)
        );
        let forged = keys.sign_link(&LinkClaims {
            account: "a2".into(),
            ..link(100)
        });
        let spliced = format!(
            "{}.{}",
            forged.split('.').next().unwrap(),
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(
            keys.verify_link(&spliced, "verify_email", 99),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            Keys::new(b"other").verify_link(&token, "verify_email", 99),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys.verify_link("garbage", "verify_email", 99),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn access_tokens_expire_by_our_clock_and_keys_are_separated() {
        let keys = Keys::new(b"secret");
        let claims = AccessClaims {
            sub: "a".into(),
            sid: "s".into(),
            role: Role::User,
            iat: 0,
            exp: 50,
        };
        let t = keys.issue_access(&claims);
        assert_eq!(keys.verify_access(&t, 49).unwrap(), claims);
        assert_eq!(keys.verify_access(&t, 50), Err(TokenError::Expired));
        assert_eq!(
            Keys::new(b"other").verify_access(&t, 49),
            Err(TokenError::Invalid)
        );
        // A signed link is not an access token, even with the same secret.
        assert_eq!(
            keys.verify_access(&keys.sign_link(&link(100)), 0),
            Err(TokenError::Invalid)
        );
    }
}
