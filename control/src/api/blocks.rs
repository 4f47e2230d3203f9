//! Blocking: an account blocked by another, or blocking it, exchanges no
//! messages with it (no conversation opened, no message or upload sent)
//! until unblocked. History stays readable.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use proto::Problem;

use super::access::Caller;
use super::error::{ApiError, ApiResult};
use crate::accounts::{self, Status};
use crate::messaging::store;
use crate::state::AppState;

/// Block an account. Idempotent.
#[utoipa::path(put, path = "/api/v1/blocks/{account_id}", tag = "messaging", security(("bearer" = [])),
    params(("account_id" = String, Path, description = "The account to block")),
    responses((status = 204, description = "blocked"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "cannot_block_self")))]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> ApiResult<StatusCode> {
    if account_id == caller.account_id {
        return Err(ApiError::conflict(
            "cannot_block_self",
            "You cannot block yourself",
        ));
    }
    accounts::store::by_id(state.db.pool(), &account_id)
        .await?
        .filter(|a| a.status != Status::Deleted)
        .ok_or_else(|| ApiError::not_found("account"))?;
    let mut conn = state.db.pool().acquire().await?;
    store::block(&mut conn, &caller.account_id, &account_id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock an account. Idempotent.
#[utoipa::path(delete, path = "/api/v1/blocks/{account_id}", tag = "messaging", security(("bearer" = [])),
    params(("account_id" = String, Path, description = "The account to unblock")),
    responses((status = 204, description = "not blocked")))]
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut conn = state.db.pool().acquire().await?;
    store::unblock(&mut conn, &caller.account_id, &account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
