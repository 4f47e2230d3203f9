//! Reporting a profile or a message to the moderators. Any signed-in
//! account may report a profile; a message only a participant of its
//! conversation (others are told there is no such message). A repeated
//! report adds nothing to the queue.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::timestamp;
use crate::accounts::{self, Status};
use crate::moderation::store::{self, Report};
use crate::moderation::{self, Reason, ReportState, TargetKind};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// `profile` or `message`.
    pub target_kind: TargetKind,
    /// The reported account's id, or the message's.
    pub target_id: String,
    pub reason: Reason,
    /// What happened, up to 2,000 characters.
    pub details: Option<String>,
}

/// A report as its author sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: String,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub reason: Reason,
    pub details: Option<String>,
    pub state: ReportState,
    pub created_at: String,
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        ReportView {
            id: r.id.clone(),
            target_kind: r.target_kind,
            target_id: r.target_id.clone(),
            reason: r.reason,
            details: r.details.clone(),
            state: r.state,
            created_at: timestamp(r.created_at),
        }
    }
}

/// Report a profile or a message of one's own conversations. 201 with the
/// new report; 200 with the one already open if the caller reported this
/// target before and it is not yet handled.
#[utoipa::path(post, path = "/api/v1/reports", tag = "moderation", security(("bearer" = [])),
    request_body = NewReport,
    responses((status = 201, body = ReportView), (status = 200, body = ReportView, description = "already reported, still open"),
        (status = 404, body = Problem), (status = 422, body = Problem, description = "validation_failed: a bad field, oneself or one's own message")))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewReport>,
) -> ApiResult<(StatusCode, Json<ReportView>)> {
    let mut errors = Vec::new();
    let details = moderation::text("details", req.details, moderation::MAX_DETAILS, &mut errors);
    // The account reported: the profile's, or the message's sender.
    let author = match req.target_kind {
        TargetKind::Profile => req.target_id.clone(),
        TargetKind::Message => {
            let mut conn = state.db.pool().acquire().await?;
            let (m, _) = state
                .messaging
                .message_for(&mut conn, &req.target_id, &caller.account_id)
                .await?;
            m.sender_id
        }
    };
    if author == caller.account_id {
        errors.push(FieldError::new(
            "target_id",
            "self",
            "you cannot report yourself",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if req.target_kind == TargetKind::Profile {
        accounts::store::by_id(state.db.pool(), &req.target_id)
            .await?
            .filter(|a| a.status != Status::Deleted)
            .ok_or_else(|| ApiError::not_found("account"))?;
    }
    let new = Report {
        id: uuid::Uuid::now_v7().to_string(),
        reporter_id: caller.account_id,
        target_kind: req.target_kind,
        target_id: req.target_id,
        reason: req.reason,
        details,
        state: ReportState::Open,
        created_at: state.now(),
        closed_at: None,
        closed_by: None,
    };
    let (report, created) = store::file(state.db.pool(), &new).await?;
    let status = if created {
        tracing::info!(report = %report.id, kind = report.target_kind.as_str(), target = %report.target_id, reason = report.reason.as_str(), "reported");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ReportView::from(&report))))
}
