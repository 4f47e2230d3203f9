//! The HTTP shell every service shares: `/healthz`, `/readyz`, `/metrics`,
//! request metrics, and serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use proto::problem::{Problem, CONTENT_TYPE};

use crate::telemetry::{record_http, Telemetry};

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// Named dependency checks behind `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn check<F, Fut>(mut self, name: &'static str, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(f()))));
        self
    }
}

#[derive(Clone)]
struct Ops {
    telemetry: Telemetry,
    readiness: Readiness,
}

/// Adds the operational routes, request metrics and problem-document errors
/// to a service's router.
pub fn with_ops(
    router: Router,
    service: &'static str,
    telemetry: &Telemetry,
    readiness: Readiness,
) -> Router {
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Ops {
            telemetry: telemetry.clone(),
            readiness,
        });
    router
        .merge(ops)
        .layer(middleware::from_fn(problem_for_everything))
        .layer(middleware::from_fn_with_state(
            telemetry.http(service),
            record_http,
        ))
}

/// A problem document as a response.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).expect("problem serialises");
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// Turns error responses produced outside handlers (unknown route, wrong
/// method, body over the limit, a rejected path parameter, a caught panic)
/// into problem documents too, so clients parse one error format.
async fn problem_for_everything(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(CONTENT_TYPE.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        s if s.is_server_error() => "internal_error",
        _ => "http_error",
    };
    let mut problem = Problem::new(
        status.as_u16(),
        code,
        status.canonical_reason().unwrap_or("Error"),
    );
    let text = String::from_utf8_lossy(&text);
    // A server error's body may carry internals (a panic message); keep it out.
    if !text.trim().is_empty() && !status.is_server_error() {
        problem = problem.with_detail(text.trim());
    }
    let body = serde_json::to_vec(&problem).expect("problem serialises");
    parts.headers.insert(
        header::CONTENT_TYPE,
        CONTENT_TYPE.parse().expect("static header value"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// 200 when every check passes; otherwise a 503 problem document (`not_ready`)
/// listing each failing check and why.
async fn readyz(State(ops): State<Ops>) -> Response {
    let mut failed = Vec::new();
    for (name, check) in &ops.readiness.checks {
        if let Err(e) = check().await {
            // The details (hosts, drivers' words) go to the log, not to
            // whoever asks over HTTP.
            tracing::warn!(check = *name, error = %e, "readiness check failed");
            failed.push(proto::FieldError::new(*name, "unavailable", "unavailable"));
        }
    }
    if failed.is_empty() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        problem_response(
            &Problem::new(503, "not_ready", "A dependency is unavailable").with_errors(failed),
        )
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ops.telemetry.render(),
    )
        .into_response()
}

/// Binds `addr`, naming the service in the error so a port clash is obvious.
/// Binds the address configured under `key` (`host:port`; the host may be
/// a name). One without a valid port is a configuration error; one the
/// system refuses (in use, not ours, unknown host) names the key too.
pub async fn bind(key: &str, addr: &str) -> anyhow::Result<TcpListener> {
    let port_ok = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(
            crate::config::ConfigError::key(key, format!("`{addr}` is not host:port")).into(),
        );
    }
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (key `{key}`): {e}"))
}

/// Serves `router` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn readyz_fails_with_the_names_of_failing_checks_while_healthz_stays_up() {
        let readiness = Readiness::default()
            .check("database", || async { Ok(()) })
            .check("bus", || async { Err("connection refused".to_owned()) });
        let router = with_ops(Router::new(), "test", &Telemetry::new(), readiness);
        let (status, body) = call(router.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "not_ready");
        assert_eq!(
            body["errors"],
            serde_json::json!([{ "field": "bus", "code": "unavailable", "message": "unavailable" }])
        );
        assert_eq!(call(router.clone(), "/healthz").await.0, StatusCode::OK);
        let (status, body) = call(router, "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["code"], "not_found",
            "errors outside handlers are problem documents"
        );
    }
}
