//! The sans-IO half of the flow: the authorize URL, and reading what the
//! providers answer. `client.rs` does the calls.

use reqwest::Url;
use serde_json::Value;

use super::{Profile, ProfileShape};

/// The provider's page where the person signs in and consents, which sends
/// the browser back to `redirect_uri` with `code` and `state`.
pub fn authorize_url(
    endpoint: &Url,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
) -> String {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state);
    url.into()
}

/// Whether an `error` the provider sent the browser back with is the person
/// saying no (OAuth's `access_denied`; LinkedIn also says it its own way) or
/// something a person cannot fix (a bad scope or client: ours to fix).
pub fn is_denial(error: &str) -> bool {
    matches!(
        error,
        "access_denied" | "user_cancelled_login" | "user_cancelled_authorize"
    )
}

/// The access token of a token response: RFC 6749's `{"access_token": ..}`,
/// or the `{"data": [{"access_token": ..}]}` Instagram documents.
pub fn access_token(body: &Value) -> Option<&str> {
    [&body["access_token"], &body["data"][0]["access_token"]]
        .into_iter()
        .find_map(Value::as_str)
        .filter(|t| !t.is_empty())
}

/// The provider's own words for a refusal: OAuth's `error` and
/// `error_description`, or the Graph API's `error_message` or
/// `error.message`. Empty when it said nothing we know how to read.
pub fn refusal_detail(body: &Value) -> String {
    [
        &body["error"],
        &body["error_description"],
        &body["error_message"],
        &body["error"]["message"],
    ]
    .into_iter()
    .filter_map(Value::as_str)
    .collect::<Vec<_>>()
    .join(": ")
}

/// Longest subject and handle we keep; providers' are far shorter.
const MAX_LEN: usize = 200;

/// Who signed in, read from a profile answer of the given shape. `None`
/// when a field is missing or not what the provider promises.
pub fn profile(shape: &ProfileShape, body: &Value) -> Option<Profile> {
    let plain = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.chars().count() <= MAX_LEN && !s.chars().any(char::is_control))
            .then(|| s.to_owned())
    };
    // Ids come as strings, or as numbers from some Graph API versions.
    let subject = match &body[shape.subject] {
        Value::String(s) => plain(s)?,
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => None?,
    };
    let handle = plain(body[shape.handle].as_str()?)?;
    // A handle that becomes part of an address must be one (Instagram
    // usernames are letters, digits, periods and underscores).
    let url_safe = handle
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    let url = match shape.page {
        Some(prefix) if url_safe => Some(format!("{prefix}{handle}")),
        Some(_) => return None,
        None => None,
    };
    Some(Profile {
        subject,
        handle,
        url,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_authorize_url_carries_every_parameter_encoded() {
        let endpoint = Url::parse("https://www.linkedin.com/oauth/v2/authorization").unwrap();
        let url = authorize_url(
            &endpoint,
            "id",
            "https://api.example/cb?x=1",
            "openid profile",
            "a.b",
        );
        let parsed = Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let want = [
            ("response_type", "code"),
            ("client_id", "id"),
            ("redirect_uri", "https://api.example/cb?x=1"),
            ("scope", "openid profile"),
            ("state", "a.b"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(pairs, want);
    }

    #[test]
    fn token_answers_of_both_documented_shapes_are_read() {
        assert_eq!(
            access_token(&json!({ "access_token": "t", "expires_in": 3600 })),
            Some("t")
        );
        assert_eq!(
            access_token(&json!({ "data": [{ "access_token": "t", "user_id": "1" }] })),
            Some("t")
        );
        assert_eq!(access_token(&json!({ "access_token": "" })), None);
        assert_eq!(access_token(&json!({ "token": "t" })), None);
        assert_eq!(
            refusal_detail(&json!({ "error": "invalid_grant", "error_description": "expired" })),
            "invalid_grant: expired"
        );
        assert_eq!(
            refusal_detail(
                &json!({ "error_type": "OAuthException", "code": 400, "error_message": "Invalid code" })
            ),
            "Invalid code"
        );
    }

    #[test]
    fn profiles_are_read_by_their_shape() {
        let linkedin = profile(
            &ProfileShape::OIDC_USERINFO,
            &json!({ "sub": "782bbtaQ", "name": " Amira Ben Salah ", "email": "a@x.tn" }),
        );
        assert_eq!(
            linkedin,
            Some(Profile {
                subject: "782bbtaQ".into(),
                handle: "Amira Ben Salah".into(),
                url: None
            })
        );
        let instagram = profile(
            &ProfileShape::INSTAGRAM_ME,
            &json!({ "user_id": 17841405822304914_u64, "username": "amira.bs", "id": "x" }),
        );
        assert_eq!(
            instagram,
            Some(Profile {
                subject: "17841405822304914".into(),
                handle: "amira.bs".into(),
                url: Some("https://www.instagram.com/amira.bs".into())
            })
        );
        for garbage in [
            json!({ "user_id": "1" }),
            json!({ "user_id": "", "username": "a" }),
            json!({ "user_id": -1, "username": "a" }),
            json!({ "user_id": "1", "username": "a/../b" }),
            json!({ "user_id": "1", "username": "a\u{0}" }),
            json!("not an object"),
        ] {
            assert_eq!(
                profile(&ProfileShape::INSTAGRAM_ME, &garbage),
                None,
                "{garbage}"
            );
        }
    }

    #[test]
    fn only_the_person_saying_no_is_a_denial() {
        assert!(is_denial("access_denied"));
        assert!(is_denial("user_cancelled_authorize"));
        assert!(!is_denial("invalid_scope"));
    }
}
