//! Money reports: one's own history (JSON pages or CSV), holds and
//! earnings, and the platform's finances for administrators.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized, Caller};
use super::cursor;
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::views::timestamp;
use crate::csv;
use crate::ledger::reports::{Earnings, Entry, Finance, HistoryFilter, PendingPayouts, Period};
use crate::ledger::rules::HoldRecord;
use crate::ledger::{LedgerError, TransferKind};
use crate::payments::Purchase;
use crate::state::AppState;

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        ApiError::internal(e)
    }
}

/// `2026-11-24` (midnight UTC) or an RFC 3339 instant, as Unix ms.
fn instant(name: &str, value: &Option<String>) -> ApiResult<Option<i64>> {
    let Some(v) = value else {
        return Ok(None);
    };
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let t = Date::parse(v, &day)
        .map(|d| d.midnight().assume_utc())
        .or_else(|_| OffsetDateTime::parse(v, &Rfc3339))
        .map_err(|_| {
            ApiError::invalid_query(format!(
                "{name} must be a date (YYYY-MM-DD) or an RFC 3339 time"
            ))
        })?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Comma-separated kinds: deposit, hold, capture_expert, capture_platform,
    /// release, expire, refund_expert, refund_platform, payout_requested,
    /// payout_paid, payout_withheld, payout_returned.
    pub kind: Option<String>,
    /// From this date or time (inclusive).
    pub from: Option<String>,
    /// Until this date or time (exclusive).
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<i64>,
    /// `json` (default) or `csv` (every matching entry, up to 10,000).
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

/// The movements of one's wallet, held coins and earnings, newest first.
#[utoipa::path(get, path = "/api/v1/wallet/history", tag = "wallet", security(("bearer" = [])), params(HistoryQuery),
    responses((status = 200, body = HistoryPage), (status = 200, content_type = "text/csv", description = "with format=csv"),
        (status = 400, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_query("format must be json or csv")),
    };
    let mut kinds = Vec::new();
    for name in q
        .kind
        .iter()
        .flat_map(|k| k.split(','))
        .filter(|k| !k.is_empty())
    {
        let kind = TransferKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                ApiError::invalid_query(format!("{name:?} is not a kind of movement"))
            })?;
        kinds.push(kind);
    }
    let limit = match (csv, q.limit) {
        (true, _) => 10_000,
        (false, None) => 50,
        (false, Some(l)) if (1..=500).contains(&l) => l,
        _ => return Err(ApiError::invalid_query("limit must be between 1 and 500")),
    };
    let before = match &q.cursor {
        None => None,
        Some(c) => Some(
            cursor::decode(c)
                .ok_or_else(|| ApiError::invalid_query("cursor is not one we gave"))?,
        ),
    };
    let filter = HistoryFilter {
        kinds,
        from: instant("from", &q.from)?,
        to: instant("to", &q.to)?,
        before,
        // One more than a page: whether there is a next page.
        limit: limit + 1,
    };
    let mut entries = state
        .ledger
        .history(caller.account_uuid()?, &filter)
        .await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    if csv {
        let mut out = String::from("time,kind,amount_millimes,from,to,reference,hold,id\r\n");
        for e in &entries {
            let fields = [
                timestamp(e.at),
                e.kind.clone(),
                e.amount.to_string(),
                e.from.clone(),
                e.to.clone(),
                e.reference.clone(),
                e.hold.clone().unwrap_or_default(),
                e.id.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv::field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"history.csv\"",
                ),
            ],
            out,
        )
            .into_response());
    }
    let next_cursor = entries
        .last()
        .filter(|_| more)
        .map(|e| cursor::encode(e.at, &e.id));
    Ok(Json(HistoryPage {
        entries,
        next_cursor,
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    pub payee: String,
    /// Millimes.
    pub amount: i64,
    pub reference: String,
    pub reason: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl From<HoldRecord> for HoldView {
    fn from(h: HoldRecord) -> Self {
        HoldView {
            id: h.id.to_string(),
            payee: h.payee.to_string(),
            amount: h.amount,
            reference: h.reference,
            reason: h.reason,
            created_at: h.created_at,
            expires_at: h.expires_at,
        }
    }
}

/// One's coins on hold, waiting for a reply, a call or a deadline.
#[utoipa::path(get, path = "/api/v1/wallet/holds", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = Vec<HoldView>), (status = 401, body = Problem)))]
pub async fn holds(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<HoldView>>> {
    let holds = state.ledger.pending_holds(caller.account_uuid()?).await?;
    Ok(Json(holds.into_iter().map(HoldView::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// day, week or month (default).
    #[param(inline)]
    pub period: Option<Period>,
    /// From this date or time (inclusive); default: a year before `to`.
    pub from: Option<String>,
    /// Until this date or time (exclusive); default: now.
    pub to: Option<String>,
}

impl PeriodQuery {
    fn range(&self, now: i64) -> ApiResult<(i64, i64, Period)> {
        let to = instant("to", &self.to)?.unwrap_or(now + 1);
        let from = instant("from", &self.from)?.unwrap_or(to - 366 * 24 * 3_600_000);
        if from >= to {
            return Err(ApiError::invalid_query("from must be before to"));
        }
        Ok((from, to, self.period.unwrap_or(Period::Month)))
    }
}

/// One's earnings as an expert, per period and service.
#[utoipa::path(get, path = "/api/v1/wallet/earnings", tag = "wallet", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = Vec<Earnings>), (status = 400, body = Problem)))]
pub async fn earnings(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Vec<Earnings>>> {
    let (from, to, period) = q.range(state.now())?;
    Ok(Json(
        state
            .ledger
            .earnings(caller.account_uuid()?, from, to, period)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinanceReport {
    pub periods: Vec<Finance>,
    /// Holds still pending, oldest first (at most 100).
    pub pending_holds: Vec<HoldView>,
    /// Purchases still pending, oldest first (at most 100).
    pub pending_payments: Vec<Purchase>,
    /// Payouts waiting for an administrator (`GET /api/v1/admin/payouts`).
    pub pending_payouts: PendingPayouts,
}

/// The platform's money per period (volume, commissions, refunds, revenue,
/// payouts and the tax withheld from them) and what is still pending.
#[utoipa::path(get, path = "/api/v1/admin/finance", tag = "admin", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = FinanceReport), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn finance(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<FinanceReport>> {
    let (from, to, period) = q.range(state.now())?;
    let holds = state.ledger.all_pending_holds(100).await?;
    Ok(Json(FinanceReport {
        periods: state.ledger.finance(from, to, period).await?,
        pending_holds: holds.into_iter().map(HoldView::from).collect(),
        pending_payments: state.payments.pending(100).await?,
        pending_payouts: state.ledger.pending_payouts().await?,
    }))
}
