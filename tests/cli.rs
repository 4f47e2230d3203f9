//! The `deepinfluence` binary as an operator and a developer use it: the
//! README's quick-start flow, clean shutdown, and configuration errors.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const PASSWORD: &str = "Correct-Horse9";

fn binary(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepinfluence"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DI_CONTROL__LISTEN", "127.0.0.1:0")
        .env("DI_SIGNALLING__LISTEN", "127.0.0.1:0")
        .env("DI_SFU__LISTEN", "127.0.0.1:0")
        .env("DI_SFU__MEDIA__PORT", "0")
        .env("DI_RECORDER__LISTEN", "127.0.0.1:0");
    cmd
}

/// A running server: the process, the lines it printed before serving, each
/// service's address, and its log lines as they come.
type Started = (
    Child,
    Vec<String>,
    Vec<(String, String)>,
    mpsc::Receiver<String>,
);

/// Starts `deepinfluence` (serve by default) and returns it with the lines
/// it printed before serving, the address each service printed, and the
/// stderr lines as they come.
fn start(dir: &Path, env: &[(&str, &str)]) -> Started {
    start_with(binary(dir), env)
}

/// As `start`, for a command with its own arguments.
fn start_with(mut cmd: Command, env: &[(&str, &str)]) -> Started {
    let mut child = cmd
        .envs(env.iter().copied())
        .env("DI_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, logs) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut services = Vec::new();
    let mut banner = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push(line.clone());
        if line.trim_start().starts_with("health") {
            break;
        }
        let mut words = line.split_whitespace();
        if let (Some(name), Some(url)) = (words.next(), words.next()) {
            if url.starts_with("http://") {
                services.push((name.to_owned(), url.to_owned()));
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, banner, services, logs)
}

fn url_of<'a>(services: &'a [(String, String)], name: &str) -> &'a str {
    &services
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not printed: {services:?}"))
        .1
}

#[tokio::test]
async fn the_quick_start_flow_works_on_the_embedded_default() {
    let banner = quick_start_flow(&[]).await;
    assert!(
        banner.iter().any(|l| l.contains("bus: in-process")),
        "{banner:?}"
    );
    assert!(
        banner
            .iter()
            .any(|l| l.contains("sqlite://data/deepinfluence.db (sqlite)")),
        "{banner:?}"
    );
}

/// `deepinfluence sfu` on its own serves the media node's internal API on
/// the bus, for a signalling service in another process.
#[tokio::test]
async fn the_sfu_alone_answers_over_the_bus() {
    use media::node::remote::RemoteNode;
    use proto::sfu::{Join, Request, Role, Sdp, SfuError};

    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let node = format!("cli-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = binary(dir.path());
    cmd.arg("sfu");
    let (mut child, banner, _, _) = start_with(
        cmd,
        &[("REDIS_URL", &redis), ("DI_SFU__MEDIA__NODE", &node)],
    );
    let stream = format!("sfu.{node}.requests");
    assert!(banner.iter().any(|l| l.contains(&stream)), "{banner:?}");

    let bus = platform::bus::Bus::connect(Some(&redis), Duration::from_secs(5))
        .await
        .unwrap();
    let remote = RemoteNode::connect(bus, &node).await.unwrap();
    let welcome = remote
        .join(Join {
            room: "cli-room".into(),
            participant: "viewer".into(),
            role: Role::Viewer,
            may_publish: vec![],
            offer: None,
            tracks: vec![],
        })
        .await
        .expect("the node answers a join");
    let Sdp::Offer(offer) = welcome.sdp else {
        panic!("a join without an offer gets the node's offer");
    };
    assert!(offer.contains("a=ice-lite"), "{offer}");
    assert!(offer.contains("webrtc-datachannel"), "{offer}");
    assert_eq!(
        remote.request("cli-room", "nobody", Request::Leave).await,
        Err(SfuError::UnknownParticipant("nobody".into()))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The same binary on PostgreSQL and Redis, switched by the environment alone.
#[tokio::test]
async fn the_quick_start_flow_works_on_postgresql_and_redis() {
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let name = format!("di_test_cli_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([admin.as_str(), "-qc", sql])
            .output()
            .expect("psql (run scripts/test)");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let banner = quick_start_flow(&[("DATABASE_URL", &url), ("REDIS_URL", &redis)]).await;
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
    assert!(
        banner.iter().any(|l| l.contains("bus: redis")),
        "{banner:?}"
    );
    assert!(
        banner
            .iter()
            .any(|l| l.contains("(postgres)") && l.contains(":***@")),
        "password hidden: {banner:?}"
    );
}

/// The README's flow, against the real binary: health everywhere, sign-up,
/// the emailed link from the outbox, login, a profile edit, an administrator
/// from the command line, metrics, then a graceful stop. Returns the banner.
async fn quick_start_flow(env: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, banner, services, logs) = start(dir.path(), env);
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["control", "signalling", "sfu", "recorder"],
        "serve starts every service and says where"
    );
    let http = reqwest::Client::new();
    for (name, url) in &services {
        let health = get_json(&http, format!("{url}/healthz")).await;
        assert_eq!(health["status"], "ok", "{name}");
        let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{name} ready");
    }
    let api = url_of(&services, "control");

    let r = http
        .post(format!("{api}/api/v1/auth/signup"))
        .json(&json!({ "first_name": "Amel", "last_name": "Gharbi", "email": "amel@example.tn", "password": PASSWORD, "language": "en" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The verification link is in the outbox under ./data, as the README says.
    let outbox = dir.path().join("data/outbox");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mail = std::fs::read_to_string(mail).unwrap();
    let link = mail
        .lines()
        .find(|l| l.starts_with("http") && l.contains("verify-email"))
        .unwrap();
    assert!(
        link.starts_with(api),
        "the link points at the server that sent it: {link}"
    );
    assert_eq!(http.get(link).send().await.unwrap().status(), 200);

    let tokens = login(&http, api, "amel@example.tn", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(tokens["account"]["email_verified"], true);
    let r = http
        .patch(format!("{api}/api/v1/accounts/{id}"))
        .bearer_auth(access)
        .json(&json!({ "bio": "Conseil en finances personnelles", "interests": ["finance"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let public = get_json(&http, format!("{api}/api/v1/accounts/{id}")).await;
    assert_eq!(public["bio"], "Conseil en finances personnelles");

    // A pack of coins bought with the sandbox provider, as the README shows.
    let buy: Value = http
        .post(format!("{api}/api/v1/wallet/purchases"))
        .bearer_auth(access)
        .header("idempotency-key", "first-pack")
        .json(&json!({ "pack": 0, "provider": "sandbox" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pay = buy["checkout_url"].as_str().unwrap();
    let paid = http.post(format!("{pay}/pay")).send().await.unwrap();
    assert_eq!(paid.status(), 200);
    let wallet = http
        .get(format!("{api}/api/v1/wallet"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(wallet["coins"], 20);

    // The first administrator, created from the command line beside the running server.
    let mut create = binary(dir.path())
        .envs(env.iter().copied())
        .args([
            "admin",
            "create",
            "--email",
            "root@example.tn",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "Sunrise-Tunis-77").unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("administrator created: root@example.tn"));
    let admin = login(&http, api, "root@example.tn", "Sunrise-Tunis-77").await;
    let list = http
        .get(format!("{api}/api/v1/admin/accounts"))
        .bearer_auth(
            admin["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("admin login: {admin}")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    assert_eq!(
        list.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let metrics = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"http_requests_total{method="POST",route="/api/v1/auth/signup",service="control",status="201"} 1"#));

    // SIGTERM: a graceful stop with exit status 0.
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait(&mut server, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let logs: Vec<String> = logs.try_iter().collect();
    assert!(!logs.is_empty());
    for line in &logs {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("DI_LOG_FORMAT=json line is not JSON ({e}): {line}"));
        assert!(entry.get("level").is_some() && entry.get("timestamp").is_some());
    }
    assert!(
        logs.iter()
            .any(|l| l.contains("email written to outbox") && l.contains("verify-email?token=")),
        "the link is logged"
    );
    banner
}

async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

async fn login(http: &reqwest::Client, api: &str, email: &str, password: &str) -> Value {
    http.post(format!("{api}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_configuration_is_a_clear_startup_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let with = |command: &str, var: &str, value: &str| {
        let out = binary(dir.path())
            .arg(command)
            .env(var, value)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let run = |var: &str, value: &str| with("migrate", var, value);
    let (code, err) = run("DI_CONTROL__AUTH__MAX_FAILED_LOGINS", "lots");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("control.auth.max_failed_logins") && err.contains("DI_"),
        "{err}"
    );
    let (code, err) = run("DI_CONTROL__LISTN", "127.0.0.1:1");
    assert_eq!(code, Some(2));
    assert!(err.contains("listn"), "an unknown key is named: {err}");
    let (code, err) = run("DI_LOG_FORMAT", "xml");
    assert_eq!(code, Some(2));
    assert!(err.contains("log_format"), "{err}");
    let (code, err) = run("DATABASE_URL", "mysql://admin:hunter2@localhost/x");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("database_url") && err.contains("`mysql`"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the password is not printed: {err}"
    );

    // Values of the right type that still cannot work: found while starting.
    let start_with = |var: &str, value: &str| with("control", var, value);
    for (var, value, key) in [
        (
            "DI_CONTROL__AUTH__SECRET",
            "too-short",
            "control.auth.secret",
        ),
        (
            "DI_CONTROL__MAIL__FROM",
            "not an address",
            "control.mail.from",
        ),
        (
            "DI_CONTROL__MAIL__SMTP_URL",
            "ftp://nope",
            "control.mail.smtp_url",
        ),
        ("DI_CONTROL__LISTEN", "localhost", "control.listen"),
        (
            "DI_CONTROL__AUTH__ACCESS_TOKEN_TTL",
            "90days",
            "control.auth.refresh_token_ttl",
        ),
        (
            "DI_CONTROL__PAYMENTS__PROVIDERS",
            "[konnect]",
            "control.payments.konnect.api_key",
        ),
        (
            "DI_CONTROL__PAYMENTS__PROVIDERS",
            "[flouci]",
            "control.payments.flouci.public_key",
        ),
        (
            "DI_CONTROL__PAYMENTS__PROVIDERS",
            "[clictopay]",
            "control.payments.clictopay.user_name",
        ),
        (
            "DI_CONTROL__PAYMENTS__PROVIDERS",
            "[paypal]",
            "control.payments.paypal.client_id",
        ),
        (
            "DI_CONTROL__PAYMENTS__PROVIDERS",
            "[bitcoin]",
            "control.payments.providers",
        ),
        ("DI_CONTROL__PAYMENTS__MIN_COINS", "0", "control.payments"),
        (
            "DI_CONTROL__EXPERTS__DOCUMENTS_KEY",
            "c2hvcnQ=",
            "control.experts.documents_key",
        ),
        (
            "DI_CONTROL__EXPERTS__VAT_PERCENT_BP",
            "10001",
            "control.experts.vat_percent_bp",
        ),
    ] {
        let (code, err) = start_with(var, value);
        assert_eq!(code, Some(2), "{var}: {err}");
        assert!(err.contains(key), "{var}: the key is named: {err}");
    }
    let out = binary(dir.path())
        .args(["--config", "missing.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn a_config_file_is_read_and_migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("di.toml"),
        "data_dir = \"state\"\n[control.auth]\nmax_failed_logins = 3\n",
    )
    .unwrap();
    let out = binary(dir.path())
        .args(["--config", "di.toml", "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("migrations applied to sqlite://state/deepinfluence.db"));
    assert!(dir.path().join("state/deepinfluence.db").exists());
}

#[test]
fn help_documents_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_deepinfluence"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "serve",
        "control",
        "sfu",
        "signalling",
        "recorder",
        "migrate",
        "admin",
    ] {
        assert!(help.contains(command), "{command} in --help");
    }
}

#[test]
fn admin_create_refuses_bad_input_and_duplicates_with_the_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let create = |email: &str, password: &str| {
        let mut child = binary(dir.path())
            .args(["admin", "create", "--email", email, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = create("not-an-email", "short");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("email: not a valid email address") && err.contains("password: at least 10"),
        "{err}"
    );
    assert_eq!(create("ops@example.tn", "Sunrise-Tunis-77").0, Some(0));
    let (code, err) = create("OPS@example.tn", "Sunrise-Tunis-77");
    assert_eq!(code, Some(1));
    assert!(err.contains("already exists"), "{err}");
}
