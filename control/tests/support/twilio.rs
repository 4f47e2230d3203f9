//! A local server speaking Twilio's Messages API (the part our adapter
//! uses): `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form
//! with `To`, `Body` and `From` or `MessagingServiceSid`, HTTP basic
//! authentication with the account SID and auth token; 201 with the message
//! resource, or Twilio's error body `{code, message, more_info, status}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "f3c1d2e4b5a6978800112233445566aa";
pub const FROM: &str = "+21671000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: String,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sms>,
    down: bool,
}

#[derive(Clone)]
pub struct Twilio {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

type Answer = (StatusCode, Json<Value>);

fn error(status: StatusCode, code: i64, message: &str) -> Answer {
    (
        status,
        Json(
            json!({ "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16() }),
        ),
    )
}

async fn create(
    State(t): State<Twilio>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Answer {
    if t.inner.lock().unwrap().down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Internal Server Error",
        );
    }
    let expected = format!(
        "Basic {}",
        B64.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    if sid != ACCOUNT_SID
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let (Some(to), Some(body)) = (form.get("To"), form.get("Body")) else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    if form.get("From").map(String::as_str) != Some(FROM) {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    let e164 = to
        .strip_prefix('+')
        .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()));
    if !e164 {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let mut inner = t.inner.lock().unwrap();
    inner.sent.push(Sms {
        to: to.clone(),
        body: body.clone(),
    });
    let n = inner.sent.len();
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": format!("SM{n:032x}"),
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": FROM,
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
        })),
    )
}

impl Twilio {
    pub async fn start() -> Twilio {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let twilio = Twilio {
            base: format!("http://{}", listener.local_addr().unwrap()),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create))
            .with_state(twilio.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        twilio
    }

    /// Points the control plane's SMS settings at this server.
    pub fn configure(&self, settings: &mut control::Settings) {
        let sms = &mut settings.notify.sms;
        sms.base_url = self.base.clone();
        sms.account_sid = Some(ACCOUNT_SID.to_owned());
        sms.auth_token = Some(AUTH_TOKEN.to_owned());
        sms.from = Some(FROM.to_owned());
    }

    pub fn sent(&self) -> Vec<Sms> {
        self.inner.lock().unwrap().sent.clone()
    }

    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }
}
