//! Sessions and rotating refresh tokens. A login opens a session; each refresh
//! spends the presented token and issues the next one of the same family. A
//! spent token presented again means it was stolen (or replayed), so the whole
//! session is revoked: the thief and the victim both have to log in again.

use platform::Database;
use sqlx::AnyPool;

use super::tokens::{digest, random_token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown refresh token")]
    Unknown,
    #[error("refresh token already used; the session has been revoked")]
    Reused,
    #[error("refresh token expired")]
    Expired,
    #[error("the session was ended")]
    Revoked,
}

pub struct Rotated {
    pub session_id: String,
    pub account_id: String,
    pub refresh_token: String,
}

/// Opens a session for `account_id` and returns it with its first refresh token.
pub async fn open(
    db: &Database,
    account_id: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<(String, String), sqlx::Error> {
    let session_id = uuid::Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO sessions (id, account_id, created_at) VALUES ($1, $2, $3)")
        .bind(&session_id)
        .bind(account_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let token = random_token();
    insert_token(&mut tx, &session_id, &token, now, ttl_ms).await?;
    tx.commit().await?;
    Ok((session_id, token))
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: &str,
    token: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(digest(token))
        .bind(session_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    session_id: String,
    account_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// Spends `token` and issues its successor.
pub async fn rotate(
    db: &Database,
    token: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<Result<Rotated, RefreshError>, sqlx::Error> {
    let hash = digest(token);
    let mut tx = db.begin_write().await?;
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT r.session_id, s.account_id, r.expires_at, r.used_at, s.revoked_at \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(TokenRow {
        session_id,
        account_id,
        expires_at,
        used_at,
        revoked_at,
    }) = row
    else {
        return Ok(Err(RefreshError::Unknown));
    };
    if revoked_at.is_some() {
        return Ok(Err(RefreshError::Revoked));
    }
    // Marking the token spent is the race's arbiter: of two concurrent
    // refreshes with one token, exactly one updates the row.
    let spent = if used_at.is_none() {
        sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1
    } else {
        false
    };
    if !spent {
        revoke_in(&mut tx, &session_id, "refresh_token_reused", now).await?;
        tx.commit().await?;
        return Ok(Err(RefreshError::Reused));
    }
    if expires_at <= now {
        tx.rollback().await?;
        return Ok(Err(RefreshError::Expired));
    }
    let next = random_token();
    insert_token(&mut tx, &session_id, &next, now, ttl_ms).await?;
    tx.commit().await?;
    Ok(Ok(Rotated {
        session_id,
        account_id,
        refresh_token: next,
    }))
}

async fn revoke_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: &str,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(now)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ends the session a refresh token belongs to (logout). Unknown tokens are
/// ignored: logging out twice is not an error.
pub async fn revoke_by_token(db: &AnyPool, token: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = 'logout' \
         WHERE revoked_at IS NULL AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(digest(token))
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends every session of an account (password change, deactivation, deletion).
pub async fn revoke_all(
    db: &AnyPool,
    account_id: &str,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE account_id = $1 AND revoked_at IS NULL")
        .bind(account_id)
        .bind(now)
        .bind(reason)
        .execute(db)
        .await?;
    Ok(())
}
