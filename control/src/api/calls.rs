//! Calls over HTTP: a booking's parties join (a room token for signalling),
//! the host ends the call, parties see its presence and settlement, and
//! administrators list calls and refund them. A call's id is its booking's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized, Caller};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery};
use super::rooms::RoomTokenView;
use super::views::timestamp;
use crate::bookings;
use crate::calls::reviews::{self, ReviewError};
use crate::calls::store::{self, CallRow};
use crate::calls::CallError;
use crate::state::AppState;

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match e {
            CallError::NotFound => ApiError::not_found("call"),
            CallError::NotJoinable(_) => {
                ApiError::conflict("call_not_joinable", "This booking has no call to join")
                    .detail(message)
            }
            CallError::TooEarly { .. } => {
                ApiError::conflict("call_not_open", "The call is not open yet").detail(message)
            }
            CallError::Over => ApiError::conflict("call_over", "The call is over"),
            CallError::HostOnly => ApiError::new(
                StatusCode::FORBIDDEN,
                "host_only",
                "Only the expert, who hosts, may do this",
            ),
            CallError::NotRefundable(why) => {
                ApiError::conflict("not_refundable", "Not refundable now").detail(why)
            }
            CallError::OverRefund { refundable } => {
                ApiError::conflict("over_refund", "More than can be refunded").detail(format!(
                    "At most {refundable} millimes can still be refunded"
                ))
            }
            CallError::Booking(e) => e.into(),
            CallError::Ledger(e) => ApiError::internal(e),
            CallError::Bus(e) => ApiError::internal(e),
            CallError::Db(e) => ApiError::internal(e),
            CallError::Other(e) => ApiError::internal(e),
        }
    }
}

/// Join a booking's call: a room token for its user, its expert (the host)
/// or a guest, inside the join window (`control.calls.join_before` before
/// the start until `control.calls.overrun` after the end).
#[utoipa::path(post, path = "/api/v1/calls/{id}/join", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 200, body = RoomTokenView), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "call_not_open, call_over, call_not_joinable")))]
pub async fn join(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RoomTokenView>> {
    let g = state.calls.join(&id, &caller.account_id).await?;
    Ok(Json(RoomTokenView {
        token: g.token,
        room: g.room,
        participant: g.participant,
        role: g.role,
        publish: g.publish,
        expires_at: timestamp(g.expires_at * 1000),
        signalling_url: g.signalling_url,
    }))
}

/// End the call (the expert, who hosts), inside its join window. It
/// settles once late presence reports had their time
/// (`control.calls.report_lag`), then every participant gets the ended call
/// status and leaves; what follows the end is not billed. Ending it again
/// before it settled changes nothing; after, it is `call_over`.
#[utoipa::path(post, path = "/api/v1/calls/{id}/end", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 204), (status = 403, body = Problem, description = "host_only: the user or a guest"),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "call_not_open, call_over, call_not_joinable")))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.calls.end(&id, &caller.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceView {
    pub participant: String,
    /// Half-open ranges of Unix seconds present, `[[start, end], ...]`.
    #[schema(value_type = Vec<Vec<i64>>)]
    pub seconds: Vec<(i64, i64)>,
    pub total_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    /// The booking's id.
    pub id: String,
    pub user_id: String,
    pub expert_id: String,
    pub booking_state: String,
    /// Coins per minute, fixed at booking.
    pub rate: i64,
    /// Millimes held at booking.
    pub held: i64,
    pub presence: Vec<PresenceView>,
    /// Set once settled: completed, host_ended, time_up or balance_exhausted.
    pub end_reason: Option<String>,
    /// `expert` (all refunded) or `user` (the no-show minutes charged).
    pub no_show: Option<String>,
    pub billed_seconds: Option<i64>,
    /// Millimes the user paid: from the hold, and beyond it from the wallet.
    pub owed: Option<i64>,
    pub from_hold: Option<i64>,
    pub extra: Option<i64>,
    pub settled_at: Option<String>,
    /// Millimes refunded by administrators.
    pub refunded: i64,
    pub refund_reason: Option<String>,
}

async fn view(state: &AppState, b: &bookings::Booking) -> ApiResult<CallView> {
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let presence = store::presence(&mut conn, &b.id)
        .await
        .map_err(ApiError::internal)?;
    let c: CallRow = store::get(&mut conn, &b.id)
        .await
        .map_err(ApiError::internal)?
        .unwrap_or_default();
    Ok(CallView {
        id: b.id.clone(),
        user_id: b.user_id.clone(),
        expert_id: b.expert_id.clone(),
        booking_state: b.state.as_str().to_owned(),
        rate: b.rate,
        held: b.price,
        presence: presence
            .into_iter()
            .map(|(participant, a)| PresenceView {
                participant,
                total_seconds: a.seconds.len(),
                seconds: a.seconds.ranges().to_vec(),
            })
            .collect(),
        end_reason: c.end_reason,
        no_show: c.no_show,
        billed_seconds: c.billed_seconds,
        owed: c.owed,
        from_hold: c.from_hold,
        extra: c.extra,
        settled_at: c.settled_at.map(timestamp),
        refunded: c.refunded,
        refund_reason: c.refund_reason,
    })
}

/// A call with its presence timeline and settlement, to its parties.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 200, body = CallView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CallView>> {
    let b = state.bookings.get_for(&id, &caller.account_id).await?;
    Ok(Json(view(&state, &b).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `live` (not settled yet, the default) or `past`.
    pub status: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// Live or past calls with their presence and settlement (administrators).
#[utoipa::path(get, path = "/api/v1/admin/calls", tag = "admin", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<CallView>), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<CallView>>> {
    let past = match q.status.as_deref() {
        None | Some("live") => false,
        Some("past") => true,
        Some(_) => return Err(ApiError::invalid_query("status must be live or past")),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_query("limit must be 1 to 200"));
    }
    let rows = {
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        store::list(&mut conn, past, limit)
            .await
            .map_err(ApiError::internal)?
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let b = {
            let mut conn = state
                .db
                .pool()
                .acquire()
                .await
                .map_err(ApiError::internal)?;
            bookings::store::get(&mut conn, &r.booking_id)
                .await
                .map_err(ApiError::internal)?
        };
        if let Some(b) = b {
            out.push(view(&state, &b).await?);
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Millimes to give back; at most what the call cost (from its hold and
    /// beyond it) and was not refunded yet.
    pub amount: i64,
    /// 1 to 500 characters.
    pub reason: String,
}

/// Refund part or all of a settled call to its user (administrators): what
/// its booking's hold captured first, then what it paid beyond the hold
/// from the wallet (an overrun); the ledger takes the expert's and the
/// platform's shares of each back, 80/20.
#[utoipa::path(post, path = "/api/v1/admin/calls/{id}/refund", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    request_body = RefundBody,
    responses((status = 200, body = CallView), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not_refundable, over_refund"),
              (status = 422, body = Problem)))]
pub async fn refund(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RefundBody>,
) -> ApiResult<Json<CallView>> {
    let reason = body.reason.trim();
    let mut errors = Vec::new();
    if body.amount <= 0 {
        errors.push(FieldError::new(
            "amount",
            "out_of_range",
            "must be positive",
        ));
    }
    if reason.is_empty() || reason.chars().count() > 500 {
        errors.push(FieldError::new(
            "reason",
            "invalid",
            "must be 1 to 500 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    state.calls.refund(&id, body.amount, reason).await?;
    let b = {
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        bookings::store::get(&mut conn, &id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("call"))?
    };
    Ok(Json(view(&state, &b).await?))
}

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NotFound => ApiError::not_found("review"),
            ReviewError::NotReviewable => ApiError::conflict(
                "not_reviewable",
                "Only a completed call you attended can be reviewed",
            ),
            ReviewError::AlreadyDone => ApiError::conflict("already_done", "This was done already"),
            ReviewError::Invalid(m) => {
                ApiError::validation(vec![FieldError::new("body", "invalid", m)])
            }
            ReviewError::Db(e) => ApiError::internal(e),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// 1 to 5.
    pub rating: i64,
    /// Up to 2000 characters; may be empty.
    #[serde(default)]
    pub body: String,
}

/// Rate and review a completed call (its user, once). The expert's rating
/// and search ranking follow.
#[utoipa::path(post, path = "/api/v1/calls/{id}/review", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    request_body = ReviewBody,
    responses((status = 204), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not_reviewable, already_done"),
              (status = 422, body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<StatusCode> {
    reviews::review(
        &state.db,
        &id,
        &caller.account_id,
        body.rating,
        body.body.trim(),
        state.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// 1 to 2000 characters.
    pub reply: String,
}

/// Reply to the review of a call (its expert, once).
#[utoipa::path(post, path = "/api/v1/calls/{id}/review/reply", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    request_body = ReplyBody,
    responses((status = 204), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "already_done"), (status = 422, body = Problem)))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<StatusCode> {
    reviews::reply(
        &state.db,
        &id,
        &caller.account_id,
        body.reply.trim(),
        state.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideBody {
    /// False shows it again.
    pub hidden: bool,
    pub reason: Option<String>,
}

/// Hide an abusive review, or show it again (administrators); the expert's
/// rating is recomputed from the visible ones.
#[utoipa::path(post, path = "/api/v1/admin/calls/{id}/review/hide", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The booking's id")),
    request_body = HideBody,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn hide_review(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HideBody>,
) -> ApiResult<StatusCode> {
    reviews::hide(&state.db, &id, body.hidden, body.reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub call_id: String,
    pub rating: i64,
    pub body: String,
    pub reply: Option<String>,
    pub created_at: String,
}

/// An expert's visible reviews, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/experts/{id}/reviews", tag = "calls",
    params(("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = Vec<ReviewView>)))]
pub async fn expert_reviews(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ReviewView>>> {
    let rows = reviews::of_expert(&state.db, &id, 100)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ReviewView {
                call_id: r.booking_id,
                rating: r.rating,
                body: r.body,
                reply: r.reply,
                created_at: timestamp(r.created_at),
            })
            .collect(),
    ))
}
