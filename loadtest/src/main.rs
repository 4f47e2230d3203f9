//! `deepinfluence-loadtest`: synthetic participants against a running
//! DeepInfluence server, through its admin API and signalling, with a
//! progress line, a summary, JSON, and a non-zero exit when an SLO is
//! missed. See `loadtest/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadtest::deepinfluence::{AdminAuth, DeepInfluence};
use loadtest::janus::JanusTarget;
use loadtest::layout::{parse_size, Layout};
use loadtest::scenario::{self, Plan, Scenario};
use loadtest::slo::{parse_fraction, Slo};
use loadtest::target::Target;

#[derive(Parser)]
#[command(name = "deepinfluence-loadtest", version, about)]
struct Cli {
    #[command(subcommand)]
    scenario: Command,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum Command {
    /// N concurrent 1:1 rooms, camera and audio both ways.
    Consultations {
        #[arg(long, default_value_t = 20)]
        rooms: usize,
    },
    /// One room of N publishers, each receiving all the others.
    Meeting {
        #[arg(long, default_value_t = 8)]
        publishers: usize,
    },
    /// One simulcast publisher and N receive-only subscribers.
    Fanout {
        /// Subscribers, all asking for `--size` (or give `--layout`).
        #[arg(long, conflicts_with = "layout")]
        subscribers: Option<usize>,
        /// The size every subscriber asks for: q, h, f or WIDTHxHEIGHT.
        #[arg(long, default_value = "f", value_parser = size)]
        size: simpeer::Size,
        /// Subscribers by size, e.g. `q=10,h=20,f=20`.
        #[arg(long, value_parser = layout)]
        layout: Option<Layout>,
    },
}

fn size(text: &str) -> Result<simpeer::Size, String> {
    parse_size(text).map_err(|e| e.to_string())
}

fn layout(text: &str) -> Result<Layout, String> {
    Layout::parse(text).map_err(|e| e.to_string())
}

fn fraction(text: &str) -> Result<f64, String> {
    parse_fraction(text).map_err(|e| e.to_string())
}

/// `30`, `30s`, `2m` or `500ms`.
fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected e.g. 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("{text:?}: the unit is ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// The server under load.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TargetKind {
    /// `deepinfluence serve`: tokens from its admin API, joins through its signalling.
    Deepinfluence,
    /// Janus's VideoRoom plugin through its HTTP API (`fanout` only).
    Janus,
}

#[derive(Args)]
struct Common {
    /// The server under load.
    #[arg(long, global = true, value_enum, default_value = "deepinfluence")]
    target: TargetKind,
    /// Janus's HTTP API (`--target janus`).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8088/janus")]
    janus_url: String,
    /// The server's control-plane URL (`deepinfluence serve` prints it).
    #[arg(
        long,
        global = true,
        env = "DI_LOADTEST_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// An administrator's access token (or use --admin-email and --admin-password).
    #[arg(
        long,
        global = true,
        env = "DI_LOADTEST_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// An administrator's email, to log in with (`deepinfluence admin create`).
    #[arg(long, global = true, env = "DI_LOADTEST_ADMIN_EMAIL")]
    admin_email: Option<String>,
    #[arg(
        long,
        global = true,
        env = "DI_LOADTEST_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    admin_password: Option<String>,
    /// The server's process id on this machine: CPU and memory from /proc
    /// instead of its process metrics.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Participants starting to join per second.
    #[arg(long, global = true, default_value_t = 10.0)]
    join_rate: f64,
    /// How long to measure once everyone has their first frames.
    #[arg(long, global = true, default_value = "30s", value_parser = duration)]
    duration: Duration,
    /// Fraction of receivers that decode what they get (0 to 1, or a %).
    #[arg(long, global = true, default_value = "0.1", value_parser = fraction)]
    decode_sample: f64,
    /// Video frames per second of each published layer.
    #[arg(long, global = true, default_value_t = 15)]
    fps: u32,
    /// The pre-encoded loop's length: a keyframe starts each pass.
    #[arg(long, global = true, default_value = "3s", value_parser = duration)]
    keyframe_every: Duration,
    /// How long to wait for every first frame before measuring anyway.
    #[arg(long, global = true, default_value = "20s", value_parser = duration)]
    settle: Duration,
    /// A gap between two received video frames over this is a freeze.
    #[arg(long, global = true, default_value = "500ms", value_parser = duration)]
    freeze_after: Duration,
    /// SLO: the largest packet loss, e.g. `1%`.
    #[arg(long, global = true, value_parser = fraction)]
    max_loss: Option<f64>,
    /// SLO: the largest 99th percentile of end-to-end latency, in ms.
    #[arg(long, global = true)]
    max_latency_ms: Option<u64>,
    /// SLO: the most freezes over all received video.
    #[arg(long, global = true)]
    max_freezes: Option<u64>,
    /// Write the report as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// No progress line.
    #[arg(long, global = true)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let c = cli.common;
    let scenario = match cli.scenario {
        Command::Consultations { rooms } => Scenario::Consultations { rooms },
        Command::Meeting { publishers } => Scenario::Meeting { publishers },
        Command::Fanout {
            subscribers,
            size,
            layout,
        } => Scenario::Fanout {
            layout: layout.unwrap_or_else(|| Layout::all(size, subscribers.unwrap_or(50))),
        },
    };
    let target: Arc<dyn Target> = match c.target {
        TargetKind::Janus => {
            if !matches!(scenario, Scenario::Fanout { .. }) {
                eprintln!(
                    "deepinfluence-loadtest: --target janus runs the fanout scenario only \
                     (a Janus publisher receives nothing on its own connection)"
                );
                return ExitCode::from(2);
            }
            match JanusTarget::connect(&c.janus_url, c.pid).await {
                Ok(t) => Arc::new(t),
                Err(e) => {
                    eprintln!("deepinfluence-loadtest: {}: {e}", c.janus_url);
                    return ExitCode::from(3);
                }
            }
        }
        TargetKind::Deepinfluence => {
            let auth = match (c.admin_token, c.admin_email, c.admin_password) {
                (Some(token), _, _) => AdminAuth::Bearer(token),
                (None, Some(email), Some(password)) => AdminAuth::Password { email, password },
                _ => {
                    eprintln!(
                        "deepinfluence-loadtest: give --admin-token, or --admin-email and \
                         --admin-password (an administrator: `deepinfluence admin create --email ...`)"
                    );
                    return ExitCode::from(2);
                }
            };
            match DeepInfluence::connect(&c.url, auth, c.pid).await {
                Ok(t) => Arc::new(t),
                Err(e) => {
                    eprintln!("deepinfluence-loadtest: {}: {e}", c.url);
                    return ExitCode::from(3);
                }
            }
        }
    };
    let plan = Plan {
        scenario,
        join_rate: c.join_rate,
        duration: c.duration,
        decode_sample: c.decode_sample,
        fps: c.fps,
        keyframe_every: c.keyframe_every,
        settle: c.settle,
        freeze_after: c.freeze_after,
        progress: !c.quiet,
        slo: Slo {
            max_loss: c.max_loss,
            max_latency: c.max_latency_ms.map(Duration::from_millis),
            max_freezes: c.max_freezes,
        },
    };
    let report = match scenario::run(target, &plan).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("deepinfluence-loadtest: {e}");
            return ExitCode::from(3);
        }
    };
    print!("{report}");
    if let Some(path) = &c.json {
        let json = serde_json::to_string_pretty(&report).expect("reports serialise");
        if let Err(e) = std::fs::write(path, json + "\n") {
            eprintln!(
                "deepinfluence-loadtest: cannot write {}: {e}",
                path.display()
            );
            return ExitCode::from(3);
        }
    }
    match report.slo.missed.is_empty() {
        true => ExitCode::SUCCESS,
        false => {
            eprintln!(
                "deepinfluence-loadtest: SLO missed: {}",
                report.slo.missed.join("; ")
            );
            ExitCode::FAILURE
        }
    }
}
