//! Test harness: the real control-plane router served over real HTTP on an
//! ephemeral port, on a fresh SQLite file or a fresh PostgreSQL database, with
//! a clock the test moves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use control::Settings;
use platform::bus::{Bus, MemoryBus};
use platform::http::Readiness;
use platform::telemetry::Telemetry;
use platform::{Clock, Database, ManualClock};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

pub use crate::testdb::{Backend, TestDb};

pub const PASSWORD: &str = "Correct-Horse9";

pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub db: Database,
    /// Shared with replicas (`Server::replica`).
    pub store: Arc<TestDb>,
    pub bus: Bus,
    pub settings: Settings,
    /// The server's state, for what tests drive directly (the job runner).
    pub state: control::AppState,
    task: tokio::task::JoinHandle<()>,
    /// The notification job runner, as every replica runs one.
    runner: Option<tokio::task::JoinHandle<()>>,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Resp {
    /// The stable error code of a problem response.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn field_codes(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap().to_owned(),
                            e["code"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        if status >= 400 {
            assert_eq!(
                self.header("content-type"),
                Some("application/problem+json"),
                "errors are problem documents"
            );
        }
        self
    }

    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Self {
        let r = self.expect(status);
        assert_eq!(r.code(), code, "problem: {}", r.body);
        r
    }
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Server {
        let store = Arc::new(TestDb::create(backend).await);
        let bus = Bus::Memory(MemoryBus::new(Bus::DEFAULT_REDELIVER_AFTER));
        let clock = Arc::new(ManualClock::starting_now());
        Self::serve(store, bus, clock, true, tweak).await
    }

    /// Another control-plane replica (or this one restarted) on the same
    /// database, bus, clock and data directory, with the same settings;
    /// `run_jobs` starts its job runner.
    pub async fn replica(&self, run_jobs: bool) -> Server {
        let settings = self.settings.clone();
        Self::serve(
            self.store.clone(),
            self.bus.clone(),
            self.clock.clone(),
            run_jobs,
            move |s| {
                let (listen, public_url) = (s.listen.clone(), s.public_url.clone());
                *s = settings;
                s.listen = listen;
                s.public_url = public_url;
            },
        )
        .await
    }

    async fn serve(
        store: Arc<TestDb>,
        bus: Bus,
        clock: Arc<ManualClock>,
        run_jobs: bool,
        tweak: impl FnOnce(&mut Settings),
    ) -> Server {
        let db = store.db.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut settings = Settings {
            listen: addr.to_string(),
            ..Settings::default()
        };
        settings.public_url = Some(format!("http://{addr}"));
        // Notifications (emails among them) go out within moments.
        settings.notify.poll_interval = Duration::from_millis(20);
        tweak(&mut settings);
        let telemetry = Telemetry::new();
        let state = control::AppState::new(
            settings.clone(),
            store.dir.path(),
            db.clone(),
            clock.clone() as Arc<dyn Clock>,
            bus.clone(),
            &telemetry,
        )
        .await
        .unwrap();
        let router = control::router(state.clone(), &telemetry, Readiness::default());
        let runner = run_jobs.then(|| control::notify::runner::spawn(state.clone()));
        let task = tokio::spawn(async move {
            platform::http::serve(listener, router, std::future::pending())
                .await
                .unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            // A browser: it keeps cookies (the OAuth flow's binding).
            http: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            clock,
            db,
            store,
            bus,
            settings,
            state,
            task,
            runner,
        }
    }

    /// Stops the job runner: the test runs jobs itself (`Runner::run_due`).
    pub fn stop_runner(&mut self) {
        if let Some(runner) = self.runner.take() {
            runner.abort();
        }
    }

    pub fn outbox(&self) -> PathBuf {
        self.store.dir.path().join("outbox")
    }

    pub fn objects(&self) -> PathBuf {
        self.store.dir.path().join("objects")
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.req(reqwest::Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(self.req(reqwest::Method::POST, path, token).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(self.req(reqwest::Method::PATCH, path, token).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(self.req(reqwest::Method::PUT, path, token).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.req(reqwest::Method::DELETE, path, token))
            .await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        String::from_utf8(self.get("/metrics", None).await.expect(200).bytes).unwrap()
    }

    /// Emails in the outbox addressed to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.outbox()) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .collect()
    }

    /// Waits (up to 10 s: some mail is sent after the response) until `to`
    /// has at least `count` emails, and returns them all.
    pub async fn wait_for_mails(&self, to: &str, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no email {count} to {to}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The token of the newest emailed link to `to` whose URL contains `path`,
    /// waiting for one to arrive.
    pub async fn link_token(&self, to: &str, path: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(token) = self
                .mails_to(to)
                .iter()
                .rev()
                .find_map(|m| token_in(m, path))
            {
                return token;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {path} link emailed to {to}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn signup(&self, email: &str) -> Resp {
        self.post(
            "/api/v1/auth/signup",
            None,
            json!({ "first_name": "Amira", "last_name": "Ben Salah", "email": email, "password": PASSWORD }),
        )
        .await
    }

    pub async fn refresh(&self, token: &impl serde::Serialize) -> Resp {
        self.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": token }),
        )
        .await
    }

    pub async fn request_reset(&self, email: &str) -> Resp {
        self.post(
            "/api/v1/auth/password-reset/request",
            None,
            json!({ "email": email }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs up, follows the verification link and logs in.
    pub async fn user(&self, email: &str) -> Session {
        let id = self.signup(email).await.expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = self.link_token(email, "/api/v1/auth/verify-email").await;
        self.get(&format!("/api/v1/auth/verify-email?token={token}"), None)
            .await
            .expect(200);
        self.session(id, email).await
    }

    /// Signs up an expert account (named `first last`), verifies it and logs in.
    pub async fn expert_account(&self, email: &str, first: &str, last: &str) -> Session {
        let r = self
            .post(
                "/api/v1/auth/signup",
                None,
                json!({ "first_name": first, "last_name": last, "email": email,
                        "password": PASSWORD, "role": "expert" }),
            )
            .await
            .expect(201);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let token = self.link_token(email, "/api/v1/auth/verify-email").await;
        self.get(&format!("/api/v1/auth/verify-email?token={token}"), None)
            .await
            .expect(200);
        self.session(id, email).await
    }

    /// An expert with `profile` (a `PATCH /api/v1/experts/me` body) whose
    /// verification is marked approved directly in the database: a seeding
    /// shortcut for tests about what comes after approval (the verification
    /// tests walk the real path).
    pub async fn approved_expert(
        &self,
        email: &str,
        first: &str,
        last: &str,
        profile: Value,
    ) -> Session {
        let s = self.expert_account(email, first, last).await;
        self.patch("/api/v1/experts/me", Some(&s.access), profile)
            .await
            .expect(200);
        self.approve_directly(&s).await;
        s
    }

    /// Marks the expert's verification approved in the database (the
    /// seeding shortcut of `approved_expert`).
    pub async fn approve_directly(&self, expert: &Session) {
        let mut conn = self.db.pool().acquire().await.unwrap();
        sqlx::query("UPDATE experts SET state = 'approved', decided_at = $2 WHERE account_id = $1")
            .bind(&expert.id)
            .bind(self.clock.now_ms())
            .execute(&mut *conn)
            .await
            .unwrap();
        control::experts::listing::refresh(&mut conn, self.db.backend(), &expert.id)
            .await
            .unwrap();
    }

    /// An approved expert who can be paid: a profile, a bank account (the
    /// RIB of `rib(first18)`) and `tax_option` set through the API before
    /// the approval shortcut, as verification requires them.
    pub async fn payable_expert(
        &self,
        email: &str,
        first: &str,
        last: &str,
        tax_option: &str,
    ) -> Session {
        let s = self.expert_account(email, first, last).await;
        self.patch(
            "/api/v1/experts/me",
            Some(&s.access),
            json!({ "bio": "Conseil", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "video_call": 3 } }),
        )
        .await
        .expect(200);
        let number = rib(BANK_ACCOUNT);
        self.put(
            "/api/v1/experts/me/bank",
            Some(&s.access),
            json!({ "number": number }),
        )
        .await
        .expect(200);
        self.put(
            "/api/v1/experts/me/tax",
            Some(&s.access),
            json!({ "option": tax_option }),
        )
        .await
        .expect(200);
        self.approve_directly(&s).await;
        s
    }

    /// A fresh access token for `who`, e.g. after the clock moved past theirs.
    pub async fn relogin(&self, who: &Session, email: &str) -> Session {
        let r = self.login(email, PASSWORD).await.expect(200);
        Session {
            access: r.body["access_token"].as_str().unwrap().to_owned(),
            ..who.clone()
        }
    }

    /// `who` buys the offer's pack number `pack` in the sandbox and pays.
    pub async fn buy_pack(&self, who: &Session, pack: usize) {
        let key = uuid::Uuid::new_v4().to_string();
        let buy = self
            .send(
                self.req(
                    reqwest::Method::POST,
                    "/api/v1/wallet/purchases",
                    Some(&who.access),
                )
                .header("Idempotency-Key", key)
                .json(&json!({ "pack": pack, "provider": "sandbox" })),
            )
            .await
            .expect(201);
        let page = buy.body["checkout_url"].as_str().unwrap();
        let path = page.strip_prefix(&self.base).expect("a page of ours");
        self.post(&format!("{path}/pay"), None, json!({}))
            .await
            .expect(200);
    }

    /// A ledger on the server's database, for what messaging, bookings and
    /// calls will ask of it (holds, captures) and for its audit.
    pub fn ledger(&self) -> control::ledger::Ledger {
        control::ledger::Ledger::new(
            self.db.clone(),
            self.clock.clone() as Arc<dyn Clock>,
            control::Settings::default().payouts.clearing_delay,
        )
    }

    async fn session(&self, id: String, email: &str) -> Session {
        let r = self.login(email, PASSWORD).await.expect(200);
        Session {
            id,
            access: r.body["access_token"].as_str().unwrap().to_owned(),
            refresh: r.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// An administrator created the way `deepinfluence admin create` does.
    pub async fn admin(&self) -> Session {
        let email = "admin@deepinfluence.tn";
        let a = control::bootstrap::create_admin(
            &self.db,
            self.clock.as_ref(),
            email,
            "Root",
            "Admin",
            PASSWORD,
        )
        .await
        .unwrap();
        self.session(a.id, email).await
    }
}

/// The first 18 digits of the RIB `payable_expert` gives.
pub const BANK_ACCOUNT: &str = "080060123456789012";

/// A valid RIB: the key by the rule (97 - first 18 digits x 100 mod 97).
pub fn rib(first18: &str) -> String {
    let r = first18
        .bytes()
        .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
    format!("{first18}{:02}", 97 - (r * 100) % 97)
}

/// The message as a mail client shows it: a quoted-printable body (what lettre
/// picks over SMTP for long lines) decoded, soft line breaks removed.
pub fn readable(message: &str) -> String {
    let Some((headers, body)) = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
    else {
        return message.to_owned();
    };
    if !headers
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return message.to_owned();
    }
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let raw = joined.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match (
            raw[i],
            raw.get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
        ) {
            (b'=', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    format!(
        "{headers}\n\n{}",
        String::from_utf8(bytes).expect("UTF-8 body")
    )
}

/// Extracts `token=...` from the first URL containing `path` in an email.
pub fn token_in(mail: &str, path: &str) -> Option<String> {
    let start = mail.find(path)?;
    let rest = &mail[start..];
    let t = rest.find("token=")? + "token=".len();
    Some(
        rest[t..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect(),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        self.stop_runner();
    }
}
