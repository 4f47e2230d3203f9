//! The domain taxonomy: administrators add, rename and remove domains.
//! Renaming re-indexes the experts in the domain, so search follows at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::{Admins, Authorized};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::experts::listing;
use crate::experts::store::Domain;
use crate::state::AppState;

type Admin = Authorized<Admins>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    /// Lower-case letters, digits and hyphens, 2 to 40; never changes.
    pub slug: String,
    pub name_fr: String,
    pub name_en: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    pub name_fr: Option<String>,
    pub name_en: Option<String>,
}

fn check_name(field: &str, v: &str, errors: &mut Vec<FieldError>) {
    let n = v.trim().chars().count();
    if n == 0 || n > 60 || v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            "1 to 60 printable characters",
        ));
    }
}

fn check_slug(v: &str, errors: &mut Vec<FieldError>) {
    let ok = (2..=40).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        errors.push(FieldError::new(
            "slug",
            "invalid",
            "2 to 40 lower-case letters, digits and inner hyphens",
        ));
    }
}

/// Add a domain.
#[utoipa::path(post, path = "/api/v1/admin/domains", tag = "admin", security(("bearer" = [])),
    request_body = NewDomain,
    responses((status = 201, body = Domain), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(d): ApiJson<NewDomain>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let mut errors = Vec::new();
    check_slug(&d.slug, &mut errors);
    check_name("name_fr", &d.name_fr, &mut errors);
    check_name("name_en", &d.name_en, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let domain = Domain {
        slug: d.slug,
        name_fr: d.name_fr.trim().to_owned(),
        name_en: d.name_en.trim().to_owned(),
    };
    let now = state.now();
    let inserted = sqlx::query(
        "INSERT INTO domains (slug, name_fr, name_en, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(&domain.slug)
    .bind(&domain.name_fr)
    .bind(&domain.name_en)
    .bind(now)
    .execute(state.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "domain_exists",
            "A domain with this slug exists",
        ));
    }
    tracing::info!(admin = %admin.0.account_id, slug = %domain.slug, "domain added");
    Ok((StatusCode::CREATED, Json(domain)))
}

/// Rename a domain; experts in it are re-indexed.
#[utoipa::path(patch, path = "/api/v1/admin/domains/{slug}", tag = "admin", security(("bearer" = [])),
    params(("slug" = String, Path, description = "Domain slug")), request_body = DomainPatch,
    responses((status = 200, body = Domain), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rename(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    ApiJson(p): ApiJson<DomainPatch>,
) -> ApiResult<Json<Domain>> {
    let mut errors = Vec::new();
    for (field, v) in [("name_fr", &p.name_fr), ("name_en", &p.name_en)] {
        if let Some(v) = v {
            check_name(field, v, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = state.db.begin_write().await?;
    let Some((name_fr, name_en)): Option<(String, String)> =
        sqlx::query_as("SELECT name_fr, name_en FROM domains WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Err(ApiError::not_found("domain"));
    };
    let domain = Domain {
        name_fr: p.name_fr.map_or(name_fr, |v| v.trim().to_owned()),
        name_en: p.name_en.map_or(name_en, |v| v.trim().to_owned()),
        slug,
    };
    sqlx::query("UPDATE domains SET name_fr = $2, name_en = $3 WHERE slug = $1")
        .bind(&domain.slug)
        .bind(&domain.name_fr)
        .bind(&domain.name_en)
        .execute(&mut *tx)
        .await?;
    let experts: Vec<String> =
        sqlx::query_scalar("SELECT account_id FROM expert_domains WHERE domain = $1")
            .bind(&domain.slug)
            .fetch_all(&mut *tx)
            .await?;
    for id in experts {
        listing::refresh(&mut tx, state.db.backend(), &id).await?;
    }
    tx.commit().await?;
    tracing::info!(admin = %admin.0.account_id, slug = %domain.slug, "domain renamed");
    Ok(Json(domain))
}

/// Remove a domain no expert uses (409 `domain_in_use` otherwise).
#[utoipa::path(delete, path = "/api/v1/admin/domains/{slug}", tag = "admin", security(("bearer" = [])),
    params(("slug" = String, Path, description = "Domain slug")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM expert_domains WHERE domain = $1")
        .bind(&slug)
        .fetch_one(&mut *tx)
        .await?;
    if used > 0 {
        return Err(ApiError::conflict(
            "domain_in_use",
            "Experts list this domain; they must change theirs first",
        )
        .detail(format!("{used} expert(s) use it")));
    }
    let deleted = sqlx::query("DELETE FROM domains WHERE slug = $1")
        .bind(&slug)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::not_found("domain"));
    }
    tx.commit().await?;
    tracing::info!(admin = %admin.0.account_id, %slug, "domain removed");
    Ok(StatusCode::NO_CONTENT)
}
