//! `deepinfluence`: every DeepInfluence service in one binary. With no
//! subcommand it runs them all in one process (`serve`).

mod config;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use platform::bus::Bus;
use platform::http::{self, with_ops, Readiness};
use platform::telemetry::{self, Telemetry};
use platform::{Clock, Database, SystemClock};
use tokio::sync::watch;

use config::Config;

#[derive(Parser)]
#[command(
    name = "deepinfluence",
    version,
    about = "DeepInfluence: paid consultations with experts, on our own media server"
)]
struct Cli {
    /// TOML configuration file. Environment variables (DI_*, DATABASE_URL,
    /// REDIS_URL) override it; see docs/configuration.md.
    #[arg(long, short, global = true, env = "DI_CONFIG_FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in one process (the default).
    Serve,
    /// Run the control plane (REST API) alone.
    Control,
    /// Run the SFU alone.
    Sfu,
    /// Run the signalling service alone.
    Signalling,
    /// Run the recorder alone.
    Recorder,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator account (active, email verified).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        first_name: String,
        #[arg(long, default_value = "DeepInfluence")]
        last_name: String,
        /// Read the password from standard input instead of prompting. With
        /// neither a terminal nor this flag, a strong password is generated
        /// and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Mint a room token for trying a call by hand (printed alone on stdout).
    RoomToken {
        #[arg(long)]
        room: String,
        #[arg(long)]
        participant: String,
        /// host, participant or viewer.
        #[arg(long, default_value = "participant")]
        role: String,
        /// What the participant may publish: camera, microphone, screen,
        /// comma-separated; `none` for nothing. Default: all three, or none
        /// for a viewer.
        #[arg(long)]
        publish: Option<String>,
        /// Lifetime, e.g. `10m` or `1h`; a negative one (`-1s`) mints an
        /// already expired token, for testing refusals.
        #[arg(long, default_value = "1h", allow_hyphen_values = true)]
        ttl: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match platform::config::load::<Config>(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("deepinfluence: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = telemetry::init_logging(config.log_format, &config.log_level) {
        eprintln!("deepinfluence: {e:#}");
        return std::process::ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deepinfluence: {e:#}");
            // A value that cannot work is the operator's to fix: status 2, as
            // for values that do not even parse.
            if e.chain().any(|c| c.is::<platform::config::ConfigError>()) {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config, &Service::ALL).await,
        Command::Control => serve(config, &[Service::Control]).await,
        Command::Signalling => serve(config, &[Service::Signalling]).await,
        Command::Sfu => serve(config, &[Service::Sfu]).await,
        Command::Recorder => serve(config, &[Service::Recorder]).await,
        Command::Migrate => {
            let db = database(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url()));
            db.close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::Create {
            email,
            first_name,
            last_name,
            password_stdin,
        }) => {
            let (password, generated) = admin_password(password_stdin)?;
            let db = database(&config).await?;
            let account = control::bootstrap::create_admin(
                &db,
                &SystemClock,
                &email,
                &first_name,
                &last_name,
                &password,
            )
            .await?;
            println!("administrator created: {} ({})", account.email, account.id);
            if generated {
                println!("generated password (shown once): {password}");
            }
            db.close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::RoomToken {
            room,
            participant,
            role,
            publish,
            ttl,
        }) => {
            let claims = room_claims(room, participant, &role, publish.as_deref(), &ttl)?;
            let secret = control::state::room_token_secret(&config.control, &config.data_dir)?;
            println!(
                "{}",
                platform::room_token::RoomTokens::new(secret.as_bytes()).mint(&claims)
            );
            Ok(())
        }
    }
}

fn room_claims(
    room: String,
    participant: String,
    role: &str,
    publish: Option<&str>,
    ttl: &str,
) -> anyhow::Result<proto::room_token::RoomClaims> {
    use proto::sfu::{Role, Source};
    let role: Role = serde_json::from_value(serde_json::Value::String(role.to_owned()))
        .map_err(|_| anyhow::anyhow!("--role must be host, participant or viewer"))?;
    let publish = match publish {
        None if role == Role::Viewer => Vec::new(),
        None => vec![Source::Camera, Source::Microphone, Source::Screen],
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                serde_json::from_value(serde_json::Value::String(s.trim().to_owned())).map_err(
                    |_| anyhow::anyhow!("--publish takes camera, microphone, screen or none"),
                )
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let (sign, span) = match ttl.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, ttl),
    };
    let seconds = humantime::parse_duration(span)
        .map_err(|e| anyhow::anyhow!("--ttl {ttl:?}: {e}"))?
        .as_secs() as i64;
    let now = SystemClock.now_ms() / 1000;
    Ok(proto::room_token::RoomClaims {
        sub: participant,
        room,
        role,
        publish,
        call: None,
        iat: now,
        exp: now + sign * seconds,
    })
}

fn admin_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false));
    }
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password for the administrator: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(password == again, "the two passwords differ");
        return Ok((password, false));
    }
    Ok((control::auth::tokens::random_token(), true))
}

/// Connects and brings the schema up to date; every command that touches the
/// database starts here, so a fresh data directory just works.
async fn database(config: &Config) -> anyhow::Result<Database> {
    let url = config.database_url();
    let db = match Database::connect(&url).await {
        Ok(db) => db,
        Err(e @ platform::db::DbError::UnsupportedUrl(_)) => {
            return Err(platform::config::ConfigError::key("database_url", e).into())
        }
        Err(e) => {
            return Err(anyhow::Error::from(e)
                .context(format!("cannot open the database {}", redact(&url))))
        }
    };
    control::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

/// Hides the password of a database or Redis URL for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Control,
    Signalling,
    Sfu,
    Recorder,
}

impl Service {
    const ALL: [Service; 4] = [
        Service::Control,
        Service::Signalling,
        Service::Sfu,
        Service::Recorder,
    ];

    fn name(self) -> &'static str {
        match self {
            Service::Control => "control",
            Service::Signalling => "signalling",
            Service::Sfu => "sfu",
            Service::Recorder => "recorder",
        }
    }

    fn listen(self, config: &Config) -> String {
        match self {
            Service::Control => config.control.listen.clone(),
            Service::Signalling => config.signalling.listen.clone(),
            Service::Sfu => config.sfu.listen.clone(),
            Service::Recorder => config.recorder.listen.clone(),
        }
    }

    fn serves(self) -> &'static str {
        match self {
            Service::Control => "REST API /api/v1, docs /api/docs",
            Service::Signalling => "WebSocket /v1/signal, demo page /demo",
            Service::Sfu => "health and metrics; media on the UDP ports below",
            Service::Recorder => "health and metrics only: recording is not built yet",
        }
    }
}

async fn serve(mut config: Config, services: &[Service]) -> anyhow::Result<()> {
    let telemetry = Telemetry::new();
    let bus = Bus::connect(config.redis_url.as_deref(), Bus::DEFAULT_REDELIVER_AFTER)
        .await
        .with_context(|| {
            format!(
                "cannot connect to the bus at {}",
                redact(config.redis_url.as_deref().unwrap_or(""))
            )
        })?;
    let bus_check = {
        let bus = bus.clone();
        move || {
            let bus = bus.clone();
            async move { bus.ping().await.map_err(|e| e.to_string()) }
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut tasks = tokio::task::JoinSet::new();
    let mut addresses = Vec::new();
    let mut lines = Vec::new();
    let media = match services.contains(&Service::Sfu) {
        true => Some(start_media(&config, &bus, &telemetry, services)?),
        false => None,
    };
    let signalling = match services.contains(&Service::Signalling) {
        true => Some(start_signalling(&config, &bus, &telemetry, media.as_ref()).await?),
        false => None,
    };
    let media = media.map(|(node, _)| node);
    if let Some(node) = &media {
        let ports: Vec<String> = node.addresses().iter().map(|a| a.to_string()).collect();
        lines.push(format!("  media       udp {}", ports.join(", ")));
        if !services.contains(&Service::Signalling) {
            lines.push(format!(
                "  media api   bus stream {}",
                media::node::remote::request_stream(&config.sfu.media.node)
            ));
        }
    }

    for &service in services {
        let name = service.name();
        let listener = http::bind(&format!("{name}.listen"), &service.listen(&config)).await?;
        let addr = listener.local_addr()?;
        let router = if service == Service::Control {
            let db = database(&config).await?;
            lines.push(format!(
                "  database    {} ({})",
                redact(&config.database_url()),
                db.backend().name()
            ));
            if config.control.public_url.is_none() {
                config.control.public_url = Some(format!("http://{addr}"));
            }
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let state = control::AppState::new(
                config.control.clone(),
                &config.data_dir,
                db.clone(),
                clock,
                bus.clone(),
                &telemetry,
            )
            .await?;
            control::maintenance::spawn(state.clone());
            lines.push(format!("  mail        {}", state.mailer.describe()));
            lines.push(format!("  objects     {}", state.objects.describe()));
            let readiness = Readiness::default()
                .check("database", move || {
                    let db = db.clone();
                    async move { db.ping().await.map_err(|e| e.to_string()) }
                })
                .check("bus", bus_check.clone());
            let router = control::router(state, &telemetry, readiness);
            // One origin for the API, the demo page and its WebSocket.
            match &signalling {
                Some(s) => router.merge(s.router()),
                None => router,
            }
        } else if let (Service::Signalling, Some(s)) = (service, &signalling) {
            let readiness = Readiness::default().check("bus", bus_check.clone());
            with_ops(s.router(), name, &telemetry, readiness)
        } else {
            let mut readiness = Readiness::default().check("bus", bus_check.clone());
            if let (Service::Sfu, Some(node)) = (service, &media) {
                let node = node.clone();
                readiness = readiness.check("media", move || {
                    let node = node.clone();
                    async move { node.alive().await.map_err(|e| e.to_string()) }
                });
            }
            with_ops(axum::Router::new(), name, &telemetry, readiness)
        };
        addresses.push(format!(
            "  {name:<11} http://{addr}  ({})",
            service.serves()
        ));
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            http::serve(listener, router, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .with_context(|| format!("{name} stopped"))
        });
    }
    println!(
        "DeepInfluence {} is running ({} service{}, bus: {}):",
        env!("CARGO_PKG_VERSION"),
        services.len(),
        if services.len() == 1 { "" } else { "s" },
        bus.kind()
    );
    for line in addresses.iter().chain(&lines) {
        println!("{line}");
    }
    println!("  health      /healthz, /readyz and /metrics on every address above");

    tokio::select! {
        _ = http::shutdown_signal() => {}
        Some(result) = tasks.join_next() => {
            result??;
        }
    }
    let _ = stop_tx.send(true);
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    if let Some(node) = media {
        // Joining the worker threads blocks; the relay then hands over the
        // last presence reports.
        tokio::task::spawn_blocking(move || drop(node)).await?;
    }
    Ok(())
}

type RoomEvents = tokio::sync::broadcast::Sender<proto::sfu::Event>;

/// Starts the media node's workers and the relay carrying their reports.
fn start_media(
    config: &Config,
    bus: &Bus,
    telemetry: &Telemetry,
    services: &[Service],
) -> anyhow::Result<(Arc<media::node::Node>, RoomEvents)> {
    let settings = config.sfu.media.clone();
    let (node, reports) = media::node::Node::start(settings, &telemetry.registry)
        .map_err(|e| platform::config::ConfigError::key("sfu.media.port", e))?;
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let relay = media::node::relay::Relay {
        bus: bus.clone(),
        events: events.clone(),
        // Signalling elsewhere learns of room changes through the bus.
        publish_events: !services.contains(&Service::Signalling),
    };
    tokio::spawn(relay.run(reports));
    let node = Arc::new(node);
    if !services.contains(&Service::Signalling) {
        // Signalling runs elsewhere and reaches this node over the bus.
        let name = config.sfu.media.node.clone();
        tokio::spawn(media::node::remote::serve(bus.clone(), node.clone(), name));
    }
    Ok((node, events))
}

/// Starts signalling on the media node of this process, or on the one named
/// in `signalling.sfu_node` across the bus.
async fn start_signalling(
    config: &Config,
    bus: &Bus,
    telemetry: &Telemetry,
    media: Option<&(Arc<media::node::Node>, RoomEvents)>,
) -> anyhow::Result<signalling::Signalling> {
    let sfu = match media {
        Some((node, events)) => signalling::Media::Local {
            node: node.clone(),
            events: events.clone(),
        },
        None => signalling::Media::Remote(Arc::new(
            media::node::remote::RemoteNode::connect(bus.clone(), &config.signalling.sfu_node)
                .await?,
        )),
    };
    let secret = control::state::room_token_secret(&config.control, &config.data_dir)?;
    signalling::Signalling::start(
        config.signalling.clone(),
        platform::room_token::RoomTokens::new(secret.as_bytes()),
        sfu,
        bus.clone(),
        Arc::new(SystemClock),
        &telemetry.registry,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
