//! Request extractors that answer bad input with problem documents naming the
//! offending field, instead of axum's plain-text rejections.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use proto::FieldError;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

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
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "payload_too_large",
                "The request body is too large",
            )
            .detail(e.body_text())
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(value) => Ok(ApiJson(value)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() || path == "." {
                    Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "malformed_json",
                        "The body is not valid JSON for this request",
                    )
                    .detail(inner.to_string()))
                } else {
                    Err(ApiError::validation(vec![FieldError::new(
                        path,
                        "invalid",
                        inner.to_string(),
                    )]))
                }
            }
        }
    }
}

/// Query parameters, refused with 400 `invalid_query` when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
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
