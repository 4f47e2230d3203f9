//! Private feed tokens: one per account, found by its SHA-256 (so a leaked
//! table gives no usable URL), kept sealed too so its owner can be shown the
//! URL again. Rotating replaces it; revoking deletes it, and the old URL
//! stops working at once.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sqlx::AnyConnection;

use crate::auth::tokens::{digest, random_token};
use crate::experts::seal::Sealer;

fn aad(account_id: &str) -> Vec<u8> {
    format!("calendar_feed:{account_id}").into_bytes()
}

/// The account's current token, if it has one that still opens.
pub async fn current(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    account_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let sealed: Option<(String,)> =
        sqlx::query_as("SELECT token_sealed FROM calendar_feeds WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(sealed.and_then(|(s,)| {
        let bytes = B64.decode(s).ok()?;
        String::from_utf8(sealer.open(&aad(account_id), &bytes).ok()?).ok()
    }))
}

/// A new token for the account, replacing any other.
pub async fn rotate(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    account_id: &str,
    now: i64,
) -> anyhow::Result<String> {
    let token = random_token();
    let sealed = B64.encode(sealer.seal(&aad(account_id), token.as_bytes())?);
    sqlx::query(
        "INSERT INTO calendar_feeds (account_id, token_hash, token_sealed, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE \
         SET token_hash = $2, token_sealed = $3, created_at = $4",
    )
    .bind(account_id)
    .bind(digest(&token))
    .bind(sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

pub async fn revoke(conn: &mut AnyConnection, account_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM calendar_feeds WHERE account_id = $1")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The active account a token belongs to.
pub async fn owner(conn: &mut AnyConnection, token: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT f.account_id FROM calendar_feeds f JOIN accounts a ON a.id = f.account_id \
         WHERE f.token_hash = $1 AND a.status = 'active'",
    )
    .bind(digest(token))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}
