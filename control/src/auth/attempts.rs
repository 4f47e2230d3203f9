//! Brute-force protection per email address. Every login attempt reserves a
//! slot before the password is checked, in one atomic statement: parallel
//! guesses cannot get past the limit, because the slot is taken before the
//! slow hash runs. The count is kept per address whether or not an account
//! has it, so being locked out reveals nothing about who is registered.
//! A success clears the count; a lock that has run out, or failures older
//! than the lockout period, start it afresh.

use sqlx::AnyPool;

use crate::accounts::validate::normalize_email;
use crate::auth::tokens::digest;

/// The key an address is counted under.
fn key(email: &str) -> String {
    digest(&normalize_email(email))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The password may be checked. `failures` counts this attempt; if it
    /// fails and `failures` reached the limit, the address is now locked.
    Allowed { failures: i64 },
    /// Locked until this instant (ms).
    Locked { until: i64 },
}

/// Reserves one attempt for `email`.
pub async fn reserve(
    db: &AnyPool,
    email: &str,
    now: i64,
    max: i64,
    lockout_ms: i64,
) -> Result<Attempt, sqlx::Error> {
    let email = key(email);
    // `fresh`: the previous lock ran out, or the last failure is older than
    // the lockout period; then counting starts again at 1.
    let fresh = "((login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= $2) \
                 OR (login_attempts.locked_until IS NULL AND login_attempts.updated_at <= $2 - $4))";
    let failures = format!("CASE WHEN {fresh} THEN 1 ELSE login_attempts.failures + 1 END");
    let sql = format!(
        "INSERT INTO login_attempts (email_hash, failures, locked_until, updated_at) \
         VALUES ($1, 1, CASE WHEN 1 >= $3 THEN $2 + $4 ELSE NULL END, $2) \
         ON CONFLICT (email_hash) DO UPDATE SET \
           failures = {failures}, \
           locked_until = CASE WHEN {failures} >= $3 THEN $2 + $4 ELSE NULL END, \
           updated_at = $2 \
         WHERE login_attempts.locked_until IS NULL OR login_attempts.locked_until <= $2 \
         RETURNING failures"
    );
    // Twice at most: the row may be deleted (by `clear` or the purge)
    // between a refused upsert and the look at its lock.
    for _ in 0..2 {
        let reserved: Option<(i64,)> = sqlx::query_as(&sql)
            .bind(&email)
            .bind(now)
            .bind(max)
            .bind(lockout_ms)
            .fetch_optional(db)
            .await?;
        if let Some((failures,)) = reserved {
            return Ok(Attempt::Allowed { failures });
        }
        let lock: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT locked_until FROM login_attempts WHERE email_hash = $1")
                .bind(&email)
                .fetch_optional(db)
                .await?;
        if let Some((until,)) = lock {
            return Ok(Attempt::Locked {
                until: until.unwrap_or(now),
            });
        }
    }
    Err(sqlx::Error::RowNotFound)
}

/// Forgets the attempts of `email`: after a successful login or a password reset.
pub async fn clear(db: &AnyPool, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_attempts WHERE email_hash = $1")
        .bind(key(email))
        .execute(db)
        .await?;
    Ok(())
}
