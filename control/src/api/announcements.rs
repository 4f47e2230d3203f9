//! Administrators' announcements to every active account or a segment. The
//! answer comes at once; the notifications follow in batches (jobs).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Admins, Authorized};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::timestamp;
use crate::accounts::{validate, Language};
use crate::notify::announce::{self, Announcement, Segment};
use crate::state::AppState;

const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 2_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnnouncement {
    /// 1 to 120 characters.
    pub title: String,
    /// 1 to 2,000 characters.
    pub body: String,
    pub segment: Segment,
    /// Required with `segment: language`, refused otherwise.
    pub language: Option<Language>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub segment: Segment,
    pub language: Option<Language>,
    pub created_at: String,
}

fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else {
        validate::long_text(field, value, max, errors);
    }
}

/// Announce something to every active account, or to users, experts, or
/// the speakers of one language. Each gets it in their centre and on their
/// channels, like any notification; it is emitted in batches after the
/// answer (202).
#[utoipa::path(post, path = "/api/v1/admin/announcements", tag = "admin", security(("bearer" = [])),
    request_body = NewAnnouncement,
    responses((status = 202, body = AnnouncementView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn announce(
    State(state): State<AppState>,
    admin: Authorized<Admins>,
    ApiJson(body): ApiJson<NewAnnouncement>,
) -> ApiResult<(StatusCode, Json<AnnouncementView>)> {
    let admin = admin.0;
    let mut errors = Vec::new();
    text("title", &body.title, MAX_TITLE, &mut errors);
    text("body", &body.body, MAX_BODY, &mut errors);
    match (body.segment, body.language) {
        (Segment::Language, None) => errors.push(FieldError::new(
            "language",
            "required",
            "is required for the language segment",
        )),
        (Segment::All | Segment::Users | Segment::Experts, Some(_)) => errors.push(
            FieldError::new("language", "invalid", "only goes with the language segment"),
        ),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.now();
    let a = Announcement {
        id: uuid::Uuid::now_v7().to_string(),
        admin_id: admin.account_id.clone(),
        title: body.title.trim().to_owned(),
        body: body.body.trim().to_owned(),
        segment: body.segment,
        language: body.language,
    };
    let mut tx = state.db.begin_write().await?;
    announce::start(&mut tx, now, &a).await?;
    tx.commit().await?;
    tracing::info!(admin = %admin.account_id, announcement = %a.id, segment = a.segment.as_str(), "announcement queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(AnnouncementView {
            id: a.id,
            title: a.title,
            body: a.body,
            segment: a.segment,
            language: a.language,
            created_at: timestamp(now),
        }),
    ))
}
