//! A local server speaking OAuth 2 as LinkedIn ("Sign In with LinkedIn using
//! OpenID Connect") and Instagram ("Instagram API with Instagram Login") do,
//! under `/linkedin/...` and `/instagram/...`: an authorize page that checks
//! the client, redirect URI and scope and sends the browser back with a code
//! (or `error=access_denied`), a token endpoint checking the client's
//! credentials, the code (single use, for the same redirect URI), and the
//! profile endpoints: OIDC userinfo with a bearer token, Instagram's
//! `me?fields=user_id,username` with an `access_token` parameter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use control::settings::{OAuthSettings, SocialSettings};
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "86vhj2q7ukf83q";
pub const CLIENT_SECRET: &str = "WPL_AP1.kX7sXBSoVfmZ7R4h.8Yk3Hw==";

/// What the provider does with the calls our server makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// 503 from the token and profile endpoints.
    Down,
    /// 200 with a body that is not JSON.
    Garbage,
}

/// The person signing in at the provider.
#[derive(Debug, Clone)]
pub struct Person {
    pub subject: String,
    /// LinkedIn's `name`, Instagram's `username`.
    pub handle: String,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    person: Person,
}

struct Inner {
    mode: Mode,
    /// The person refuses on the consent page.
    deny: bool,
    person: Person,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Person>,
    next: u64,
}

#[derive(Clone)]
pub struct OAuthServer {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The two providers' differences, as the real ones show them.
fn expected_scope(provider: &str) -> Option<&'static str> {
    match provider {
        "linkedin" => Some("openid profile email"),
        "instagram" => Some("instagram_business_basic"),
        _ => None,
    }
}

fn token_error(provider: &str, status: StatusCode, message: &str) -> Response {
    let body = if provider == "instagram" {
        json!({ "error_type": "OAuthException", "code": status.as_u16(), "error_message": message })
    } else {
        json!({ "error": "invalid_grant", "error_description": message })
    };
    (status, Json(body)).into_response()
}

/// The provider's own trouble, per the server's mode; `None` when up.
fn trouble(mode: Mode) -> Option<Response> {
    match mode {
        Mode::Up => None,
        Mode::Down => Some((StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response()),
        Mode::Garbage => Some((StatusCode::OK, "<html>oops</html>").into_response()),
    }
}

async fn authorize(
    State(o): State<OAuthServer>,
    Path(provider): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    // Like the real ones, a bad client or request is shown to the person,
    // not sent back to a redirect URI that may not be the client's.
    if field("client_id") != CLIENT_ID
        || field("response_type") != "code"
        || !field("redirect_uri").starts_with("http")
        || expected_scope(&provider) != Some(field("scope").as_str())
    {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let (redirect_uri, state) = (field("redirect_uri"), field("state"));
    let mut inner = o.inner.lock().unwrap();
    let mut back = reqwest::Url::parse(&redirect_uri).unwrap();
    if inner.deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request")
            .append_pair("state", &state);
    } else {
        inner.next += 1;
        let code = format!("AQ{:08}code", inner.next);
        let grant = Grant {
            client_id: CLIENT_ID.to_owned(),
            redirect_uri,
            person: inner.person.clone(),
        };
        inner.codes.insert(code.clone(), grant);
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
    }
    Redirect::to(back.as_str()).into_response()
}

async fn token(
    State(o): State<OAuthServer>,
    Path(provider): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = o.inner.lock().unwrap();
    if let Some(r) = trouble(inner.mode) {
        return r;
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return token_error(&provider, StatusCode::UNAUTHORIZED, "invalid client");
    }
    if field("grant_type") != "authorization_code" {
        return token_error(&provider, StatusCode::BAD_REQUEST, "unsupported grant type");
    }
    // A code works once, for the client and redirect URI it was issued to.
    let Some(grant) = inner.codes.remove(&field("code")) else {
        return token_error(
            &provider,
            StatusCode::BAD_REQUEST,
            "authorization code not found",
        );
    };
    if grant.client_id != field("client_id") || grant.redirect_uri != field("redirect_uri") {
        return token_error(
            &provider,
            StatusCode::BAD_REQUEST,
            "redirect_uri does not match",
        );
    }
    inner.next += 1;
    let access_token = format!("AQV{:08}token", inner.next);
    inner
        .tokens
        .insert(access_token.clone(), grant.person.clone());
    let body = if provider == "instagram" {
        json!({ "data": [{ "access_token": access_token, "user_id": grant.person.subject,
                           "permissions": "instagram_business_basic" }] })
    } else {
        json!({ "access_token": access_token, "expires_in": 5_183_999, "scope": "email,openid,profile",
                "token_type": "Bearer", "id_token": "eyJ6IjoiIn0.e30.c2ln" })
    };
    Json(body).into_response()
}

/// The profile of the person `token` was issued to, as `render` shows it,
/// or the provider's refusal.
fn profile(
    o: &OAuthServer,
    token: Option<&str>,
    render: impl FnOnce(&Person) -> Value,
) -> Response {
    let inner = o.inner.lock().unwrap();
    if let Some(r) = trouble(inner.mode) {
        return r;
    }
    match token.and_then(|t| inner.tokens.get(t)) {
        Some(p) => Json(render(p)).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Invalid access token" })),
        )
            .into_response(),
    }
}

async fn userinfo(State(o): State<OAuthServer>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    profile(&o, token, |p| {
        let (given, family) = p.handle.split_once(' ').unwrap_or((&p.handle, ""));
        json!({ "sub": p.subject, "name": p.handle, "given_name": given, "family_name": family,
                "email": "someone@example.tn", "email_verified": true,
                "locale": { "country": "TN", "language": "fr" } })
    })
}

async fn instagram_me(
    State(o): State<OAuthServer>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if q.get("fields").map(String::as_str) != Some("user_id,username") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "message": "fields" } })),
        )
            .into_response();
    }
    profile(
        &o,
        q.get("access_token").map(String::as_str),
        |p| json!({ "user_id": p.subject, "username": p.handle, "id": "9" }),
    )
}

impl OAuthServer {
    pub async fn start() -> OAuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let o = OAuthServer {
            base: format!("http://{}", listener.local_addr().unwrap()),
            inner: Arc::new(Mutex::new(Inner {
                mode: Mode::Up,
                deny: false,
                person: Person {
                    subject: "782bbtaQ".to_owned(),
                    handle: "Karim Haddad".to_owned(),
                },
                codes: HashMap::new(),
                tokens: HashMap::new(),
                next: 0,
            })),
        };
        let app = Router::new()
            .route("/{provider}/authorize", get(authorize))
            .route("/{provider}/token", post(token))
            .route("/linkedin/userinfo", get(userinfo))
            .route("/instagram/me", get(instagram_me))
            .with_state(o.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        o
    }

    /// Settings pointing `providers` at this server (the others stay unconfigured).
    pub fn configure(&self, social: &mut SocialSettings, providers: &[&str]) {
        for &p in providers {
            let (s, profile): (&mut OAuthSettings, &str) = match p {
                "linkedin" => (&mut social.linkedin, "/linkedin/userinfo"),
                _ => (
                    &mut social.instagram,
                    "/instagram/me?fields=user_id,username",
                ),
            };
            s.client_id = Some(CLIENT_ID.to_owned());
            s.client_secret = Some(CLIENT_SECRET.to_owned());
            s.authorize_url = format!("{}/{p}/authorize", self.base);
            s.token_url = format!("{}/{p}/token", self.base);
            s.profile_url = format!("{}{profile}", self.base);
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    pub fn set_deny(&self, deny: bool) {
        self.inner.lock().unwrap().deny = deny;
    }

    /// Who signs in from now on.
    pub fn sign_in_as(&self, subject: &str, handle: &str) {
        self.inner.lock().unwrap().person = Person {
            subject: subject.to_owned(),
            handle: handle.to_owned(),
        };
    }

    /// The person's browser on the authorize page: where it is sent back to.
    pub async fn consent(&self, authorize_url: &str) -> String {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = browser.get(authorize_url).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "the authorize page accepted the request"
        );
        r.headers()[header::LOCATION].to_str().unwrap().to_owned()
    }
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
