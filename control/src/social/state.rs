//! The OAuth `state`: a signed link claim (the same HMAC as emailed links)
//! naming the account that started the flow, purpose-bound to one provider,
//! valid ten minutes. The callback has no sign-in, so the state is what says
//! whose profile a provider account is linked to; its nonce makes it single
//! use (`auth::links::spend`).

use super::{Provider, SocialError};
use crate::auth::tokens::{random_token, Keys, LinkClaims};

/// Long enough to sign in at the provider, short enough that a leaked
/// authorize URL is soon useless.
pub const TTL_SECS: i64 = 10 * 60;

fn purpose(provider: Provider) -> String {
    format!("social_link_{}", provider.as_str())
}

pub fn sign(keys: &Keys, provider: Provider, account: &str, now_secs: i64) -> String {
    keys.sign_link(&LinkClaims {
        purpose: purpose(provider),
        account: account.to_owned(),
        exp: now_secs + TTL_SECS,
        nonce: random_token(),
    })
}

/// The claims of a state signed by `sign` for `provider`, not expired.
/// Whether it was already used is the caller's check.
pub fn verify(
    keys: &Keys,
    provider: Provider,
    state: &str,
    now_secs: i64,
) -> Result<LinkClaims, SocialError> {
    keys.verify_link(state, &purpose(provider), now_secs)
        .map_err(|_| SocialError::InvalidState)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_bound_to_its_provider_and_expires() {
        let keys = Keys::new(b"secret");
        let s = sign(&keys, Provider::Linkedin, "a1", 1_000);
        let claims = verify(&keys, Provider::Linkedin, &s, 1_000 + TTL_SECS - 1).unwrap();
        assert_eq!(claims.account, "a1");
        assert!(verify(&keys, Provider::Instagram, &s, 1_000).is_err());
        assert!(verify(&keys, Provider::Linkedin, &s, 1_000 + TTL_SECS).is_err());
        // An emailed link is not a state, even signed with the same key.
        let link = keys.sign_link(&LinkClaims {
            purpose: "reset_password".into(),
            account: "a1".into(),
            exp: 2_000,
            nonce: "n".into(),
        });
        assert!(verify(&keys, Provider::Linkedin, &link, 1_000).is_err());
    }
}
