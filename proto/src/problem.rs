//! RFC 7807 problem details: the one error shape every HTTP API of ours returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of a problem document (RFC 7807 section 6.1).
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error answered to a client. `code` is stable and meant for programs;
/// `title` and `detail` are for people and may change wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; it ends with `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable error code, e.g. `email_taken`.
    pub code: String,
    /// For validation failures: one entry per offending field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body, e.g. `email` or `notifications.sms`.
    pub field: String,
    /// Stable code: `required`, `invalid`, `too_long`, `too_short`, `weak`...
    pub code: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: u16, code: &str, title: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("urn:deepinfluence:problem:{code}"),
            title: title.into(),
            status,
            detail: None,
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_rfc7807_with_type_ending_in_code() {
        let p = Problem::new(409, "email_taken", "Email already registered")
            .with_errors(vec![FieldError::new("email", "taken", "in use")]);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:deepinfluence:problem:email_taken");
        assert_eq!(v["status"], 409);
        assert_eq!(v["errors"][0]["field"], "email");
        assert!(v.get("detail").is_none(), "absent detail is omitted");
    }
}
