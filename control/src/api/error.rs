//! Every error a client sees is an RFC 7807 problem document with a stable
//! `code`. Internal failures are logged with a reference the client gets, and
//! nothing about them leaks.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use proto::{FieldError, Problem};

#[derive(Debug)]
pub struct ApiError {
    problem: Problem,
    retry_after_secs: Option<u64>,
    internal: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        ApiError { problem: Problem::new(status.as_u16(), code, title), retry_after_secs: None, internal: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.problem = self.problem.with_detail(detail);
        self
    }

    pub fn fields(mut self, errors: Vec<FieldError>) -> Self {
        self.problem = self.problem.with_errors(errors);
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "The request has invalid fields").fields(errors)
    }

    pub fn unauthorized(code: &str, title: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, title)
    }

    pub fn forbidden(title: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", title)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", &format!("No such {what}"))
    }

    pub fn conflict(code: &str, title: &str) -> Self {
        Self::new(StatusCode::CONFLICT, code, title)
    }

    /// 429 with `Retry-After` rounded up to whole seconds.
    pub fn too_many(code: &str, title: &str, retry_after_ms: i64) -> Self {
        let secs = u64::try_from(retry_after_ms.max(1)).unwrap_or(1).div_ceil(1000);
        ApiError { retry_after_secs: Some(secs), ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, title) }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError {
            internal: Some(e.into()),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error")
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if let Some(e) = &self.internal {
            let reference = uuid::Uuid::new_v4();
            tracing::error!(%reference, error = ?e, "request failed");
            self.problem = self.problem.with_detail(format!("Reference {reference}"));
        }
        let status = StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = platform::http::problem_response(&self.problem);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
