//! Verification: an expert submits their profile, administrators work the
//! queue and approve or reject (with a reason), and the expert is notified
//! of the outcome. The rules are `experts::review`; this is their HTTP side.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized};
use super::cursor::Page;
use super::documents::DocumentView;
use super::error::{ApiError, ApiResult};
use super::experts::{commit_with_view, view, ExpertView, Expert_, SocialProof};
use super::extract::{ApiJson, ApiQuery};
use super::views::timestamp;
use crate::accounts::{self, Account, Language};
use crate::experts::review::{self, Action, Decision, Refusal};
use crate::experts::{listing, store, validate, verification, Expert, State as Stage};
use crate::notify::{self, Event, Notice};
use crate::state::AppState;

type Admin = Authorized<Admins>;

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Incomplete(missing) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "verification_incomplete",
                "The profile lacks what verification needs",
            )
            .fields(
                missing
                    .into_iter()
                    .map(|m| FieldError::new(m.field(), "required", m.message()))
                    .collect(),
            ),
            Refusal::AlreadySubmitted => ApiError::conflict(
                "already_submitted",
                "The profile is already waiting for review",
            ),
            Refusal::AlreadyApproved => {
                ApiError::conflict("already_approved", "The profile is already approved")
            }
            Refusal::UnderReview => ApiError::conflict(
                "under_review",
                "The profile is being reviewed; it can change again after the decision",
            ),
            Refusal::NotSubmitted => ApiError::conflict(
                "not_submitted",
                "Only a submitted profile can be approved or rejected",
            ),
        }
    }
}

/// Within a writing transaction: 409 unless what the review looks at may
/// change now; the expert profile of `id` is started as a draft if need be.
pub(super) async fn ensure_editable(conn: &mut AnyConnection, id: &str, now: i64) -> ApiResult<()> {
    verification::lock(conn, id).await?;
    match store::get(conn, id).await? {
        Some(e) => review::may_edit_details(e.state)?,
        None => store::save_profile(conn, &Expert::new(id, now), now).await?,
    }
    Ok(())
}

/// Submit one's profile for verification. It needs a bio, a domain, a
/// language, a priced service, the identity card, a bank account and a tax
/// option; what is missing is listed (422 `verification_incomplete`).
#[utoipa::path(post, path = "/api/v1/experts/me/submit", tag = "experts", security(("bearer" = [])),
    responses((status = 200, body = ExpertView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "already_submitted or already_approved"),
              (status = 422, body = Problem, description = "verification_incomplete")))]
pub async fn submit(State(state): State<AppState>, expert: Expert_) -> ApiResult<Json<ExpertView>> {
    let id = &expert.0.account_id;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    verification::lock(&mut tx, id).await?;
    let e = store::get(&mut tx, id)
        .await?
        .unwrap_or_else(|| Expert::new(id, now));
    let kinds: Vec<_> = verification::documents(&mut tx, id)
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    let action = review::submit(&e, &kinds)?;
    verification::transition(&mut tx, id, action, id, None, now).await?;
    listing::refresh(&mut tx, state.db.backend(), id).await?;
    commit_with_view(&state, tx, id).await
}

/// A step of an expert's verification history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub action: Action,
    /// The expert for a submission, the administrator for a decision.
    pub actor_id: String,
    pub actor_name: String,
    pub reason: Option<String>,
    pub at: String,
}

/// An expert's verification file as administrators review it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The language the expert is emailed in.
    pub language: Language,
    /// The profile, its state, bank account kind and hint, tax option.
    pub profile: ExpertView,
    /// Current identity documents.
    pub documents: Vec<DocumentView>,
    /// Linked social accounts.
    pub social: Vec<SocialProof>,
    /// Submissions and decisions, oldest first (one application only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviews: Option<Vec<ReviewView>>,
}

async fn application(state: &AppState, id: &str, with_history: bool) -> ApiResult<Application> {
    let account: Account = accounts::store::by_id(state.db.pool(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("expert"))?;
    let mut conn = state.db.pool().acquire().await?;
    let e = store::get(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("expert"))?;
    let reviews = if with_history {
        let rows = verification::reviews(&mut conn, id).await?;
        Some(
            rows.into_iter()
                .map(|r| ReviewView {
                    action: r.action,
                    actor_name: format!("{} {}", r.actor_first_name, r.actor_last_name),
                    actor_id: r.actor_id,
                    reason: r.reason,
                    at: timestamp(r.at),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(Application {
        id: account.id.clone(),
        first_name: account.first_name,
        last_name: account.last_name,
        email: account.email,
        language: account.language,
        profile: view(state, &mut conn, &e).await?,
        documents: verification::documents(&mut conn, id)
            .await?
            .iter()
            .map(DocumentView::from)
            .collect(),
        social: crate::social::store::of(&mut *conn, id)
            .await?
            .iter()
            .map(SocialProof::from)
            .collect(),
        reviews,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Default `submitted`: the queue.
    pub state: Option<Stage>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<Application>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Experts by verification state, oldest first: by default the queue of
/// submissions, the longest waiting first.
#[utoipa::path(get, path = "/api/v1/admin/experts", tag = "admin", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = ApplicationPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn queue(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<ApplicationPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let stage = q.state.unwrap_or(Stage::Submitted);
    let mut conn = state.db.pool().acquire().await?;
    let mut rows =
        verification::in_state(&mut conn, stage, page.after.as_ref(), page.fetch()).await?;
    drop(conn);
    let next_cursor = page.cut(&mut rows, |(at, id)| (*at, id));
    let mut items = Vec::with_capacity(rows.len());
    for (_, id) in rows {
        items.push(application(&state, &id, false).await?);
    }
    Ok(Json(ApplicationPage { items, next_cursor }))
}

/// One expert's verification file with its review history.
#[utoipa::path(get, path = "/api/v1/admin/experts/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = Application), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Application>> {
    Ok(Json(application(&state, &id, true).await?))
}

/// Approve a submitted expert: they are listed from now on and emailed.
#[utoipa::path(post, path = "/api/v1/admin/experts/{id}/approve", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = Application), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not_submitted")))]
pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Application>> {
    decide(&state, &admin, &id, Decision::Approve, None).await
}

/// A rejection's reason, emailed to the expert (an expert's verification,
/// a payout).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// What the expert should know or correct (1 to 1,000 characters).
    pub reason: String,
}

impl Rejection {
    /// The reason, trimmed; 422 when it is empty or too long.
    pub(super) fn reason(&self) -> ApiResult<&str> {
        let mut errors = Vec::new();
        validate::reason(&self.reason, &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(self.reason.trim())
    }
}

/// Reject a submitted expert with a reason; they may correct and resubmit.
#[utoipa::path(post, path = "/api/v1/admin/experts/{id}/reject", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")), request_body = Rejection,
    responses((status = 200, body = Application), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not_submitted"), (status = 422, body = Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rejection>,
) -> ApiResult<Json<Application>> {
    let reason = body.reason()?;
    decide(&state, &admin, &id, Decision::Reject, Some(reason)).await
}

async fn decide(
    state: &AppState,
    admin: &Admin,
    id: &str,
    decision: Decision,
    reason: Option<&str>,
) -> ApiResult<Json<Application>> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    verification::lock(&mut tx, id).await?;
    let e = store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("expert"))?;
    let action = review::decide(e.state, decision)?;
    let review =
        verification::transition(&mut tx, id, action, &admin.0.account_id, reason, now).await?;
    // Approval lists the expert (search, public page) in the same commit.
    listing::refresh(&mut tx, state.db.backend(), id).await?;
    // The expert hears of it in their centre and on their channels (email
    // by default), in their language, once the decision is committed.
    let event = match decision {
        Decision::Approve => Event::ExpertApproved,
        Decision::Reject => Event::ExpertRejected {
            reason: reason.unwrap_or_default().to_owned(),
        },
    };
    let notice = Notice {
        account_id: id.to_owned(),
        event,
        dedupe_key: format!("expert_review:{review}"),
    };
    notify::emit(&mut tx, now, notice).await?;
    tx.commit().await?;
    tracing::info!(admin = %admin.0.account_id, expert = id, action = action.as_str(), "verification decided");
    Ok(Json(application(state, id, true).await?))
}
