//! Account administration: search, activate, deactivate, delete. Every change
//! is recorded with the administrator who made it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use proto::Problem;
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::{Admins, Authorized};
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::views::{AccountPage, AccountView};
use crate::accounts::store::{self, Search};
use crate::accounts::{Account, Role, Status};
use crate::auth::sessions;
use crate::experts::listing;
use crate::state::AppState;

type Admin = Authorized<Admins>;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Part of the name or email, any letter case.
    pub q: Option<String>,
    pub role: Option<Role>,
    pub status: Option<Status>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

/// List and search accounts, newest first.
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = AccountPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<AccountPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let search = Search {
        text: q.q.filter(|t| !t.trim().is_empty()),
        role: q.role,
        status: q.status,
        after: page.after.clone(),
        limit: page.fetch(),
    };
    let mut rows = store::search(state.db.pool(), &search).await?;
    let next_cursor = page.cut(&mut rows, |a| (a.created_at, &a.id));
    Ok(Json(AccountPage {
        items: rows.iter().map(AccountView::from).collect(),
        next_cursor,
    }))
}

/// One account, whatever its privacy or status.
#[utoipa::path(get, path = "/api/v1/admin/accounts/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(AccountView::from(&target(&state, &id).await?)))
}

async fn target(state: &AppState, id: &str) -> ApiResult<Account> {
    store::by_id(state.db.pool(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))
}

/// Loads the account an administrator acts on, refusing self-targeting (an
/// administrator locking themselves out) and deleted accounts.
async fn actionable(state: &AppState, admin: &Admin, id: &str) -> ApiResult<Account> {
    if admin.0.account_id == id {
        return Err(ApiError::conflict(
            "cannot_target_self",
            "Administrators cannot do this to their own account",
        ));
    }
    let account = target(state, id).await?;
    if account.status == Status::Deleted {
        return Err(ApiError::conflict(
            "account_deleted",
            "This account has been deleted",
        ));
    }
    Ok(account)
}

/// Sets an account's status: search and public pages follow at once, and
/// leaving `active` ends every session. Moderation's suspension is this too.
pub(super) async fn set_status(
    state: &AppState,
    admin: &Admin,
    id: &str,
    status: Status,
    action: &str,
) -> ApiResult<Account> {
    let mut account = actionable(state, admin, id).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    store::set_status(&mut *tx, id, status, now).await?;
    // A deactivated expert leaves search at once; a reactivated one returns.
    listing::refresh(&mut tx, state.db.backend(), id).await?;
    tx.commit().await?;
    if status != Status::Active {
        sessions::revoke_all(state.db.pool(), id, action, now).await?;
    }
    store::record_admin_action(state.db.pool(), &admin.0.account_id, action, id, now).await?;
    tracing::info!(admin = %admin.0.account_id, account = id, action, "admin action");
    account.status = status;
    account.updated_at = now;
    Ok(account)
}

/// Deactivate an account: it can no longer log in and its sessions end now.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/deactivate", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let account = set_status(&state, &admin, &id, Status::Deactivated, "deactivate").await?;
    Ok(Json(AccountView::from(&account)))
}

/// Reactivate a deactivated account.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/activate", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn activate(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let account = set_status(&state, &admin, &id, Status::Active, "activate").await?;
    Ok(Json(AccountView::from(&account)))
}

/// Delete an account: personal data is anonymised and the photo removed; the
/// account row (and so every financial record naming it) stays.
#[utoipa::path(delete, path = "/api/v1/admin/accounts/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let account = actionable(&state, &admin, &id).await?;
    let now = state.now();
    sessions::revoke_all(state.db.pool(), &id, "deleted", now).await?;
    let mut tx = state.db.begin_write().await?;
    store::anonymise(&mut *tx, &id, now).await?;
    listing::refresh(&mut tx, state.db.backend(), &id).await?;
    tx.commit().await?;
    if let Some(key) = &account.photo_key {
        state.objects.delete(key).await?;
    }
    store::record_admin_action(state.db.pool(), &admin.0.account_id, "delete", &id, now).await?;
    tracing::info!(admin = %admin.0.account_id, account = %id, "account deleted and anonymised");
    Ok(StatusCode::NO_CONTENT)
}
