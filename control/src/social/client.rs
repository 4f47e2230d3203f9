//! The calls to the providers: the code exchanged at the token endpoint
//! (`client_secret_post`, `grant_type=authorization_code`), then the profile
//! read with the access token. What the answers mean is in `oauth.rs`.

use std::time::Duration;

use platform::config::ConfigError;
use reqwest::Url;
use serde_json::Value;

use super::{oauth, Profile, Provider, SocialError, TokenPlacement};
use crate::settings::{OAuthSettings, SocialSettings};

/// One configured provider: credentials, parsed endpoints, and our callback.
pub struct OAuthClient {
    provider: Provider,
    client_id: String,
    client_secret: String,
    authorize: Url,
    token: Url,
    profile: Url,
    scope: String,
    redirect_uri: String,
}

impl OAuthClient {
    /// `None` for a provider without credentials (not offered); a setting
    /// that cannot work is an error naming its key.
    fn new(
        provider: Provider,
        s: &OAuthSettings,
        public_url: &str,
    ) -> Result<Option<OAuthClient>, ConfigError> {
        let section = provider.section();
        let (client_id, client_secret) = match (&s.client_id, &s.client_secret) {
            (None, None) => return Ok(None),
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            (Some(_), None) => {
                return Err(ConfigError::key(
                    &format!("{section}.client_secret"),
                    "must be set with client_id",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    &format!("{section}.client_id"),
                    "must be set with client_secret",
                ))
            }
        };
        let url = |key: &str, value: &str| {
            Url::parse(value)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| {
                    ConfigError::key(&format!("{section}.{key}"), "is not an http(s) URL")
                })
        };
        Ok(Some(OAuthClient {
            provider,
            client_id,
            client_secret,
            authorize: url("authorize_url", &s.authorize_url)?,
            token: url("token_url", &s.token_url)?,
            profile: url("profile_url", &s.profile_url)?,
            // Space-delimited (RFC 6749 3.3); both providers accept it.
            scope: s.scopes.join(" "),
            redirect_uri: format!("{public_url}/api/v1/social/{}/callback", provider.as_str()),
        }))
    }

    pub fn authorize_url(&self, state: &str) -> String {
        oauth::authorize_url(
            &self.authorize,
            &self.client_id,
            &self.redirect_uri,
            &self.scope,
            state,
        )
    }
}

/// The configured providers and the HTTP client that calls them.
pub struct Social {
    http: reqwest::Client,
    clients: Vec<OAuthClient>,
}

/// A provider's answer that is worth reading.
enum Answer {
    Success(Value),
    /// A 4xx, with whatever JSON came with it.
    Refused(Value),
}

impl Social {
    pub fn new(settings: &SocialSettings, public_url: &str) -> Result<Social, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ConfigError::key("control.social", e))?;
        let mut clients = Vec::new();
        for provider in Provider::ALL {
            clients.extend(OAuthClient::new(
                provider,
                provider.settings(settings),
                public_url,
            )?);
        }
        Ok(Social { http, clients })
    }

    pub fn client(&self, provider: Provider) -> Result<&OAuthClient, SocialError> {
        self.clients
            .iter()
            .find(|c| c.provider == provider)
            .ok_or(SocialError::NotConfigured(provider))
    }

    /// Exchanges an authorization code and reads who signed in.
    pub async fn sign_in(&self, client: &OAuthClient, code: &str) -> Result<Profile, SocialError> {
        let provider = client.provider;
        let unavailable = |detail: &str| SocialError::Unavailable {
            provider,
            detail: detail.to_owned(),
        };
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
        ];
        let sent = self
            .http
            .post(client.token.clone())
            .form(&form)
            .send()
            .await;
        let token = match read(provider, sent).await? {
            Answer::Success(body) => oauth::access_token(&body)
                .ok_or_else(|| unavailable("the token answer has no access_token"))?
                .to_owned(),
            Answer::Refused(body) => {
                return Err(SocialError::CodeRejected {
                    provider,
                    detail: oauth::refusal_detail(&body),
                })
            }
        };
        let shape = provider.shape();
        let request = match shape.token {
            TokenPlacement::Header => self.http.get(client.profile.clone()).bearer_auth(&token),
            TokenPlacement::Query => {
                let mut url = client.profile.clone();
                url.query_pairs_mut().append_pair("access_token", &token);
                self.http.get(url)
            }
        };
        match read(provider, request.send().await).await? {
            Answer::Success(body) => {
                oauth::profile(shape, &body).ok_or_else(|| unavailable("unreadable profile"))
            }
            // A token minted a moment ago refused: the provider's trouble.
            Answer::Refused(body) => Err(unavailable(&format!(
                "profile refused: {}",
                oauth::refusal_detail(&body)
            ))),
        }
    }
}

/// No answer, a server error, or a success that is not JSON is
/// `Unavailable`; a client error is `Refused` for the caller to judge.
async fn read(
    provider: Provider,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Answer, SocialError> {
    let unavailable = |detail: String| SocialError::Unavailable { provider, detail };
    // Without the URL: Instagram's carries the access token.
    let failed = |e: reqwest::Error| unavailable(e.without_url().to_string());
    let response = response.map_err(failed)?;
    let status = response.status();
    let text = response.text().await.map_err(failed)?;
    let json = serde_json::from_str::<Value>(&text);
    if status.is_success() {
        json.map(Answer::Success)
            .map_err(|e| unavailable(format!("unreadable answer: {e}")))
    } else if status.is_client_error() {
        Ok(Answer::Refused(json.unwrap_or(Value::Null)))
    } else {
        Err(unavailable(format!("HTTP {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_offered_only_when_fully_configured() {
        let mut s = SocialSettings::default();
        let social = Social::new(&s, "https://api.example").unwrap();
        assert!(matches!(
            social.client(Provider::Linkedin),
            Err(SocialError::NotConfigured(Provider::Linkedin))
        ));
        s.linkedin.client_id = Some("id".into());
        let e = Social::new(&s, "https://api.example").err().unwrap();
        assert!(
            e.to_string()
                .contains("control.social.linkedin.client_secret"),
            "{e}"
        );
        s.linkedin.client_secret = Some("secret".into());
        s.linkedin.token_url = "ftp://x".into();
        let e = Social::new(&s, "https://api.example").err().unwrap();
        assert!(
            e.to_string().contains("control.social.linkedin.token_url"),
            "{e}"
        );
        s.linkedin.token_url = SocialSettings::default().linkedin.token_url;
        let social = Social::new(&s, "https://api.example").unwrap();
        let url = social
            .client(Provider::Linkedin)
            .unwrap()
            .authorize_url("st");
        assert!(url.starts_with("https://www.linkedin.com/oauth/v2/authorization?response_type=code&client_id=id&redirect_uri=https%3A%2F%2Fapi.example%2Fapi%2Fv1%2Fsocial%2Flinkedin%2Fcallback&scope=openid+profile+email&state=st"), "{url}");
        assert!(social.client(Provider::Instagram).is_err());
    }
}
