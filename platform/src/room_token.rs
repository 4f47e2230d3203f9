//! Room tokens: HS256 JWTs over `proto::room_token::RoomClaims`. The control
//! plane mints them and the signalling service checks them, each holding the
//! same secret. The signing key is derived from that secret with its own
//! label, so no other token of ours is ever valid as a room token.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use proto::room_token::RoomClaims;
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomTokenError {
    #[error("the room token is malformed or its signature is wrong")]
    Invalid,
    #[error("the room token has expired")]
    Expired,
}

#[derive(Clone)]
pub struct RoomTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl RoomTokens {
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"deepinfluence room token v1");
        let key = mac.finalize().into_bytes();
        RoomTokens {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    pub fn mint(&self, claims: &RoomClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks the signature and shape, then expiry against `now_secs` (the
    /// caller's clock, so tests can move time).
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<RoomClaims, RoomTokenError> {
        let claims = self.verify_signature(token)?;
        if claims.exp <= now_secs {
            return Err(RoomTokenError::Expired);
        }
        Ok(claims)
    }

    /// The claims of a well-signed token, expired or not: a session that
    /// resumes within its grace period may outlive its join token.
    pub fn verify_signature(&self, token: &str) -> Result<RoomClaims, RoomTokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<RoomClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| RoomTokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::sfu::{Role, Source};

    fn claims(exp: i64) -> RoomClaims {
        RoomClaims {
            sub: "alice".into(),
            room: "r1".into(),
            role: Role::Host,
            publish: vec![Source::Camera],
            call: None,
            iat: 0,
            exp,
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let keys = RoomTokens::new(b"0123456789abcdef0123456789abcdef");
        let token = keys.mint(&claims(100));
        assert_eq!(keys.verify(&token, 99).unwrap(), claims(100));
        assert_eq!(keys.verify(&token, 100), Err(RoomTokenError::Expired));
        assert_eq!(keys.verify_signature(&token).unwrap(), claims(100));
    }

    #[test]
    fn another_secret_or_a_changed_payload_is_invalid() {
        let keys = RoomTokens::new(b"0123456789abcdef0123456789abcdef");
        let other = RoomTokens::new(b"fedcba9876543210fedcba9876543210");
        let token = keys.mint(&claims(100));
        assert_eq!(other.verify(&token, 0), Err(RoomTokenError::Invalid));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = other.mint(&RoomClaims {
            room: "r2".into(),
            ..claims(100)
        });
        parts[1] = forged.split('.').nth(1).unwrap();
        assert_eq!(
            keys.verify(&parts.join("."), 0),
            Err(RoomTokenError::Invalid)
        );
        assert_eq!(keys.verify("not a token", 0), Err(RoomTokenError::Invalid));
    }
}
