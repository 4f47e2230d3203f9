//! Logs and metrics. Logs go to stderr through `tracing` (human, or JSON for
//! log shippers); metrics live in a `Registry` the process creates once and
//! hands to each service, so tests can run several servers side by side.

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable; coloured when stderr is a terminal.
    #[default]
    Auto,
    Human,
    Json,
}

/// Installs the global subscriber. `filter` uses `RUST_LOG` syntax, e.g.
/// `info,control=debug`.
pub fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_new(filter).map_err(|e| crate::config::ConfigError::key("log_level", e))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Human => builder.with_ansi(false).try_init(),
        LogFormat::Auto => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// The metrics of one process: its registry and the families every service
/// records into. Created once and cloned into each service.
#[derive(Clone)]
pub struct Telemetry {
    pub registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

const HTTP_LABELS: &[&str] = &["service", "method", "route", "status"];

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            HTTP_LABELS,
        )
        .expect("valid metric definition");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            HTTP_LABELS,
        )
        .expect("valid metric definition");
        // A fresh registry holds none of these yet, so registration cannot clash.
        registry
            .register(Box::new(requests.clone()))
            .expect("fresh registry");
        registry
            .register(Box::new(duration.clone()))
            .expect("fresh registry");
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("fresh registry");
        Telemetry {
            registry,
            requests,
            duration,
        }
    }

    /// The request recorder for one service, labelled with its name.
    pub fn http(&self, service: &'static str) -> HttpMetrics {
        HttpMetrics {
            service,
            telemetry: self.clone(),
        }
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        out
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone)]
pub struct HttpMetrics {
    service: &'static str,
    telemetry: Telemetry,
}

/// Axum middleware recording every request. The route label is the matched
/// route template (`/api/v1/accounts/{id}`), never the raw path, so label
/// cardinality stays bounded.
pub async fn record_http(
    State(metrics): State<HttpMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        metrics.service,
        method.as_str(),
        route.as_str(),
        status.as_str(),
    ];
    let t = &metrics.telemetry;
    t.requests.with_label_values(&labels).inc();
    t.duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
