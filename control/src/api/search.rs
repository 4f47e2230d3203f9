//! Finding experts: keyword search with filters, sorts and pages, and
//! suggestions as one types. Only listed experts are ever returned.

use axum::extract::State;
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::experts::{offers, rating, Offer, RatingSummary};
use super::extract::ApiQuery;
use super::views::account_photo_url;
use crate::calendar::slots::DAY_MS;
use crate::experts::{store as experts_store, Position, Service};
use crate::search::suggest::{self, Suggestion};
use crate::search::{cursor, fold, store, Filters, Free, Near, Query, Sort};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Keywords matched against names, domains and bios (each as a word
    /// start, all required; case and accents ignored).
    pub q: Option<String>,
    /// A domain slug.
    pub domain: Option<String>,
    /// Only experts offering this service; price bounds and price sorts apply
    /// to it (video calls when absent).
    pub service: Option<Service>,
    /// Coins, inclusive.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// ISO 639-1 code.
    pub language: Option<String>,
    /// Smallest average rating, 1 to 5 (e.g. 4.5).
    pub min_rating: Option<f64>,
    /// With `lon` and `radius_km`: only experts within that distance.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// 0 to 1000 km.
    pub radius_km: Option<f64>,
    /// With `available_to` (RFC 3339 times, at most 62 days apart): only
    /// experts with a free slot of at least 10 minutes in that range.
    pub available_from: Option<String>,
    pub available_to: Option<String>,
    /// relevance (default with `q`: a keyword in a name first, then in a
    /// domain, then in a bio, summed over the keywords; then popularity),
    /// popularity (default without), price_asc, price_desc, rating.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// `next_cursor` of the previous page, with the same parameters.
    pub cursor: Option<String>,
    /// 1 to 50, default 20.
    pub limit: Option<usize>,
}

/// An expert in a result list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpertCard {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub photo_url: Option<String>,
    pub city: Option<String>,
    pub domains: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<Offer>,
    pub instant_booking: bool,
    pub rating: RatingSummary,
    pub consultations: i64,
    /// From the searched point, when searching near one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<ExpertCard>,
    /// Pass as `cursor` (with the same parameters) for the next page; absent
    /// on the last.
    pub next_cursor: Option<String>,
}

fn degrees_e6(name: &str, v: f64, max: f64) -> ApiResult<i64> {
    if !v.is_finite() || v.abs() > max {
        return Err(ApiError::invalid_query(format!(
            "{name} must be between -{max} and {max}"
        )));
    }
    Ok((v * 1e6).round() as i64)
}

/// The free-time filter: both ends or neither.
fn free_of(p: &SearchParams, now: i64) -> ApiResult<Option<Free>> {
    let time = |name: &str, v: &str| {
        v.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|_| ApiError::invalid_query(format!("{name} must be an RFC 3339 time")))
    };
    match (&p.available_from, &p.available_to) {
        (None, None) => Ok(None),
        (Some(from), Some(to)) => {
            let (from, to) = (time("available_from", from)?, time("available_to", to)?);
            if to <= from || to - from > 62 * DAY_MS {
                return Err(ApiError::invalid_query(
                    "available_to must be after available_from, by at most 62 days",
                ));
            }
            Ok(Some(Free { from, to, now }))
        }
        _ => Err(ApiError::invalid_query(
            "available_from and available_to go together",
        )),
    }
}

fn query_of(p: SearchParams, now: i64) -> ApiResult<Query> {
    let free = free_of(&p, now)?;
    let words: Vec<String> = p.q.as_deref().map(fold::words).unwrap_or_default();
    if words.len() > 8 {
        return Err(ApiError::invalid_query("at most 8 keywords"));
    }
    let sort = p.sort.unwrap_or(if words.is_empty() {
        Sort::Popularity
    } else {
        Sort::Relevance
    });
    if sort == Sort::Relevance && words.is_empty() {
        return Err(ApiError::invalid_query(
            "sort=relevance needs keywords in q",
        ));
    }
    let limit = p.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::invalid_query("limit must be between 1 and 50"));
    }
    for (name, v) in [("min_price", p.min_price), ("max_price", p.max_price)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid_query(format!(
                "{name} must not be negative"
            )));
        }
    }
    if let (Some(lo), Some(hi)) = (p.min_price, p.max_price) {
        if lo > hi {
            return Err(ApiError::invalid_query("min_price is above max_price"));
        }
    }
    let min_rating_milli = match p.min_rating {
        Some(r) if !(1.0..=5.0).contains(&r) => {
            return Err(ApiError::invalid_query(
                "min_rating must be between 1 and 5",
            ))
        }
        Some(r) => Some((r * 1000.0).round() as i64),
        None => None,
    };
    let near = match (p.lat, p.lon, p.radius_km) {
        (None, None, None) => None,
        (Some(lat), Some(lon), Some(r)) => {
            if !(r > 0.0 && r <= 1000.0) {
                return Err(ApiError::invalid_query(
                    "radius_km must be above 0 and at most 1000",
                ));
            }
            Some(Near {
                centre: Position {
                    latitude_e6: degrees_e6("lat", lat, 90.0)?,
                    longitude_e6: degrees_e6("lon", lon, 180.0)?,
                },
                radius_m: r * 1000.0,
            })
        }
        _ => {
            return Err(ApiError::invalid_query(
                "lat, lon and radius_km go together",
            ))
        }
    };
    let after = match &p.cursor {
        Some(c) => {
            Some(cursor::decode(sort, c).ok_or_else(|| ApiError::invalid_query("Unknown cursor"))?)
        }
        None => None,
    };
    Ok(Query {
        words,
        filters: Filters {
            domain: p.domain,
            service: p.service,
            min_price: p.min_price,
            max_price: p.max_price,
            language: p.language,
            min_rating_milli,
            near,
            free,
        },
        sort,
        after,
        limit,
    })
}

/// Search listed experts.
#[utoipa::path(get, path = "/api/v1/experts", tag = "experts", params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 400, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchPage>> {
    let q = query_of(p, state.now())?;
    let page = store::search(&state.db, &q).await?;
    Ok(Json(SearchPage {
        next_cursor: page.next.map(|keys| cursor::encode(q.sort, &keys)),
        items: page
            .hits
            .into_iter()
            .map(|h| ExpertCard {
                photo_url: account_photo_url(&h.account_id, h.photo_key.as_deref()),
                services: offers(&h.prices),
                rating: rating(h.rating_count, h.rating_sum),
                distance_km: h.distance_m.map(|d| (d / 100.0).round() / 10.0),
                id: h.account_id,
                first_name: h.first_name,
                last_name: h.last_name,
                city: h.city,
                domains: h.domains,
                languages: h.languages,
                instant_booking: h.instant_booking,
                consultations: h.consultations,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestParams {
    /// What has been typed so far.
    pub q: String,
    /// 1 to 20, default 8.
    pub limit: Option<usize>,
}

/// Suggestions as one types: domains, then experts' names, tolerant of typos.
#[utoipa::path(get, path = "/api/v1/experts/suggest", tag = "experts", params(SuggestParams),
    responses((status = 200, body = Vec<Suggestion>), (status = 400, body = Problem)))]
pub async fn suggestions(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SuggestParams>,
) -> ApiResult<Json<Vec<Suggestion>>> {
    let limit = p.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::invalid_query("limit must be between 1 and 20"));
    }
    if p.q.chars().count() > 100 {
        return Err(ApiError::invalid_query("q is at most 100 characters"));
    }
    let mut conn = state.db.pool().acquire().await?;
    let domains = experts_store::domains(&mut conn).await?;
    drop(conn);
    Ok(Json(
        suggest::suggest(&state.db, &domains, &p.q, limit).await?,
    ))
}
