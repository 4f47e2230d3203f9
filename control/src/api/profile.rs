//! Profiles: reading one's own account and others' public profiles, editing,
//! and the profile photo.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto::Problem;
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::{Caller, OptionalCaller};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::{AccountView, PublicProfile};
use crate::accounts::{store, validate, Account, Language, Privacy, Status};
use crate::experts::listing;
use crate::photos::{self, PhotoError};
use crate::state::AppState;

async fn load(state: &AppState, id: &str) -> ApiResult<Account> {
    store::by_id(state.db.pool(), id)
        .await?
        .filter(|a| a.status != Status::Deleted)
        .ok_or_else(|| ApiError::not_found("account"))
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<AccountView>> {
    Ok(Json(AccountView::from(
        &load(&state, &caller.account_id).await?,
    )))
}

/// Whether `viewer` may see `account`'s profile: public profiles of active
/// accounts to anyone, everything to the owner and administrators.
fn visible(account: &Account, viewer: &Option<Caller>) -> bool {
    viewer.as_ref().is_some_and(|c| c.may_manage(&account.id))
        || (account.privacy == Privacy::Public && account.status == Status::Active)
}

/// A profile as others see it. Private profiles answer 404 to everyone but
/// their owner and administrators, so their existence is not revealed.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "profile",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = PublicProfile), (status = 404, body = Problem)))]
pub async fn public_profile(
    State(state): State<AppState>,
    viewer: OptionalCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<PublicProfile>> {
    let account = load(&state, &id).await?;
    if !visible(&account, &viewer.0) {
        return Err(ApiError::not_found("account"));
    }
    Ok(Json(PublicProfile::from(&account)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPatch {
    pub email: Option<bool>,
    pub sms: Option<bool>,
    pub push: Option<bool>,
}

/// Fields to change; absent fields stay as they are. An empty `bio` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub interests: Option<Vec<String>>,
    pub privacy: Option<Privacy>,
    pub language: Option<Language>,
    pub notifications: Option<NotificationPatch>,
    /// For SMS: international form, `+` and the country code
    /// (`+216 20 123 456`; spaces, dots, dashes and brackets are dropped).
    /// An empty string clears it.
    pub phone: Option<String>,
}

/// Edit a profile: one's own, or any as an administrator.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "profile", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = ProfilePatch,
    responses((status = 200, body = AccountView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> ApiResult<Json<AccountView>> {
    caller.ensure_may_manage(&id)?;
    let mut account = load(&state, &id).await?;
    let mut errors = Vec::new();
    if let Some(v) = patch.first_name {
        validate::name("first_name", &v, &mut errors);
        account.first_name = v.trim().to_owned();
    }
    if let Some(v) = patch.last_name {
        validate::name("last_name", &v, &mut errors);
        account.last_name = v.trim().to_owned();
    }
    if let Some(v) = patch.bio {
        validate::bio("bio", &v, &mut errors);
        account.bio = Some(v.trim().to_owned()).filter(|b| !b.is_empty());
    }
    if let Some(v) = patch.interests {
        validate::interests("interests", &v, &mut errors);
        account.interests = v.into_iter().map(|i| i.trim().to_owned()).collect();
    }
    if let Some(v) = patch.phone {
        account.phone = match v.trim() {
            "" => None,
            number => validate::phone("phone", number, &mut errors),
        };
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(v) = patch.privacy {
        account.privacy = v;
    }
    if let Some(v) = patch.language {
        account.language = v;
    }
    if let Some(n) = patch.notifications {
        let prefs = &mut account.notifications;
        prefs.email = n.email.unwrap_or(prefs.email);
        prefs.sms = n.sms.unwrap_or(prefs.sms);
        prefs.push = n.push.unwrap_or(prefs.push);
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    store::save_profile(&mut *tx, &account, now).await?;
    // An expert's name is part of what search finds.
    listing::refresh(&mut tx, state.db.backend(), &id).await?;
    tx.commit().await?;
    account.updated_at = now;
    Ok(Json(AccountView::from(&account)))
}

/// Upload a profile photo as the raw request body with its image content
/// type (JPEG, PNG, WebP or GIF; at most `control.storage.max_photo_bytes`).
/// It is validated by decoding, scaled to fit 512x512 and stored as JPEG.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/photo", tag = "profile", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = AccountView), (status = 403, body = Problem),
              (status = 413, body = Problem, description = "payload_too_large"),
              (status = 415, body = Problem, description = "unsupported_media_type"),
              (status = 422, body = Problem, description = "invalid_image")))]
pub async fn put_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<AccountView>> {
    caller.ensure_may_manage(&id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut account = load(&state, &id).await?;
    let jpeg = prepare_photo(content_type, body)
        .await?
        .map_err(|refusal| match refusal {
            PhotoRefusal::WrongType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send a JPEG, PNG, WebP or GIF image",
            )
            .detail(format!(
                "Content-Type must be one of {}",
                photos::CONTENT_TYPES.join(", ")
            )),
            PhotoRefusal::Invalid(e) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), &e.to_string())
            }
        })?;
    let now = state.now();
    account.photo_key = Some(store_photo(&state, &account.id, jpeg, now).await?);
    account.updated_at = now;
    Ok(Json(AccountView::from(&account)))
}

/// Why an uploaded photo was refused.
pub(super) enum PhotoRefusal {
    /// Not one of `photos::CONTENT_TYPES`.
    WrongType,
    Invalid(PhotoError),
}

/// Checks an upload's declared type, then decodes and re-encodes it (one
/// job per core). The outer error is ours; the inner one the upload's.
pub(super) async fn prepare_photo(
    content_type: &str,
    body: Bytes,
) -> ApiResult<Result<Vec<u8>, PhotoRefusal>> {
    let declared = content_type.split(';').next().unwrap_or_default().trim();
    if !photos::CONTENT_TYPES.contains(&declared) {
        return Ok(Err(PhotoRefusal::WrongType));
    }
    Ok(crate::cpu::run(move || photos::normalise(&body))
        .await?
        .map_err(PhotoRefusal::Invalid))
}

/// Stores a prepared photo as the account's, deleting the one it replaces.
pub(super) async fn store_photo(
    state: &AppState,
    account_id: &str,
    jpeg: Vec<u8>,
    now: i64,
) -> ApiResult<String> {
    let key = format!("photos/{account_id}/{}.jpg", uuid::Uuid::now_v7());
    state.objects.put(&key, jpeg).await?;
    if let Some(old) = store::set_photo(&state.db, account_id, Some(&key), now).await? {
        state.objects.delete(&old).await?;
    }
    Ok(key)
}

/// Remove the profile photo.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/photo", tag = "profile", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.ensure_may_manage(&id)?;
    let account = load(&state, &id).await?;
    if let Some(old) = store::set_photo(&state.db, &account.id, None, state.now()).await? {
        state.objects.delete(&old).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The profile photo (JPEG), with the same visibility as the profile.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/photo", tag = "profile",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn get_photo(
    State(state): State<AppState>,
    viewer: OptionalCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let account = load(&state, &id).await?;
    let key = account
        .photo_key
        .as_deref()
        .filter(|_| visible(&account, &viewer.0))
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let bytes = state
        .objects
        .get(key)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    // Browsers only, and briefly: a profile can turn private at any time,
    // and a shared cache would go on serving the photo. A new photo has a new
    // URL, so the short lifetime costs little.
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}
