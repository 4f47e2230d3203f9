//! Web-push subscriptions: a browser that subscribed with our VAPID public
//! key hands us its subscription; notifications then reach it while the
//! account's push preference is on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::timestamp;
use crate::notify::push::{endpoint_allowed, keys_valid};
use crate::state::AppState;

/// A browser keeps at most this many subscriptions per account; a new one
/// beyond replaces the oldest.
const PER_ACCOUNT: i64 = 10;
const MAX_ENDPOINT: usize = 2_048;

#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKey {
    /// base64url of our P-256 public key: the `applicationServerKey` of
    /// `PushManager.subscribe`.
    pub public_key: String,
}

/// The key browsers subscribe with.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "notifications",
    responses((status = 200, body = VapidKey)))]
pub async fn vapid_key(State(state): State<AppState>) -> Json<VapidKey> {
    Json(VapidKey {
        public_key: state.push.public_key().to_owned(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// base64url of the browser's P-256 public key.
    pub p256dh: String,
    /// base64url of its 16-byte authentication secret.
    pub auth: String,
}

/// `PushSubscription.toJSON()` as the browser gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub endpoint: String,
    pub keys: Keys,
    /// Part of the browser's JSON; push services report expiry themselves
    /// (404/410), which is when we forget a subscription.
    #[serde(rename = "expirationTime", default)]
    #[schema(value_type = Option<i64>)]
    pub _expiration_time: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub endpoint: String,
    pub created_at: String,
}

/// Register this browser for push notifications. The same endpoint again
/// (new keys, or another account signed in) replaces the earlier one.
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "notifications", security(("bearer" = [])),
    request_body = NewSubscription,
    responses((status = 201, body = SubscriptionView), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewSubscription>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    let settings = &state.settings.notify.push;
    let mut errors = Vec::new();
    if body.endpoint.len() > MAX_ENDPOINT
        || !endpoint_allowed(
            &body.endpoint,
            &settings.endpoint_hosts,
            settings.allow_http,
        )
    {
        errors.push(FieldError::new(
            "endpoint",
            "invalid",
            "must be the https URL of a known push service",
        ));
    }
    let (key_ok, auth_ok) = keys_valid(&body.keys.p256dh, &body.keys.auth);
    if !key_ok {
        errors.push(FieldError::new(
            "keys.p256dh",
            "invalid",
            "must be base64url of a P-256 public key",
        ));
    }
    if !auth_ok {
        errors.push(FieldError::new(
            "keys.auth",
            "invalid",
            "must be base64url of 16 bytes",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO push_subscriptions (id, account_id, endpoint, p256dh, auth, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE SET \
         account_id = excluded.account_id, p256dh = excluded.p256dh, auth = excluded.auth, \
         created_at = excluded.created_at",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&caller.account_id)
    .bind(&body.endpoint)
    .bind(&body.keys.p256dh)
    .bind(&body.keys.auth)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM push_subscriptions WHERE account_id = $1 AND id NOT IN ( \
           SELECT id FROM push_subscriptions WHERE account_id = $1 \
           ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind(&caller.account_id)
    .bind(PER_ACCOUNT)
    .execute(&mut *tx)
    .await?;
    let (id, created_at): (String, i64) =
        sqlx::query_as("SELECT id, created_at FROM push_subscriptions WHERE endpoint = $1")
            .bind(&body.endpoint)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionView {
            id,
            endpoint: body.endpoint,
            created_at: timestamp(created_at),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unsubscription {
    pub endpoint: String,
}

/// Stop push notifications to this browser.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", tag = "notifications", security(("bearer" = [])),
    request_body = Unsubscription,
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Unsubscription>,
) -> ApiResult<StatusCode> {
    let removed =
        sqlx::query("DELETE FROM push_subscriptions WHERE account_id = $1 AND endpoint = $2")
            .bind(&caller.account_id)
            .bind(&body.endpoint)
            .execute(state.db.pool())
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(ApiError::not_found("subscription"));
    }
    Ok(StatusCode::NO_CONTENT)
}
