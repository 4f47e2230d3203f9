//! The administrators' side of moderation: the queue of reports, closing
//! them with a decision, hiding experts and messages, suspending accounts,
//! and the record of every action with its author and reason.

use axum::extract::{Path, State};
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized};
use super::admin;
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::experts::ExpertView;
use super::extract::{ApiJson, ApiQuery};
use super::reports::ReportView;
use super::views::{timestamp, AccountView};
use crate::accounts::{self, Role, Status};
use crate::experts::listing;
use crate::messaging::store as messages;
use crate::moderation::store::{self, NewAction, QueueItem, Recorded};
use crate::moderation::{self, Action, ReportState, TargetKind};
use crate::state::AppState;

type Admin = Authorized<Admins>;

/// Why an administrator acts; required, up to 1,000 characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Because {
    pub reason: String,
}

/// The decision that closes a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Dismiss,
    /// Profile reports.
    HideProfile,
    /// Profile reports.
    SuspendAccount,
    /// Message reports.
    HideMessage,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    pub action: Decision,
    pub reason: String,
}

fn reason_of(reason: String) -> ApiResult<String> {
    let mut errors = Vec::new();
    let reason = moderation::text(
        "reason",
        Some(reason),
        moderation::MAX_ACTION_REASON,
        &mut errors,
    );
    match reason {
        Some(r) if errors.is_empty() => Ok(r),
        Some(_) => Err(ApiError::validation(errors)),
        None => Err(ApiError::validation(vec![proto::FieldError::new(
            "reason",
            "required",
            "is required",
        )])),
    }
}

/// Applies `action` to `target` (a profile or a message) and records it;
/// with a report, closes every open report on that target in the same
/// transaction. A suspension goes through the accounts' own deactivation
/// first (sessions end at once): repeating a half-done close is harmless.
async fn act(
    state: &AppState,
    admin: &Admin,
    action: Action,
    (kind, target): (TargetKind, &str),
    reason: &str,
    report: Option<&str>,
) -> ApiResult<()> {
    if action == Action::SuspendAccount {
        admin::set_status(state, admin, target, Status::Deactivated, "suspend").await?;
    }
    let now = state.now();
    let admin_id = &admin.0.account_id;
    let mut tx = state.db.begin_write().await?;
    if let Some(report) = report {
        if !store::still_open(&mut tx, report).await? {
            return Err(closed());
        }
        store::close_open_on(&mut tx, kind, target, admin_id, now).await?;
    }
    if let Some(hidden) = action.hides() {
        if !store::set_hidden(&mut tx, target, hidden, now).await? {
            return Err(ApiError::not_found("expert"));
        }
        listing::refresh(&mut tx, state.db.backend(), target).await?;
    }
    if let Some(hidden) = action.hides_message() {
        if !messages::set_hidden(&mut tx, target, hidden).await? {
            return Err(ApiError::not_found("message"));
        }
    }
    let record = NewAction {
        admin_id,
        action,
        target_kind: kind,
        target_id: target,
        report_id: report,
        reason,
    };
    store::record(&mut *tx, &record, now).await?;
    tx.commit().await?;
    tracing::info!(admin = %admin_id, target, action = action.as_str(), "moderation action");
    Ok(())
}

fn closed() -> ApiError {
    ApiError::conflict("report_closed", "This report is already closed")
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `open` (default; oldest first) or `closed` (newest first).
    pub state: Option<ReportState>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
}

/// The reported profile as it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileSummary {
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub status: Status,
    /// Hidden by moderation; absent for accounts without an expert profile.
    pub hidden: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedReport {
    #[serde(flatten)]
    pub report: ReportView,
    pub reporter: Person,
    /// For profile reports.
    pub target: Option<ProfileSummary>,
    /// For message reports: the message, whole, hidden or not.
    pub message: Option<ModeratedMessage>,
    /// Open reports on the same target, by anyone.
    pub open_reports_on_target: i64,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
}

impl From<&QueueItem> for QueuedReport {
    fn from(q: &QueueItem) -> Self {
        let r = &q.report;
        QueuedReport {
            report: ReportView::from(r),
            reporter: Person {
                id: r.reporter_id.clone(),
                first_name: q.reporter_name.0.clone(),
                last_name: q.reporter_name.1.clone(),
            },
            target: q.target.as_ref().map(|t| ProfileSummary {
                first_name: t.first_name.clone(),
                last_name: t.last_name.clone(),
                role: t.role,
                status: t.status,
                hidden: t.hidden,
            }),
            message: None,
            open_reports_on_target: q.open_on_target,
            closed_at: r.closed_at.map(timestamp),
            closed_by: r.closed_by.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<QueuedReport>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The moderation queue.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "moderation", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = ReportPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn queue(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<ReportPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let wanted = q.state.unwrap_or(ReportState::Open);
    let mut rows = store::queue(state.db.pool(), wanted, page.after.as_ref(), page.fetch()).await?;
    let next_cursor = page.cut(&mut rows, |i| (i.report.created_at, &i.report.id));
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(with_message(&state, row).await?);
    }
    Ok(Json(ReportPage { items, next_cursor }))
}

/// Decide on a report: dismiss it; for a profile, hide the expert or
/// suspend the account; for a message, hide it. Every open report on the
/// same target is closed with it.
#[utoipa::path(post, path = "/api/v1/admin/reports/{id}/close", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id")), request_body = Close,
    responses((status = 200, body = QueuedReport), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "report_closed, cannot_target_self or account_deleted"), (status = 422, body = Problem)))]
pub async fn close(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Close>,
) -> ApiResult<Json<QueuedReport>> {
    let reason = reason_of(req.reason)?;
    let report = store::queue_item(state.db.pool(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))?
        .report;
    if report.state == ReportState::Closed {
        return Err(closed());
    }
    let action = match (report.target_kind, req.action) {
        (_, Decision::Dismiss) => Action::Dismiss,
        (TargetKind::Profile, Decision::HideProfile) => Action::HideProfile,
        (TargetKind::Profile, Decision::SuspendAccount) => Action::SuspendAccount,
        (TargetKind::Message, Decision::HideMessage) => Action::HideMessage,
        (kind, _) => {
            return Err(ApiError::validation(vec![proto::FieldError::new(
                "action",
                "not_for_target",
                format!("does not apply to a {} report", kind.as_str()),
            )]))
        }
    };
    act(
        &state,
        &admin,
        action,
        (report.target_kind, &report.target_id),
        &reason,
        Some(&id),
    )
    .await?;
    let closed = store::queue_item(state.db.pool(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))?;
    Ok(Json(with_message(&state, &closed).await?))
}

async fn set_hidden(
    state: &AppState,
    admin: &Admin,
    id: &str,
    action: Action,
    reason: String,
) -> ApiResult<Json<ExpertView>> {
    let reason = reason_of(reason)?;
    // 404 for anything that is not an expert, before writing anything.
    super::experts::load(state, id).await?;
    act(
        state,
        admin,
        action,
        (TargetKind::Profile, id),
        &reason,
        None,
    )
    .await?;
    let expert = super::experts::load(state, id).await?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(super::experts::view(state, &mut conn, &expert).await?))
}

/// Hide an expert: out of search and bookings, and the public page answers
/// 404, until unhidden.
#[utoipa::path(post, path = "/api/v1/admin/experts/{id}/hide", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")), request_body = Because,
    responses((status = 200, body = ExpertView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn hide(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Because>,
) -> ApiResult<Json<ExpertView>> {
    set_hidden(&state, &admin, &id, Action::HideProfile, req.reason).await
}

/// Show a hidden expert again (listed again if otherwise eligible).
#[utoipa::path(post, path = "/api/v1/admin/experts/{id}/unhide", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")), request_body = Because,
    responses((status = 200, body = ExpertView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unhide(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Because>,
) -> ApiResult<Json<ExpertView>> {
    set_hidden(&state, &admin, &id, Action::UnhideProfile, req.reason).await
}

/// Suspend an account: deactivated (as `.../deactivate` does: no login, its
/// sessions end now, off search) with a recorded reason. `.../activate`
/// lifts it.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/suspend", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = Because,
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Because>,
) -> ApiResult<Json<AccountView>> {
    let reason = reason_of(req.reason)?;
    act(
        &state,
        &admin,
        Action::SuspendAccount,
        (TargetKind::Profile, &id),
        &reason,
        None,
    )
    .await?;
    let account = accounts::store::by_id(state.db.pool(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Json(AccountView::from(&account)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// Only actions on this account.
    pub target_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    pub id: String,
    /// Who acted.
    pub admin: Person,
    pub action: Action,
    pub target_kind: TargetKind,
    pub target_id: String,
    /// The report it closed, if any.
    pub report_id: Option<String>,
    pub reason: String,
    pub at: String,
}

impl From<&Recorded> for ActionView {
    fn from(a: &Recorded) -> Self {
        ActionView {
            id: a.id.clone(),
            admin: Person {
                id: a.admin_id.clone(),
                first_name: a.admin_name.0.clone(),
                last_name: a.admin_name.1.clone(),
            },
            action: a.action,
            target_kind: a.target_kind,
            target_id: a.target_id.clone(),
            report_id: a.report_id.clone(),
            reason: a.reason.clone(),
            at: timestamp(a.at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionPage {
    pub items: Vec<ActionView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Moderation actions, newest first.
#[utoipa::path(get, path = "/api/v1/admin/moderation/actions", tag = "moderation", security(("bearer" = [])), params(ActionsQuery),
    responses((status = 200, body = ActionPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn actions(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ActionsQuery>,
) -> ApiResult<Json<ActionPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut rows = store::actions(
        state.db.pool(),
        q.target_id.as_deref(),
        page.after.as_ref(),
        page.fetch(),
    )
    .await?;
    let next_cursor = page.cut(&mut rows, |a| (a.at, &a.id));
    Ok(Json(ActionPage {
        items: rows.iter().map(ActionView::from).collect(),
        next_cursor,
    }))
}

/// A message as administrators read it: whole, hidden or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeratedMessage {
    pub id: String,
    pub conversation_id: String,
    pub sender_id: String,
    pub kind: crate::messaging::Kind,
    pub body: String,
    pub hidden: bool,
    pub created_at: String,
}

async fn moderated(state: &AppState, id: &str) -> ApiResult<Option<ModeratedMessage>> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(messages::message_by_id(&mut conn, id)
        .await?
        .map(|m| ModeratedMessage {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            kind: m.kind,
            body: m.body,
            hidden: m.hidden,
            created_at: timestamp(m.created_at),
        }))
}

async fn found(state: &AppState, id: &str) -> ApiResult<Json<ModeratedMessage>> {
    moderated(state, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("message"))
}

/// A queue item as administrators see it: a message report with its message.
async fn with_message(state: &AppState, item: &QueueItem) -> ApiResult<QueuedReport> {
    let mut view = QueuedReport::from(item);
    if item.report.target_kind == TargetKind::Message {
        view.message = moderated(state, &item.report.target_id).await?;
    }
    Ok(view)
}

/// Read a message (a reported one, say), hidden or not.
#[utoipa::path(get, path = "/api/v1/admin/messages/{id}", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = ModeratedMessage), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn message(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<ModeratedMessage>> {
    found(&state, &id).await
}

async fn set_message_hidden(
    state: &AppState,
    admin: &Admin,
    id: &str,
    action: Action,
    reason: String,
) -> ApiResult<Json<ModeratedMessage>> {
    let reason = reason_of(reason)?;
    act(
        state,
        admin,
        action,
        (TargetKind::Message, id),
        &reason,
        None,
    )
    .await?;
    found(state, id).await
}

/// Hide a message: its participants see it as hidden (no text, no video),
/// and search no longer finds it.
#[utoipa::path(post, path = "/api/v1/admin/messages/{id}/hide", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")), request_body = Because,
    responses((status = 200, body = ModeratedMessage), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn hide_message(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Because>,
) -> ApiResult<Json<ModeratedMessage>> {
    set_message_hidden(&state, &admin, &id, Action::HideMessage, req.reason).await
}

/// Show a hidden message again.
#[utoipa::path(post, path = "/api/v1/admin/messages/{id}/unhide", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")), request_body = Because,
    responses((status = 200, body = ModeratedMessage), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unhide_message(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Because>,
) -> ApiResult<Json<ModeratedMessage>> {
    set_message_hidden(&state, &admin, &id, Action::UnhideMessage, req.reason).await
}
