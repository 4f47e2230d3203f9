//! The one rule for who is listed (found by search, shown on a public page,
//! bookable): an approved profile, not hidden by moderation, of an active
//! account. Every change to any of those calls `refresh`, which also keeps the
//! search index in step.

use platform::db::Backend;
use sqlx::AnyConnection;

use crate::search::{fold, index};

/// Recomputes `listed` (and the folded name) for one expert and re-indexes it.
/// A no-op for accounts without an expert profile.
pub async fn refresh(
    conn: &mut AnyConnection,
    backend: Backend,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    let Some((first, last)): Option<(String, String)> =
        sqlx::query_as("SELECT first_name, last_name FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE experts SET name_folded = $2, listed = CASE WHEN state = 'approved' AND hidden = 0 \
         AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = experts.account_id AND a.status = 'active') \
         THEN 1 ELSE 0 END WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(fold::fold(&format!("{first} {last}")))
    .execute(&mut *conn)
    .await?;
    index::sync(conn, backend, account_id).await
}
