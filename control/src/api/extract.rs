//! Request extractors that answer bad input with problem documents naming the
//! offending field, instead of axum's plain-text rejections.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use proto::FieldError;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

/// A raw body (a chunk of an upload). One over the route's body limit is
/// 413 `payload_too_large`, a problem document like every refusal.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(too_large)
    }
}

fn too_large(e: axum::extract::rejection::BytesRejection) -> ApiError {
    ApiError::new(
        e.status(),
        "payload_too_large",
        "The request body is too large",
    )
    .detail(e.body_text())
}

/// A JSON body. Syntax errors are 400 `malformed_json`; a field of the wrong
/// type is 422 `validation_failed` with the field's path.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v == "application/json" || v.ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(too_large)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "The body is not valid JSON",
            )
            .detail(e.to_string())
        })?;
        // JSON may carry NUL as \u0000; PostgreSQL refuses it in text, and no
        // field of ours has a use for it.
        if let Some(field) = find_nul(&value, String::new()) {
            return Err(ApiError::validation(vec![FieldError::new(
                field,
                "invalid",
                "must not contain NUL characters",
            )]));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                ApiError::validation(vec![field_error(path, message)])
            })
    }
}

/// Names the field a deserialisation error is about. A missing field is
/// reported at the enclosing object with its name only in the message
/// (``missing field `email` ``); an unknown one already carries it in the path.
fn field_error(path: String, message: String) -> FieldError {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = quoted("missing field `") {
        let field = if path == "." {
            name
        } else {
            format!("{path}.{name}")
        };
        FieldError::new(field, "required", "is required")
    } else if let Some(name) = quoted("unknown field `") {
        let field = if path == "." { name } else { path };
        FieldError::new(field, "unknown", message)
    } else {
        FieldError::new(path, "invalid", message)
    }
}

/// The path of the first string (or key) holding a NUL character.
fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { ".".into() } else { path })
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                find_nul(v, here)
            }
        }),
        _ => None,
    }
}

/// The `Idempotency-Key` header a request that moves money must carry: the
/// same key makes a retry return what the first request did. 400
/// `idempotency_key_required` without one.
pub fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "An Idempotency-Key header is required",
            )
        })
}

/// Query parameters, refused with 400 `invalid_query` when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if parts
            .uri
            .query()
            .is_some_and(|q| q.to_ascii_lowercase().contains("%00"))
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Query parameters must not contain NUL characters",
            ));
        }
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "Invalid query parameters",
                )
                .detail(e.body_text())
            })
    }
}

/// The client's address, for rate limiting: the TCP peer, or the last
/// `X-Forwarded-For` hop when configured to trust a proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.settings.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|ip| ip.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("server started without connect info"))
            })?;
        Ok(ClientIp(peer))
    }
}

impl ClientIp {
    /// Spends one request of this address's allowance for sensitive endpoints.
    pub fn throttle(&self, state: &AppState) -> Result<(), ApiError> {
        state
            .auth_limiter
            .check(&self.0.to_string(), state.now())
            .map_err(|wait| {
                state.metrics.rate_limited();
                ApiError::too_many(
                    "rate_limited",
                    "Too many requests from this address; retry later",
                    wait,
                )
            })
    }
}
