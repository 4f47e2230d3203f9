//! Every error a client sees is an RFC 7807 problem document with a stable
//! `code`. Internal failures are logged with a reference the client gets, and
//! nothing about them leaks.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use proto::{FieldError, Problem};

/// Boxed: handlers pass errors by value through every `?`, so keep it one pointer.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    problem: Problem,
    retry_after_secs: Option<u64>,
    internal: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        ApiError(Box::new(Inner {
            problem: Problem::new(status.as_u16(), code, title),
            retry_after_secs: None,
            internal: None,
        }))
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.problem.detail = Some(detail.into());
        self
    }

    pub fn fields(mut self, errors: Vec<FieldError>) -> Self {
        self.0.problem.errors = errors;
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request has invalid fields",
        )
        .fields(errors)
    }

    /// 400 `invalid_query`: a query parameter that does not make sense,
    /// `message` saying which and why.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Invalid query parameters",
        )
        .detail(message)
    }

    pub fn unauthorized(code: &str, title: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, title)
    }

    pub fn forbidden(title: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", title)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("No such {what}"),
        )
    }

    pub fn conflict(code: &str, title: &str) -> Self {
        Self::new(StatusCode::CONFLICT, code, title)
    }

    /// 429 with `Retry-After` rounded up to whole seconds.
    pub fn too_many(code: &str, title: &str, retry_after_ms: i64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, code, title);
        error.0.retry_after_secs = Some(
            u64::try_from(retry_after_ms.max(1))
                .unwrap_or(1)
                .div_ceil(1000),
        );
        error
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        );
        error.0.internal = Some(e.into());
        error
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

impl From<crate::notify::NotifyError> for ApiError {
    fn from(e: crate::notify::NotifyError) -> Self {
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut inner = *self.0;
        if let Some(e) = &inner.internal {
            let reference = uuid::Uuid::new_v4();
            tracing::error!(%reference, error = ?e, "request failed");
            inner.problem.detail = Some(format!("Reference {reference}"));
        }
        let mut response = platform::http::problem_response(&inner.problem);
        let status = response.status();
        let headers = response.headers_mut();
        if let Some(secs) = inner.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
