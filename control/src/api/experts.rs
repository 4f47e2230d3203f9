//! Expert profiles: the expert editing their own, and the public page
//! visitors decide from.

use axum::extract::{Path, State};
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::access::{Caller, Experts, OptionalCaller};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::{photo_url, timestamp};
use crate::accounts::{self, Account, Status};
use crate::experts::store::{self, Domain};
use crate::experts::tax::{self, TaxRates};
use crate::experts::{
    listing, validate, Expert, Position, Prices, Service, State as Review, TaxOption,
};
use crate::social::store::Link;
use crate::social::{self, Provider};
use crate::state::AppState;

pub(super) type Expert_ = super::access::Authorized<Experts>;

/// `null` and absent told apart: absent keeps the value, `null` clears it.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertPatch {
    /// Professional bio, up to 4,000 characters.
    pub bio: Option<String>,
    /// Slugs from `GET /api/v1/domains`, at most five.
    pub domains: Option<Vec<String>>,
    /// ISO 639-1 codes.
    pub languages: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Position>)]
    pub position: Option<Option<Position>>,
    /// Replaces all three prices; a service left out or null is not offered.
    pub prices: Option<Prices>,
    /// Bookings confirmed at once, or requests the expert confirms.
    pub instant_booking: Option<bool>,
}

/// An expert profile as its owner and administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpertView {
    pub id: String,
    pub state: Review,
    /// Why the last review rejected the profile.
    pub state_reason: Option<String>,
    /// Whether visitors can find and book this expert now.
    pub listed: bool,
    /// Hidden by moderation.
    pub hidden: bool,
    pub bio: String,
    pub domains: Vec<String>,
    pub languages: Vec<String>,
    pub city: Option<String>,
    pub position: Option<Position>,
    pub prices: Prices,
    pub instant_booking: bool,
    pub tax_option: Option<TaxOption>,
    /// What the tax option implies at the rates in force (basis points; the
    /// rate the option does not use is 0); absent without an option.
    pub tax_rates: Option<TaxRates>,
    /// `rib` or `iban`, when a bank account is on file.
    pub bank_kind: Option<String>,
    /// The account number's last four digits.
    pub bank_hint: Option<String>,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
    pub updated_at: String,
}

impl ExpertView {
    pub fn new(e: &Expert, rates: TaxRates) -> Self {
        ExpertView {
            id: e.account_id.clone(),
            state: e.state,
            state_reason: e.state_reason.clone(),
            listed: e.listed,
            hidden: e.hidden,
            bio: e.bio.clone(),
            domains: e.domains.clone(),
            languages: e.languages.clone(),
            city: e.city.clone(),
            position: e.position,
            prices: e.prices,
            instant_booking: e.instant_booking,
            tax_option: e.tax_option,
            tax_rates: e.tax_option.map(|o| rates.implied_by(o)),
            bank_kind: e.bank_kind.clone(),
            bank_hint: e.bank_hint.clone(),
            submitted_at: e.submitted_at.map(timestamp),
            decided_at: e.decided_at.map(timestamp),
            updated_at: timestamp(e.updated_at),
        }
    }
}

/// `e` as its owner and administrators see it, at the tax rates in force.
pub(crate) async fn view(
    state: &AppState,
    conn: &mut AnyConnection,
    e: &Expert,
) -> ApiResult<ExpertView> {
    let tax = tax::load(conn, (&state.settings.experts).into()).await?;
    Ok(ExpertView::new(e, tax.rates))
}

/// Loads an expert profile by account id, or 404.
pub(crate) async fn load(state: &AppState, id: &str) -> ApiResult<Expert> {
    let mut conn = state.db.pool().acquire().await?;
    store::get(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("expert"))
}

/// One's own expert profile (a draft is started on first edit).
#[utoipa::path(get, path = "/api/v1/experts/me", tag = "experts", security(("bearer" = [])),
    responses((status = 200, body = ExpertView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn mine(State(state): State<AppState>, expert: Expert_) -> ApiResult<Json<ExpertView>> {
    let e = load(&state, &expert.0.account_id).await?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(view(&state, &mut conn, &e).await?))
}

/// Edit one's expert profile; the first edit starts it as a draft. Prices may
/// change at any time: what was already booked or sent keeps its price.
#[utoipa::path(patch, path = "/api/v1/experts/me", tag = "experts", security(("bearer" = [])),
    request_body = ExpertPatch,
    responses((status = 200, body = ExpertView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn edit(
    State(state): State<AppState>,
    expert: Expert_,
    ApiJson(patch): ApiJson<ExpertPatch>,
) -> ApiResult<Json<ExpertView>> {
    let id = &expert.0.account_id;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let mut e = store::get(&mut tx, id)
        .await?
        .unwrap_or_else(|| Expert::new(id, now));
    let mut errors = Vec::new();
    if let Some(v) = patch.bio {
        validate::bio(&v, &mut errors);
        e.bio = v.trim().to_owned();
    }
    if let Some(v) = patch.domains {
        validate::domains(&v, &mut errors);
        for unknown in store::unknown_domains(&mut tx, &v).await? {
            let i = v.iter().position(|d| *d == unknown).unwrap_or_default();
            errors.push(FieldError::new(
                format!("domains[{i}]"),
                "unknown",
                "not a domain of GET /api/v1/domains",
            ));
        }
        e.domains = v;
    }
    if let Some(v) = patch.languages {
        validate::languages(&v, &mut errors);
        e.languages = v;
    }
    if let Some(v) = patch.city {
        if let Some(c) = &v {
            validate::city(c, &mut errors);
        }
        e.city = v.map(|c| c.trim().to_owned());
    }
    if let Some(v) = patch.position {
        if let Some(p) = &v {
            validate::position(p, &mut errors);
        }
        e.position = v;
    }
    if let Some(v) = patch.prices {
        validate::prices(&v, &mut errors);
        e.prices = v;
    }
    if let Some(v) = patch.instant_booking {
        e.instant_booking = v;
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    store::save_profile(&mut tx, &e, now).await?;
    listing::refresh(&mut tx, state.db.backend(), id).await?;
    commit_with_view(&state, tx, id).await
}

/// Commits a change to the expert profile of `id`, answering with the
/// profile as it now is.
pub(super) async fn commit_with_view(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    id: &str,
) -> ApiResult<Json<ExpertView>> {
    let saved = store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("expert"))?;
    let saved = view(state, &mut tx, &saved).await?;
    tx.commit().await?;
    Ok(Json(saved))
}

/// A service an expert offers, and its price in coins.
#[derive(Debug, Serialize, ToSchema)]
pub struct Offer {
    pub service: Service,
    /// Coins per message, or per minute for video calls.
    pub price: i64,
    /// Minutes a video call is billed at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_minutes: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingSummary {
    /// Mean of 1-5 ratings, two decimals; absent before the first rating.
    pub average: Option<f64>,
    pub count: i64,
}

/// A linked social account, proven by the provider's sign-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SocialProof {
    pub provider: Provider,
    /// The LinkedIn name or the Instagram username.
    pub handle: String,
    /// The public profile page; LinkedIn's sign-in gives none.
    pub url: Option<String>,
    pub verified_at: String,
}

impl From<&Link> for SocialProof {
    fn from(l: &Link) -> Self {
        SocialProof {
            provider: l.provider,
            handle: l.handle.clone(),
            url: l.url.clone(),
            verified_at: timestamp(l.verified_at),
        }
    }
}

/// What a visitor sees of an expert.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpertPage {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub photo_url: Option<String>,
    pub bio: String,
    pub domains: Vec<Domain>,
    pub languages: Vec<String>,
    pub city: Option<String>,
    pub position: Option<Position>,
    pub services: Vec<Offer>,
    pub instant_booking: bool,
    pub rating: RatingSummary,
    /// Completed consultations.
    pub consultations: i64,
    pub social: Vec<SocialProof>,
}

/// The minimum a video call is billed.
pub const CALL_MINIMUM_MINUTES: i64 = 10;

pub(crate) fn offers(prices: &Prices) -> Vec<Offer> {
    Service::ALL
        .into_iter()
        .filter_map(|service| {
            prices.of(service).map(|price| Offer {
                service,
                price,
                minimum_minutes: (service == Service::VideoCall).then_some(CALL_MINIMUM_MINUTES),
            })
        })
        .collect()
}

pub(crate) fn rating(count: i64, sum: i64) -> RatingSummary {
    RatingSummary {
        average: (count > 0).then(|| ((sum * 100) as f64 / count as f64).round() / 100.0),
        count,
    }
}

/// An expert's public page. Unlisted experts (not approved, hidden, or
/// deactivated) answer 404, except to themselves and administrators.
#[utoipa::path(get, path = "/api/v1/experts/{id}", tag = "experts",
    params(("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = ExpertPage), (status = 404, body = Problem)))]
pub async fn page(
    State(state): State<AppState>,
    viewer: OptionalCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ExpertPage>> {
    let e = load(&state, &id).await?;
    let privileged = viewer
        .0
        .as_ref()
        .is_some_and(|c: &Caller| c.may_manage(&id));
    if !e.listed && !privileged {
        return Err(ApiError::not_found("expert"));
    }
    let account: Account = accounts::store::by_id(state.db.pool(), &id)
        .await?
        .filter(|a| a.status != Status::Deleted)
        .ok_or_else(|| ApiError::not_found("expert"))?;
    let mut conn = state.db.pool().acquire().await?;
    let domains = store::domains(&mut conn)
        .await?
        .into_iter()
        .filter(|d| e.domains.contains(&d.slug))
        .collect();
    let social = social::store::of(&mut *conn, &id).await?;
    Ok(Json(ExpertPage {
        id: e.account_id.clone(),
        first_name: account.first_name.clone(),
        last_name: account.last_name.clone(),
        photo_url: photo_url(&account),
        bio: e.bio.clone(),
        domains,
        languages: e.languages.clone(),
        city: e.city.clone(),
        position: e.position,
        services: offers(&e.prices),
        instant_booking: e.instant_booking,
        rating: rating(e.rating_count, e.rating_sum),
        consultations: e.consultations,
        social: social.iter().map(SocialProof::from).collect(),
    }))
}

/// The domains of expertise experts choose from.
#[utoipa::path(get, path = "/api/v1/domains", tag = "experts",
    responses((status = 200, body = Vec<Domain>)))]
pub async fn domains(State(state): State<AppState>) -> ApiResult<Json<Vec<Domain>>> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(store::domains(&mut conn).await?))
}
