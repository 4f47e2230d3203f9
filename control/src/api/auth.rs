//! Sign-up, email verification, login, token refresh, logout and passwords.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use proto::{FieldError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery, ClientIp};
use super::views::{AccountView, StatusMessage, Tokens};
use crate::accounts::store;
use crate::accounts::{validate, Account, Language, Role, Status};
use crate::auth::attempts::{self, Attempt};
use crate::auth::links;
use crate::auth::password;
use crate::auth::sessions::{self, RefreshError};
use crate::auth::tokens::{random_token, AccessClaims, LinkClaims, TokenError};
use crate::mail;
use crate::metrics::LoginOutcome;
use crate::state::AppState;

const VERIFY_EMAIL: &str = "verify_email";
const RESET_PASSWORD: &str = "reset_password";

/// Takes a required string field, recording `required` when it is absent or blank.
pub(super) fn required(field: &str, value: Option<String>, errors: &mut Vec<FieldError>) -> String {
    match value {
        Some(v) if !v.trim().is_empty() => v,
        _ => {
            errors.push(FieldError::new(field, "required", "is required"));
            String::new()
        }
    }
}

pub(super) fn fail_if_any(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Signs a link for one purpose and emails it to the account. A mail failure
/// is logged, not returned: the account exists and the person can ask again.
async fn email_link(
    state: &AppState,
    account: &Account,
    purpose: &str,
    path: &str,
    ttl: Duration,
    compose: fn(Language, &str, &str, Duration) -> mail::Email,
) {
    let recipient = validate::normalize_email(&account.email);
    if state.mail_limiter.check(&recipient, state.now()).is_err() {
        tracing::info!(account = %account.id, purpose, "emailed link not sent: too many to this address lately");
        return;
    }
    let token = state.keys.sign_link(&LinkClaims {
        purpose: purpose.to_owned(),
        account: account.id.clone(),
        exp: state.clock.now_secs() + ttl.as_secs() as i64,
        nonce: random_token(),
    });
    let link = format!("{}{path}?token={token}", state.public_url);
    let email = compose(account.language, &account.first_name, &link, ttl);
    if let Err(e) = state
        .mailer
        .send(&account.full_name(), &account.email, email)
        .await
    {
        tracing::warn!(account = %account.id, purpose, error = %e, "could not send email");
    }
}

pub(super) async fn send_verification(state: &AppState, account: &Account) {
    let ttl = state.settings.auth.verification_link_ttl;
    email_link(
        state,
        account,
        VERIFY_EMAIL,
        "/api/v1/auth/verify-email",
        ttl,
        mail::verification,
    )
    .await;
}

fn link_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Invalid => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "This link is not valid",
        ),
        TokenError::Expired => ApiError::new(
            StatusCode::BAD_REQUEST,
            "token_expired",
            "This link has expired; ask for a new one",
        ),
    }
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct TokenParam {
    /// The token from the emailed link.
    pub token: String,
}

/// Follow the emailed verification link (it points here).
#[utoipa::path(get, path = "/api/v1/auth/verify-email", tag = "auth", params(TokenParam),
    responses((status = 200, body = StatusMessage), (status = 400, body = Problem, description = "invalid_token or token_expired")))]
pub async fn verify_email_link(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TokenParam>,
) -> ApiResult<axum::Json<StatusMessage>> {
    verify_email(&state, &q.token).await
}

/// Verify an email address with the token of the emailed link.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenParam,
    responses((status = 200, body = StatusMessage), (status = 400, body = Problem, description = "invalid_token or token_expired")))]
pub async fn verify_email_post(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenParam>,
) -> ApiResult<axum::Json<StatusMessage>> {
    verify_email(&state, &req.token).await
}

async fn verify_email(state: &AppState, token: &str) -> ApiResult<axum::Json<StatusMessage>> {
    let claims = state
        .keys
        .verify_link(token, VERIFY_EMAIL, state.clock.now_secs())
        .map_err(link_error)?;
    let account = store::by_id(state.db.pool(), &claims.account)
        .await?
        .filter(|a| a.status != Status::Deleted)
        .ok_or_else(|| link_error(TokenError::Invalid))?;
    store::mark_verified(state.db.pool(), &account.id, state.now()).await?;
    Ok(axum::Json(StatusMessage { status: "verified" }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    pub email: String,
}

/// Send the verification link again. Always 202, whether or not the address
/// has an account, so the endpoint does not reveal who is registered.
#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth", request_body = EmailRequest,
    responses((status = 202, body = StatusMessage), (status = 429, body = Problem)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<EmailRequest>,
) -> ApiResult<(StatusCode, axum::Json<StatusMessage>)> {
    ip.throttle(&state)?;
    in_background(&state, req.email, |state, account| async move {
        if account.email_verified_at.is_none() {
            send_verification(&state, &account).await;
        }
    });
    Ok(accepted())
}

fn accepted() -> (StatusCode, axum::Json<StatusMessage>) {
    (
        StatusCode::ACCEPTED,
        axum::Json(StatusMessage { status: "accepted" }),
    )
}

/// Looks up the active account of `email` and runs `work` for it after the
/// response has gone: answering at once, whether or not the address is
/// registered, keeps the response time from telling.
fn in_background<F, Fut>(state: &AppState, email: String, work: F)
where
    F: FnOnce(AppState, Account) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let state = state.clone();
    tokio::spawn(async move {
        match store::by_email(state.db.pool(), &email).await {
            Ok(Some(account)) if account.status == Status::Active => work(state, account).await,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "account lookup for an emailed link failed"),
        }
    });
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub password: Option<String>,
}

/// Log in with email and password. After `max_failed_logins` consecutive
/// failures the account is locked for `lockout` (429 `account_locked` with
/// `Retry-After`), even for the right password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens), (status = 401, body = Problem, description = "invalid_credentials"),
              (status = 403, body = Problem, description = "account_deactivated"),
              (status = 429, body = Problem, description = "account_locked or rate_limited")))]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<axum::Json<Tokens>> {
    ip.throttle(&state)?;
    let mut errors = Vec::new();
    let email = required("email", req.email, &mut errors);
    let password = required("password", req.password, &mut errors);
    fail_if_any(errors)?;

    let now = state.now();
    let failures = match reserve_attempt(&state, &email, now).await? {
        Attempt::Allowed { failures } => failures,
        Attempt::Locked { until } => {
            state.metrics.login(LoginOutcome::Locked);
            return Err(locked(until - now));
        }
    };
    let account = store::by_email(state.db.pool(), &email)
        .await?
        .filter(|a| a.status != Status::Deleted);
    // Without an account, verify against a decoy: the same work, so timing
    // does not reveal who is registered.
    let hash = account
        .as_ref()
        .map_or_else(|| state.decoy_hash.clone(), |a| a.password_hash.clone());
    let matches = password::verify(password, hash).await?;
    let Some(account) = account.filter(|_| matches) else {
        state.metrics.login(LoginOutcome::InvalidCredentials);
        return Err(failed_attempt(&state, failures, now));
    };
    attempts::clear(state.db.pool(), &email).await?;
    if account.status == Status::Deactivated {
        state.metrics.login(LoginOutcome::Deactivated);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_deactivated",
            "This account is deactivated",
        ));
    }
    state.metrics.login(LoginOutcome::Success);
    let (session_id, refresh) =
        sessions::open(&state.db, &account.id, now, refresh_ttl_ms(&state)).await?;
    if account.role == Role::Expert {
        crate::experts::store::touch(state.db.pool(), &account.id, now).await?;
    }
    Ok(axum::Json(tokens(&state, &account, session_id, refresh)))
}

async fn reserve_attempt(state: &AppState, email: &str, now: i64) -> ApiResult<Attempt> {
    let auth = &state.settings.auth;
    Ok(attempts::reserve(
        state.db.pool(),
        email,
        now,
        i64::from(auth.max_failed_logins),
        auth.lockout.as_millis() as i64,
    )
    .await?)
}

/// The error for a wrong password: 401, or 429 if this failure used up the
/// last attempt and locked the address.
fn failed_attempt(state: &AppState, failures: i64, now: i64) -> ApiError {
    let auth = &state.settings.auth;
    if failures >= i64::from(auth.max_failed_logins) {
        state.metrics.lockout();
        locked(auth.lockout.as_millis() as i64 - (state.now() - now))
    } else {
        ApiError::unauthorized("invalid_credentials", "Wrong email or password")
    }
}

fn locked(retry_after_ms: i64) -> ApiError {
    ApiError::too_many(
        "account_locked",
        "Too many failed logins; this account is locked for a while",
        retry_after_ms,
    )
}

fn refresh_ttl_ms(state: &AppState) -> i64 {
    state.settings.auth.refresh_token_ttl.as_millis() as i64
}

fn tokens(
    state: &AppState,
    account: &Account,
    session_id: String,
    refresh_token: String,
) -> Tokens {
    let ttl = state.settings.auth.access_token_ttl.as_secs();
    let now = state.clock.now_secs();
    let access = state.keys.issue_access(&AccessClaims {
        sub: account.id.clone(),
        sid: session_id,
        role: account.role,
        iat: now,
        exp: now + ttl as i64,
    });
    Tokens {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        account: AccountView::from(account),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for new credentials. Each refresh token works
/// once; presenting a spent one revokes its whole session (401 `refresh_token_reused`).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401, body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<axum::Json<Tokens>> {
    ip.throttle(&state)?;
    let now = state.now();
    let rotated = sessions::rotate(&state.db, &req.refresh_token, now, refresh_ttl_ms(&state))
        .await?
        .map_err(|e| {
            let code = match e {
                RefreshError::Unknown => "invalid_refresh_token",
                RefreshError::Reused => "refresh_token_reused",
                RefreshError::Expired => "refresh_token_expired",
                RefreshError::Revoked => "session_revoked",
            };
            ApiError::unauthorized(code, &e.to_string())
        })?;
    let account = store::by_id(state.db.pool(), &rotated.account_id)
        .await?
        .filter(|a| a.status == Status::Active);
    let Some(account) = account else {
        sessions::revoke_all(
            state.db.pool(),
            &rotated.account_id,
            "account_inactive",
            now,
        )
        .await?;
        return Err(ApiError::unauthorized(
            "account_deactivated",
            "This account is deactivated",
        ));
    };
    Ok(axum::Json(tokens(
        &state,
        &account,
        rotated.session_id,
        rotated.refresh_token,
    )))
}

/// End the session the refresh token belongs to; its access tokens stop
/// working at once. Logging out twice is not an error.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    sessions::revoke_by_token(state.db.pool(), &req.refresh_token, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Email a single-use password-reset link. Always 202.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/request", tag = "auth", request_body = EmailRequest,
    responses((status = 202, body = StatusMessage), (status = 429, body = Problem)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<EmailRequest>,
) -> ApiResult<(StatusCode, axum::Json<StatusMessage>)> {
    ip.throttle(&state)?;
    in_background(&state, req.email, |state, account| async move {
        let ttl = state.settings.auth.reset_link_ttl;
        email_link(
            &state,
            &account,
            RESET_PASSWORD,
            "/reset-password",
            ttl,
            mail::password_reset,
        )
        .await;
    });
    Ok(accepted())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub token: String,
    pub new_password: String,
}

/// Set a new password with the token of a reset link. The link works once;
/// every session of the account ends, and the email counts as verified.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 400, body = Problem, description = "invalid_token, token_expired or token_used"),
              (status = 422, body = Problem)))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    ip.throttle(&state)?;
    let claims = state
        .keys
        .verify_link(&req.token, RESET_PASSWORD, state.clock.now_secs())
        .map_err(link_error)?;
    let account = store::by_id(state.db.pool(), &claims.account)
        .await?
        .filter(|a| a.status == Status::Active)
        .ok_or_else(|| link_error(TokenError::Invalid))?;
    let mut errors = Vec::new();
    let local = account.email.split('@').next().unwrap_or_default();
    validate::password(
        "new_password",
        &req.new_password,
        &[local, &account.first_name, &account.last_name],
        &mut errors,
    );
    fail_if_any(errors)?;
    let now = state.now();
    if !links::spend(state.db.pool(), &claims.nonce, now).await? {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "token_used",
            "This link was already used; ask for a new one",
        ));
    }
    let hash = password::hash(req.new_password).await?;
    store::set_password(state.db.pool(), &account.id, &hash, now).await?;
    store::mark_verified(state.db.pool(), &account.id, now).await?;
    attempts::clear(state.db.pool(), &account.email).await?;
    sessions::revoke_all(state.db.pool(), &account.id, "password_reset", now).await?;
    tracing::info!(account = %account.id, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// The page a reset link opens: a form that posts the new password.
pub async fn reset_page() -> Html<&'static str> {
    Html(include_str!("reset-password.html"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's password. Every session ends; the response carries fresh
/// credentials for this one.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Tokens), (status = 403, body = Problem, description = "wrong_password"), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ip: ClientIp,
    caller: Caller,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<axum::Json<Tokens>> {
    ip.throttle(&state)?;
    let account = store::by_id(state.db.pool(), &caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    // Guessing the current password with a stolen access token counts
    // against the same limit as guessing it at login.
    let now = state.now();
    let failures = match reserve_attempt(&state, &account.email, now).await? {
        Attempt::Allowed { failures } => failures,
        Attempt::Locked { until } => return Err(locked(until - now)),
    };
    if !password::verify(req.current_password, account.password_hash.clone()).await? {
        if failures >= i64::from(state.settings.auth.max_failed_logins) {
            return Err(failed_attempt(&state, failures, now));
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "The current password is wrong",
        )
        .fields(vec![FieldError::new(
            "current_password",
            "wrong",
            "does not match",
        )]));
    }
    attempts::clear(state.db.pool(), &account.email).await?;
    let mut errors = Vec::new();
    let local = account.email.split('@').next().unwrap_or_default();
    validate::password(
        "new_password",
        &req.new_password,
        &[local, &account.first_name, &account.last_name],
        &mut errors,
    );
    fail_if_any(errors)?;
    let hash = password::hash(req.new_password).await?;
    store::set_password(state.db.pool(), &account.id, &hash, now).await?;
    sessions::revoke_all(state.db.pool(), &account.id, "password_changed", now).await?;
    let (session_id, refresh) =
        sessions::open(&state.db, &account.id, now, refresh_ttl_ms(&state)).await?;
    if account.role == Role::Expert {
        crate::experts::store::touch(state.db.pool(), &account.id, now).await?;
    }
    Ok(axum::Json(tokens(&state, &account, session_id, refresh)))
}
