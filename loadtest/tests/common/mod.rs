//! A DeepInfluence server in this process, assembled as `deepinfluence
//! serve` assembles it (control plane with signalling on its address, one
//! media node, the in-process bus, SQLite in a temporary directory), with
//! an administrator whose credentials the load test logs in with. In
//! process, because the `deepinfluence` binary belongs to another package
//! and may not be built when these tests run.

use std::sync::Arc;

use platform::bus::Bus;
use platform::http::Readiness;
use platform::room_token::RoomTokens;
use platform::telemetry::Telemetry;
use platform::{Database, SystemClock};

pub const ADMIN_EMAIL: &str = "loadtest-admin@example.tn";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple 42";

pub struct Server {
    /// The control plane's base URL, as `serve` prints it.
    pub url: String,
    /// Its tasks stop when it is dropped: kept for the server's lifetime.
    _signalling: signalling::Signalling,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(room_capacity: usize) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!(
            "sqlite://{}",
            dir.path().join("deepinfluence.db").display()
        ))
        .await
        .unwrap();
        control::migrate(&db).await.unwrap();
        control::bootstrap::create_admin(
            &db,
            &SystemClock,
            ADMIN_EMAIL,
            "Load",
            "Test",
            ADMIN_PASSWORD,
        )
        .await
        .unwrap();
        let telemetry = Telemetry::new();
        let bus = Bus::connect(None, Bus::DEFAULT_REDELIVER_AFTER)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let settings = control::Settings {
            public_url: Some(url.clone()),
            ..Default::default()
        };

        let config = media::node::Config {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            workers: 1,
            room_capacity,
            ..Default::default()
        };
        let (node, reports) = media::node::Node::start(config, &telemetry.registry).unwrap();
        let (events, _) = tokio::sync::broadcast::channel(1024);
        tokio::spawn(
            media::node::relay::Relay {
                bus: bus.clone(),
                events: events.clone(),
                publish_events: false,
            }
            .run(reports),
        );
        let secret = control::state::room_token_secret(&settings, dir.path()).unwrap();
        let signalling = signalling::Signalling::start(
            signalling::Settings::default(),
            RoomTokens::new(secret.as_bytes()),
            signalling::Media::Local {
                node: Arc::new(node),
                events,
            },
            bus.clone(),
            Arc::new(SystemClock),
            &telemetry.registry,
        )
        .await
        .unwrap();
        let state = control::AppState::new(
            settings,
            dir.path(),
            db,
            Arc::new(SystemClock),
            bus,
            &telemetry,
        )
        .await
        .unwrap();
        let router =
            control::router(state, &telemetry, Readiness::default()).merge(signalling.router());
        tokio::spawn(platform::http::serve(
            listener,
            router,
            std::future::pending(),
        ));
        Server {
            url,
            _signalling: signalling,
            _dir: dir,
        }
    }
}
