//! A local push service (RFC 8030) with browsers behind it: it hands out
//! subscriptions (endpoint, P-256 key, auth secret) whose private keys it
//! keeps, and for every message checks the VAPID authorization (RFC 8292:
//! an ES256 JWT for this origin, verified with `jsonwebtoken`, and the `k`
//! key it names) and decrypts the aes128gcm payload (RFC 8291) as the
//! browser would.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use serde_json::{json, Value};
use sha2::Sha256;

/// A message as the browser got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subscription: usize,
    pub payload: Value,
    pub topic: Option<String>,
}

struct Browser {
    key: SecretKey,
    auth: [u8; 16],
}

#[derive(Default)]
struct Inner {
    browsers: Vec<Browser>,
    received: Vec<Received>,
    gone: HashSet<usize>,
    /// Why requests were refused, for failing tests to show.
    refusals: Vec<String>,
}

#[derive(Clone)]
pub struct PushService {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushService {
    pub async fn start() -> PushService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = PushService {
            base: format!("http://{}", listener.local_addr().unwrap()),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/push/{n}", post(receive))
            .with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        service
    }

    /// Lets the control plane push to this loopback service.
    pub fn configure(&self, settings: &mut control::Settings) {
        settings.notify.push.endpoint_hosts = vec!["127.0.0.1".to_owned()];
        settings.notify.push.allow_http = true;
    }

    /// A new browser's subscription, as `PushSubscription.toJSON()`.
    pub fn subscribe(&self) -> Value {
        let key = loop {
            if let Ok(k) = SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        let auth: [u8; 16] = rand::random();
        let public = key.public_key().to_encoded_point(false);
        let mut inner = self.inner.lock().unwrap();
        inner.browsers.push(Browser { key, auth });
        json!({
            "endpoint": format!("{}/push/{}", self.base, inner.browsers.len() - 1),
            "expirationTime": null,
            "keys": { "p256dh": B64.encode(public.as_bytes()), "auth": B64.encode(auth) },
        })
    }

    /// From now on, the subscription answers 410 Gone.
    pub fn expire(&self, subscription: &Value) {
        let n = subscription["endpoint"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        self.inner.lock().unwrap().gone.insert(n.parse().unwrap());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn refusals(&self) -> Vec<String> {
        self.inner.lock().unwrap().refusals.clone()
    }
}

async fn receive(
    State(service): State<PushService>,
    Path(n): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = service.inner.lock().unwrap();
    if inner.gone.contains(&n) || n >= inner.browsers.len() {
        return StatusCode::GONE;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let checked = check_vapid(&service.base, header("authorization").as_deref())
        .and_then(|()| {
            (header("content-encoding").as_deref() == Some("aes128gcm"))
                .then_some(())
                .ok_or_else(|| "Content-Encoding is not aes128gcm".to_owned())
        })
        .and_then(|()| {
            header("ttl")
                .and_then(|t| t.parse::<u64>().ok())
                .map(|_| ())
                .ok_or_else(|| "no TTL".to_owned())
        })
        .and_then(|()| decrypt(&inner.browsers[n], &body));
    match checked {
        Ok(plaintext) => match serde_json::from_slice(&plaintext) {
            Ok(payload) => {
                inner.received.push(Received {
                    subscription: n,
                    payload,
                    topic: header("topic"),
                });
                StatusCode::CREATED
            }
            Err(e) => {
                inner.refusals.push(format!("payload is not JSON: {e}"));
                StatusCode::BAD_REQUEST
            }
        },
        Err(why) => {
            inner.refusals.push(why);
            StatusCode::UNAUTHORIZED
        }
    }
}

/// `vapid t=<JWT>, k=<key>`: the JWT signed by `k` (ES256) for our origin.
fn check_vapid(origin: &str, authorization: Option<&str>) -> Result<(), String> {
    let (t, k) = authorization
        .and_then(|a| a.strip_prefix("vapid t="))
        .and_then(|rest| rest.split_once(", k="))
        .ok_or("no vapid authorization")?;
    let key = B64.decode(k).map_err(|_| "k is not base64url")?;
    if key.len() != 65 || key[0] != 4 {
        return Err("k is not an uncompressed P-256 point".into());
    }
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &B64.encode(&key[1..33]),
        &B64.encode(&key[33..]),
    )
    .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<HashMap<String, Value>>(t, &decoding, &validation)
        .map_err(|e| format!("VAPID JWT refused: {e}"))?
        .claims;
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(format!("sub {sub} is not a contact"));
    }
    Ok(())
}

/// The browser's side of RFC 8291.
fn decrypt(browser: &Browser, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than its header".into());
    }
    let (salt, rest) = body.split_at(16);
    let key_len = rest[4] as usize;
    let (as_public, sealed) = rest[5..].split_at(key_len);
    let sender = PublicKey::from_sec1_bytes(as_public).map_err(|_| "bad sender key")?;
    let shared = p256::ecdh::diffie_hellman(browser.key.to_nonzero_scalar(), sender.as_affine());
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(browser.key.public_key().to_encoded_point(false).as_bytes());
    info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&browser.auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .unwrap();
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .unwrap();
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .unwrap();
    let mut record = Aes128Gcm::new_from_slice(&cek)
        .unwrap()
        .decrypt(Nonce::from_slice(&nonce), sealed)
        .map_err(|_| "cannot decrypt the payload")?;
    while record.last() == Some(&0) {
        record.pop();
    }
    match record.pop() {
        Some(2) => Ok(record),
        _ => Err("no last-record delimiter".into()),
    }
}
