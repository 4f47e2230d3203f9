//! Who is calling and what they may do: the one place roles and ownership are
//! checked. Handlers take `Caller`, `OptionalCaller` or `Authorized<Policy>`
//! and never inspect roles themselves.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Query};
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::accounts::{Role, Status};
use crate::auth::tokens::TokenError;
use crate::state::AppState;

/// A signed-in, active account with an open session.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub role: Role,
    pub session_id: String,
}

impl Caller {
    /// The account itself or an administrator may change an account.
    pub fn may_manage(&self, account_id: &str) -> bool {
        self.account_id == account_id || self.role == Role::Admin
    }

    /// The account id as the ledger names accounts.
    pub fn account_uuid(&self) -> Result<uuid::Uuid, ApiError> {
        uuid::Uuid::parse_str(&self.account_id).map_err(ApiError::internal)
    }

    pub fn ensure_may_manage(&self, account_id: &str) -> Result<(), ApiError> {
        if self.may_manage(account_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden("You may only change your own account"))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, bearer(parts)?).await
    }
}

/// The bearer token of the Authorization header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "unauthenticated",
            "Sign in: send `Authorization: Bearer <access token>`",
        )
    })?;
    header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "The Authorization header is not a bearer token",
            )
        })
}

/// The caller an access token names, if it is valid and its session open.
async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let claims = state
        .keys
        .verify_access(token.trim(), state.clock.now_secs())
        .map_err(|e| match e {
            TokenError::Expired => {
                ApiError::unauthorized("token_expired", "The access token has expired; refresh it")
            }
            TokenError::Invalid => {
                ApiError::unauthorized("invalid_token", "The access token is not valid")
            }
        })?;
    // Checked on every request, so deactivation, logout and revocation
    // take effect at once rather than when the token expires.
    let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT a.role, a.status, s.revoked_at FROM accounts a \
         JOIN sessions s ON s.account_id = a.id WHERE a.id = $1 AND s.id = $2",
    )
    .bind(&claims.sub)
    .bind(&claims.sid)
    .fetch_optional(state.db.pool())
    .await?;
    let Some((role, status, revoked)) = row else {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "The access token is not valid",
        ));
    };
    if revoked.is_some() {
        return Err(ApiError::unauthorized(
            "session_revoked",
            "This session has ended; sign in again",
        ));
    }
    if Status::parse(&status) != Some(Status::Active) {
        return Err(ApiError::unauthorized(
            "account_deactivated",
            "This account is deactivated",
        ));
    }
    Ok(Caller {
        account_id: claims.sub,
        role: Role::parse(&role)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad role {role}")))?,
        session_id: claims.sid,
    })
}

/// A caller of an endpoint browsers open with `EventSource`, which cannot
/// set headers: the bearer token may come as `?access_token=` instead. The
/// header wins when both are sent. Tokens in URLs can end up in proxy logs;
/// access tokens are short-lived, which bounds that.
pub struct StreamCaller(pub Caller);

impl FromRequestParts<AppState> for StreamCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(StreamCaller(authenticate(state, bearer(parts)?).await?));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: Option<String>,
        }
        let token = Query::<Token>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.access_token);
        match token {
            Some(token) => Ok(StreamCaller(authenticate(state, &token).await?)),
            None => Err(ApiError::unauthorized(
                "unauthenticated",
                "Sign in: send `Authorization: Bearer <access token>` or `?access_token=`",
            )),
        }
    }
}

/// A caller if an Authorization header is present (and then it must be
/// valid), or an anonymous visitor.
pub struct OptionalCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for OptionalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Ok(OptionalCaller(Some(
                Caller::from_request_parts(parts, state).await?,
            )))
        } else {
            Ok(OptionalCaller(None))
        }
    }
}

/// Which roles an endpoint admits.
pub trait Policy: Send + Sync + 'static {
    const ROLES: &'static [Role];
    const REFUSAL: &'static str;
}

pub struct Admins;

impl Policy for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
    const REFUSAL: &'static str = "This requires the administrator role";
}

/// A caller whose role the policy `P` admits; others get 403.
pub struct Authorized<P: Policy>(pub Caller, PhantomData<P>);

impl<P: Policy> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if P::ROLES.contains(&caller.role) {
            Ok(Authorized(caller, PhantomData))
        } else {
            Err(ApiError::forbidden(P::REFUSAL))
        }
    }
}

pub struct Experts;

impl Policy for Experts {
    const ROLES: &'static [Role] = &[Role::Expert];
    const REFUSAL: &'static str = "This requires an expert account";
}
