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

/// A state for `account`, and its nonce, which the starting browser keeps in
/// a cookie (`cookie`) so the callback can tell it is the same browser.
pub fn sign(keys: &Keys, provider: Provider, account: &str, now_secs: i64) -> (String, String) {
    let nonce = random_token();
    let state = keys.sign_link(&LinkClaims {
        purpose: purpose(provider),
        account: account.to_owned(),
        exp: now_secs + TTL_SECS,
        nonce: nonce.clone(),
    });
    (state, nonce)
}

/// The cookie binding a flow to the browser that started it: sent back only
/// to this provider's callback, unreadable by scripts, and carried on the
/// provider's top-level redirect (`SameSite=Lax`).
pub fn cookie_name(provider: Provider) -> String {
    format!("di_oauth_{}", provider.as_str())
}

pub fn cookie(provider: Provider, nonce: &str, secure: bool) -> String {
    format!(
        "{}={nonce}; Path=/api/v1/social/{}/callback; Max-Age={TTL_SECS}; HttpOnly; SameSite=Lax{}",
        cookie_name(provider),
        provider.as_str(),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of this provider's binding cookie in a `Cookie` header.
pub fn cookie_value(provider: Provider, header: &str) -> Option<&str> {
    let name = cookie_name(provider);
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
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
    fn the_binding_cookie_is_found_among_others() {
        let set = cookie(Provider::Instagram, "n0nce", true);
        assert!(
            set.starts_with("di_oauth_instagram=n0nce; Path=/api/v1/social/instagram/callback;")
        );
        assert!(set.ends_with("HttpOnly; SameSite=Lax; Secure"));
        let header = "a=1; di_oauth_linkedin=x; di_oauth_instagram=n0nce";
        assert_eq!(cookie_value(Provider::Instagram, header), Some("n0nce"));
        assert_eq!(cookie_value(Provider::Linkedin, header), Some("x"));
        assert_eq!(
            cookie_value(Provider::Linkedin, "di_oauth_linkedinx=1"),
            None
        );
    }

    #[test]
    fn a_state_is_bound_to_its_provider_and_expires() {
        let keys = Keys::new(b"secret");
        let (s, nonce) = sign(&keys, Provider::Linkedin, "a1", 1_000);
        let claims = verify(&keys, Provider::Linkedin, &s, 1_000 + TTL_SECS - 1).unwrap();
        assert_eq!(claims.account, "a1");
        assert_eq!(claims.nonce, nonce);
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
