//! Payouts over HTTP: an expert's summary, requests and statements; the
//! administrators' queue and decisions, each emailed to the expert after
//! the commit. The rules are `payouts` and the ledger's; amounts are
//! millimes.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized, Caller};
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::experts::Expert_;
use super::extract::{idempotency_key, ApiJson, ApiQuery};
use super::review::Rejection;
use super::views::timestamp;
use crate::accounts::{self, Account};
use crate::experts::TaxOption;
use crate::mail;
use crate::payouts::statement::Statement;
use crate::payouts::{Payout, PayoutError, State as Stage};
use crate::state::AppState;

type Admin = Authorized<Admins>;

impl From<PayoutError> for ApiError {
    fn from(e: PayoutError) -> Self {
        let amount = |code: &str, title: &str, message: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
                .fields(vec![FieldError::new("amount", code, message)])
        };
        match e {
            PayoutError::Invalid { field, reason } => ApiError::validation(vec![FieldError::new(
                field,
                "invalid",
                format!("{field} {reason}"),
            )]),
            PayoutError::KeyReused => ApiError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another payout",
            ),
            PayoutError::NotApproved => {
                ApiError::conflict("expert_not_approved", "Only approved experts are paid out")
            }
            PayoutError::NoBankAccount => ApiError::conflict(
                "bank_account_missing",
                "No bank account is on file to pay to",
            ),
            PayoutError::NoTaxOption => ApiError::conflict(
                "tax_option_missing",
                "No tax option is on file to pay under",
            ),
            PayoutError::BelowMinimum { minimum } => amount(
                "below_minimum",
                "The amount is below the smallest payout",
                format!("at least {minimum} millimes"),
            ),
            PayoutError::OverAvailable { available } => amount(
                "over_available",
                "The amount is more than is available",
                format!("at most {available} millimes are available"),
            ),
            PayoutError::NotFound => ApiError::not_found("payout"),
            PayoutError::Decided { state } => {
                ApiError::conflict("payout_decided", "The payout was already decided")
                    .detail(state.as_str())
            }
            PayoutError::NotPaid => ApiError::conflict(
                "payout_not_paid",
                "A payout has a statement once it is paid",
            ),
            PayoutError::Ledger(e) => ApiError::internal(e),
            PayoutError::Db(e) => e.into(),
        }
    }
}

/// An expert's money for payouts, in millimes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    /// Cleared earnings not yet requested: what may be paid out now.
    pub available: i64,
    /// Earnings still within the clearing delay (refunds may take them).
    pub clearing: i64,
    /// Requested, waiting for an administrator.
    pub pending: i64,
    /// Paid out, tax withheld included.
    pub paid: i64,
    /// Withheld at source from what was paid.
    pub withheld: i64,
    /// The smallest payout.
    pub minimum: i64,
    /// When the next earnings clear (RFC 3339); absent when none wait.
    pub next_clearing_at: Option<String>,
}

/// One's money for payouts: available, clearing, pending and paid.
#[utoipa::path(get, path = "/api/v1/payouts/summary", tag = "payouts", security(("bearer" = [])),
    responses((status = 200, body = SummaryView), (status = 403, body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    expert: Expert_,
) -> ApiResult<Json<SummaryView>> {
    let s = state.payouts.summary(expert.0.account_uuid()?).await?;
    Ok(Json(SummaryView {
        available: s.funds.available,
        clearing: s.funds.uncleared,
        pending: s.totals.pending,
        paid: s.totals.paid,
        withheld: s.totals.withheld,
        minimum: s.min_amount,
        next_clearing_at: s.funds.next_cleared_at.map(timestamp),
    }))
}

/// A payout as its expert and administrators see it; amounts in millimes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub expert_id: String,
    /// The expert's share paid out: what left their earnings.
    pub amount: i64,
    pub state: Stage,
    /// `rib` or `iban`.
    pub bank_kind: String,
    pub bank_last4: String,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Once paid: the option applied, and what the bank received.
    pub tax_option: Option<TaxOption>,
    pub net: Option<i64>,
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        PayoutView {
            id: p.id.clone(),
            expert_id: p.expert_id.clone(),
            amount: p.amount,
            state: p.state,
            bank_kind: p.bank_kind.clone(),
            bank_last4: p.bank_hint.clone(),
            requested_at: timestamp(p.requested_at),
            decided_at: p.decided_at.map(timestamp),
            reason: p.reason.clone(),
            tax_option: p.computation.map(|c| c.option),
            net: p.computation.map(|c| c.net),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    /// Millimes (1 coin = 500): at least the minimum, at most what is
    /// available.
    pub amount: i64,
}

/// Request a payout of cleared earnings to one's bank account. The
/// `Idempotency-Key` header is required: the same key returns the same
/// payout (200); the same key for another amount is refused.
#[utoipa::path(post, path = "/api/v1/payouts", tag = "payouts", security(("bearer" = [])),
    request_body = PayoutRequest,
    params(("Idempotency-Key" = String, Header, description = "One per payout the expert means to request (1 to 100 characters)")),
    responses((status = 201, body = PayoutView), (status = 200, body = PayoutView, description = "the payout this key requested"),
        (status = 400, body = Problem, description = "idempotency_key_required"), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "expert_not_approved, bank_account_missing, tax_option_missing, idempotency_key_reused"),
        (status = 422, body = Problem, description = "below_minimum, over_available")))]
pub async fn request(
    State(state): State<AppState>,
    expert: Expert_,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PayoutRequest>,
) -> ApiResult<(StatusCode, Json<PayoutView>)> {
    let key = idempotency_key(&headers)?;
    let (p, created) = state
        .payouts
        .request(&expert.0.account_id, key, body.amount)
        .await?;
    let status = if created {
        tracing::info!(expert = %p.expert_id, payout = %p.id, amount = p.amount, "payout requested");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PayoutView::from(&p))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutPage {
    pub items: Vec<PayoutView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One's payouts, newest first.
#[utoipa::path(get, path = "/api/v1/payouts", tag = "payouts", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = PayoutPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    expert: Expert_,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PayoutPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut rows = state
        .payouts
        .of_expert(&expert.0.account_id, page.after.as_ref(), page.fetch())
        .await?;
    let next_cursor = page.cut(&mut rows, |p| (p.requested_at, &p.id));
    Ok(Json(PayoutPage {
        items: rows.iter().map(PayoutView::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A paid payout's statement: gross, commission, taxes by kind and rate,
/// net, bank kind and last four, dates. To its expert and administrators;
/// to anyone else it does not exist.
#[utoipa::path(get, path = "/api/v1/payouts/{id}/statement", tag = "payouts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout id"), StatementQuery),
    responses((status = 200, body = Statement), (status = 200, content_type = "text/csv", description = "with format=csv"),
        (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "payout_not_paid")))]
pub async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_query("format must be json or csv")),
    };
    let p = state
        .payouts
        .get(&id)
        .await?
        .filter(|p| caller.may_manage(&p.expert_id))
        .ok_or_else(|| ApiError::not_found("payout"))?;
    let expert = account(&state, &p.expert_id).await?;
    let s = Statement::of(&p, &format!("{} {}", expert.first_name, expert.last_name))?;
    if !csv {
        return Ok(Json(s).into_response());
    }
    let disposition = format!("attachment; filename=\"payout-{}.csv\"", p.id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        s.csv(timestamp),
    )
        .into_response())
}

async fn account(state: &AppState, id: &str) -> ApiResult<Account> {
    accounts::store::by_id(state.db.pool(), id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("payout of unknown account {id}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Default `requested`: the queue.
    pub state: Option<Stage>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

/// A payout as administrators work it: who is paid, and the full account
/// number to transfer to.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub payout: PayoutView,
    pub expert_name: String,
    pub expert_email: String,
    /// The RIB or IBAN on file, unsealed for the transfer.
    pub bank_account: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub next_cursor: Option<String>,
}

/// Payouts by state, oldest request first: by default the queue of
/// requested payouts, the longest waiting first.
#[utoipa::path(get, path = "/api/v1/admin/payouts", tag = "admin", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueuePage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn queue(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<QueuePage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let stage = q.state.unwrap_or(Stage::Requested);
    let mut rows = state
        .payouts
        .in_state(stage, page.after.as_ref(), page.fetch())
        .await?;
    let next_cursor = page.cut(&mut rows, |p| (p.requested_at, &p.id));
    let mut items = Vec::with_capacity(rows.len());
    for p in &rows {
        let expert = account(&state, &p.expert_id).await?;
        items.push(QueueItem {
            payout: PayoutView::from(p),
            expert_name: format!("{} {}", expert.first_name, expert.last_name),
            expert_email: expert.email,
            bank_account: state.payouts.bank_number(&p.expert_id).await?,
        });
    }
    tracing::info!(admin = %admin.0.account_id, payouts = items.len(), "payout queue read, bank numbers included");
    Ok(Json(QueuePage { items, next_cursor }))
}

/// Approve a requested payout: its taxes are computed at the rates in
/// force and recorded, it is settled in the ledger, and the expert is
/// emailed.
#[utoipa::path(post, path = "/api/v1/admin/payouts/{id}/approve", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout id")),
    responses((status = 200, body = PayoutView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "payout_decided")))]
pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<PayoutView>> {
    let p = state.payouts.approve(&id, &admin.0.account_id).await?;
    tracing::info!(admin = %admin.0.account_id, payout = %p.id, "payout approved");
    notify(&state, &p, None).await;
    Ok(Json(PayoutView::from(&p)))
}

/// Reject a requested payout with a reason: the money returns to the
/// expert's available earnings, and they are emailed.
#[utoipa::path(post, path = "/api/v1/admin/payouts/{id}/reject", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout id")), request_body = Rejection,
    responses((status = 200, body = PayoutView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "payout_decided"), (status = 422, body = Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rejection>,
) -> ApiResult<Json<PayoutView>> {
    let reason = body.reason()?;
    let p = state
        .payouts
        .reject(&id, &admin.0.account_id, reason)
        .await?;
    tracing::info!(admin = %admin.0.account_id, payout = %p.id, "payout rejected");
    notify(&state, &p, Some(reason)).await;
    Ok(Json(PayoutView::from(&p)))
}

/// Emails the expert a decision, in their language, after the commit: the
/// decision stands whatever happens to the email.
async fn notify(state: &AppState, p: &Payout, reason: Option<&str>) {
    let to = match account(state, &p.expert_id).await {
        Ok(to) => to,
        Err(_) => {
            tracing::warn!(payout = %p.id, "no account to email the payout decision to");
            return;
        }
    };
    let email = match (p.computation, reason) {
        (Some(c), _) => mail::payout_paid(
            to.language,
            &to.first_name,
            c.net,
            c.withheld,
            &format!("{}/api/v1/payouts/{}/statement", state.public_url, p.id),
        ),
        (None, reason) => mail::payout_rejected(
            to.language,
            &to.first_name,
            p.amount,
            reason.unwrap_or_default(),
            &format!("{}/api/v1/payouts/summary", state.public_url),
        ),
    };
    let name = format!("{} {}", to.first_name, to.last_name);
    state.send_later(name, to.email, email, "payout decision");
}
