//! Where and how an expert is paid: the bank account (checked, sealed, shown
//! back only as its kind and last four characters) and the tax option, whose
//! rates administrators set.
//!
//! The full account number is shown to administrators only, in the payout
//! queue, to make the transfer (`payouts::Payouts::bank_number`).

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Admins, Authorized};
use super::error::{ApiError, ApiResult};
use super::experts::{commit_with_view, ExpertView, Expert_};
use super::extract::ApiJson;
use super::review::ensure_editable;
use super::views::timestamp;
use crate::experts::tax::{self, TaxRates};
use crate::experts::{bank, verification, TaxOption};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankRequest {
    /// A Tunisian RIB (20 digits) or an IBAN; spaces allowed.
    pub number: String,
}

/// Set the bank account payouts go to: a RIB or an IBAN, checked by its
/// key or check digits (422 `validation_failed` on `number`: `bad_rib_key`,
/// `bad_iban_checksum`, `bad_length`, `invalid_characters`). Only in draft or
/// after a rejection.
#[utoipa::path(put, path = "/api/v1/experts/me/bank", tag = "experts", security(("bearer" = [])),
    request_body = BankRequest,
    responses((status = 200, body = ExpertView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "under_review or already_approved"),
              (status = 422, body = Problem)))]
pub async fn put_bank(
    State(state): State<AppState>,
    expert: Expert_,
    ApiJson(req): ApiJson<BankRequest>,
) -> ApiResult<Json<ExpertView>> {
    let account = bank::parse(&req.number).map_err(|e| {
        ApiError::validation(vec![FieldError::new("number", e.code(), e.to_string())])
    })?;
    let id = &expert.0.account_id;
    let sealed = state
        .sealer
        .seal(
            &verification::bank_seal_context(id),
            account.number.as_bytes(),
        )
        .map_err(ApiError::internal)?;
    change(&state, id, Detail::Bank(account, B64.encode(sealed))).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRequest {
    /// `vat` (option 1) or `withholding` (option 2, withheld at source).
    pub option: TaxOption,
}

/// Choose the tax option payouts follow. Only in draft or after a rejection.
#[utoipa::path(put, path = "/api/v1/experts/me/tax", tag = "experts", security(("bearer" = [])),
    request_body = TaxRequest,
    responses((status = 200, body = ExpertView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "under_review or already_approved"),
              (status = 422, body = Problem)))]
pub async fn put_tax(
    State(state): State<AppState>,
    expert: Expert_,
    ApiJson(req): ApiJson<TaxRequest>,
) -> ApiResult<Json<ExpertView>> {
    let id = &expert.0.account_id;
    change(&state, id, Detail::Tax(req.option)).await
}

/// A reviewed detail to change.
enum Detail {
    /// The checked account and its sealed number (base64).
    Bank(bank::BankAccount, String),
    Tax(TaxOption),
}

/// Changes one of the expert's reviewed details when they may change, and
/// answers with the profile as it now is.
async fn change(state: &AppState, id: &str, detail: Detail) -> ApiResult<Json<ExpertView>> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    ensure_editable(&mut tx, id, now).await?;
    match detail {
        Detail::Bank(account, sealed) => {
            verification::set_bank(&mut tx, id, account.kind, &sealed, account.hint(), now).await?
        }
        Detail::Tax(option) => verification::set_tax_option(&mut tx, id, option, now).await?,
    }
    commit_with_view(state, tx, id).await
}

/// The tax rates in force and who set them last.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxSettings {
    /// Basis points: 1900 is 19 %.
    pub vat_percent_bp: i64,
    pub withholding_percent_bp: i64,
    /// Absent while the configured defaults apply.
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

async fn tax_settings(state: &AppState) -> ApiResult<TaxSettings> {
    let mut conn = state.db.pool().acquire().await?;
    let t = tax::load(&mut conn, (&state.settings.experts).into()).await?;
    Ok(TaxSettings {
        vat_percent_bp: t.rates.vat_percent_bp,
        withholding_percent_bp: t.rates.withholding_percent_bp,
        updated_by: t.updated_by,
        updated_at: t.updated_at.map(timestamp),
    })
}

/// The tax rates applied to expert payouts.
#[utoipa::path(get, path = "/api/v1/admin/settings/tax", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = TaxSettings), (status = 403, body = Problem)))]
pub async fn get_tax_settings(
    State(state): State<AppState>,
    _: Authorized<Admins>,
) -> ApiResult<Json<TaxSettings>> {
    Ok(Json(tax_settings(&state).await?))
}

/// Set the tax rates (basis points, 0 to 10000); the change is recorded
/// with its author.
#[utoipa::path(put, path = "/api/v1/admin/settings/tax", tag = "admin", security(("bearer" = [])),
    request_body = TaxRates,
    responses((status = 200, body = TaxSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_tax_settings(
    State(state): State<AppState>,
    admin: Authorized<Admins>,
    ApiJson(rates): ApiJson<TaxRates>,
) -> ApiResult<Json<TaxSettings>> {
    let errors = rates.check();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = state.db.begin_write().await?;
    tax::save(&mut tx, rates, &admin.0.account_id, state.now()).await?;
    tx.commit().await?;
    tracing::info!(admin = %admin.0.account_id, ?rates, "tax rates changed");
    Ok(Json(tax_settings(&state).await?))
}
