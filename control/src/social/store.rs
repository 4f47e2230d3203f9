//! SQL for `social_links`: one row per account and provider.

use sqlx::Any;

use super::{Profile, Provider};

#[derive(Debug, Clone)]
pub struct Link {
    pub provider: Provider,
    pub subject: String,
    pub handle: String,
    pub url: Option<String>,
    pub verified_at: i64,
}

/// Links `profile` to the account, replacing an earlier link to the same
/// provider (signing in again with another account moves the proof).
pub async fn save(
    db: impl sqlx::Executor<'_, Database = Any>,
    account_id: &str,
    provider: Provider,
    profile: &Profile,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO social_links (account_id, provider, subject, handle, url, verified_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, provider) DO UPDATE SET \
         subject = excluded.subject, handle = excluded.handle, url = excluded.url, \
         verified_at = excluded.verified_at",
    )
    .bind(account_id)
    .bind(provider.as_str())
    .bind(&profile.subject)
    .bind(&profile.handle)
    .bind(&profile.url)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Unlinks; false if there was no link.
pub async fn remove(
    db: impl sqlx::Executor<'_, Database = Any>,
    account_id: &str,
    provider: Provider,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM social_links WHERE account_id = $1 AND provider = $2")
        .bind(account_id)
        .bind(provider.as_str())
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An account's links, by provider.
pub async fn of(
    db: impl sqlx::Executor<'_, Database = Any>,
    account_id: &str,
) -> Result<Vec<Link>, sqlx::Error> {
    let rows: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT provider, subject, handle, url, verified_at FROM social_links \
         WHERE account_id = $1 ORDER BY provider",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(provider, subject, handle, url, verified_at)| {
            Ok(Link {
                provider: Provider::parse(&provider).ok_or_else(|| {
                    sqlx::Error::Decode(format!("social_links.provider: {provider:?}").into())
                })?,
                subject,
                handle,
                url,
                verified_at,
            })
        })
        .collect()
}
