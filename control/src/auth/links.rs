//! Single-use signed links (password resets, OAuth states): a link is spent
//! by inserting its nonce into `used_links`, whose primary key lets exactly
//! one use win, however many arrive at once.

use sqlx::AnyPool;

/// Spends `nonce`: true the first time, false if it was already spent.
pub async fn spend(db: &AnyPool, nonce: &str, now: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query("INSERT INTO used_links (nonce, used_at) VALUES ($1, $2)")
        .bind(nonce)
        .bind(now)
        .execute(db)
        .await;
    match claimed {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}
