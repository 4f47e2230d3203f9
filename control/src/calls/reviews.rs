//! Reviews after a completed call: the user rates it (1 to 5) and writes a
//! review once; the expert replies once; administrators hide abusive ones.
//! The expert's rating (count, sum, average x 1000) is recomputed from the
//! visible reviews in the same transaction, and search re-indexes them
//! (`listing::refresh`).

use platform::Database;
use sqlx::AnyConnection;

use crate::bookings::{self, State};
use crate::experts::listing;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such call")]
    NotFound,
    #[error("only a completed call the user attended can be reviewed")]
    NotReviewable,
    #[error("already done")]
    AlreadyDone,
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A review as shown.
#[derive(Debug, Clone)]
pub struct Review {
    pub booking_id: String,
    pub expert_id: String,
    pub rating: i64,
    pub body: String,
    pub reply: Option<String>,
    pub hidden: bool,
    pub created_at: i64,
}

async fn rerate(
    conn: &mut AnyConnection,
    db: &Database,
    expert_id: &str,
) -> Result<(), sqlx::Error> {
    // PostgreSQL sums BIGINT into NUMERIC: cast back.
    let (count, sum): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM call_reviews \
         WHERE expert_id = $1 AND hidden = 0",
    )
    .bind(expert_id)
    .fetch_one(&mut *conn)
    .await?;
    let milli = if count == 0 { 0 } else { sum * 1000 / count };
    sqlx::query(
        "UPDATE experts SET rating_count = $2, rating_sum = $3, rating_milli = $4 \
         WHERE account_id = $1",
    )
    .bind(expert_id)
    .bind(count)
    .bind(sum)
    .bind(milli)
    .execute(&mut *conn)
    .await?;
    listing::refresh(conn, db.backend(), expert_id).await
}

/// The user of booking `id` reviews its call, once.
pub async fn review(
    db: &Database,
    id: &str,
    user_id: &str,
    rating: i64,
    body: &str,
    now: i64,
) -> Result<(), ReviewError> {
    if !(1..=5).contains(&rating) {
        return Err(ReviewError::Invalid("rating must be 1 to 5"));
    }
    if body.chars().count() > 2000 {
        return Err(ReviewError::Invalid(
            "the review is at most 2000 characters",
        ));
    }
    let mut tx = db.begin_write().await?;
    let b = bookings::store::get(&mut tx, id)
        .await?
        .filter(|b| b.user_id == user_id)
        .ok_or(ReviewError::NotFound)?;
    let call = super::store::get(&mut tx, id).await?;
    let attended = call.is_some_and(|c| c.no_show.is_none() && c.billed_seconds.unwrap_or(0) > 0);
    if b.state != State::Completed || !attended {
        return Err(ReviewError::NotReviewable);
    }
    let done = sqlx::query(
        "INSERT INTO call_reviews (booking_id, expert_id, user_id, rating, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(id)
    .bind(&b.expert_id)
    .bind(user_id)
    .bind(rating)
    .bind(body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ReviewError::AlreadyDone);
    }
    rerate(&mut tx, db, &b.expert_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The expert replies to the review of booking `id`, once.
pub async fn reply(
    db: &Database,
    id: &str,
    expert_id: &str,
    text: &str,
    now: i64,
) -> Result<(), ReviewError> {
    if text.trim().is_empty() || text.chars().count() > 2000 {
        return Err(ReviewError::Invalid("the reply is 1 to 2000 characters"));
    }
    let mut tx = db.begin_write().await?;
    let exists: Option<(Option<String>,)> =
        sqlx::query_as("SELECT reply FROM call_reviews WHERE booking_id = $1 AND expert_id = $2")
            .bind(id)
            .bind(expert_id)
            .fetch_optional(&mut *tx)
            .await?;
    match exists {
        None => return Err(ReviewError::NotFound),
        Some((Some(_),)) => return Err(ReviewError::AlreadyDone),
        Some((None,)) => {}
    }
    sqlx::query(
        "UPDATE call_reviews SET reply = $2, replied_at = $3 WHERE booking_id = $1 AND reply IS NULL",
    )
    .bind(id)
    .bind(text)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An administrator hides (or shows again) the review of booking `id`.
pub async fn hide(
    db: &Database,
    id: &str,
    hidden: bool,
    reason: Option<&str>,
) -> Result<(), ReviewError> {
    let mut tx = db.begin_write().await?;
    let row: Option<(String,)> =
        sqlx::query_as("SELECT expert_id FROM call_reviews WHERE booking_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (expert_id,) = row.ok_or(ReviewError::NotFound)?;
    sqlx::query("UPDATE call_reviews SET hidden = $2, hidden_reason = $3 WHERE booking_id = $1")
        .bind(id)
        .bind(i64::from(hidden))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    rerate(&mut tx, db, &expert_id).await?;
    tx.commit().await?;
    Ok(())
}

/// booking_id, expert_id, rating, body, reply, hidden, created_at.
type ReviewRow = (String, String, i64, String, Option<String>, i64, i64);

/// An expert's visible reviews, newest first.
pub async fn of_expert(
    db: &Database,
    expert_id: &str,
    limit: i64,
) -> Result<Vec<Review>, sqlx::Error> {
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT booking_id, expert_id, rating, body, reply, hidden, created_at FROM call_reviews \
         WHERE expert_id = $1 AND hidden = 0 ORDER BY created_at DESC, booking_id LIMIT $2",
    )
    .bind(expert_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(booking_id, expert_id, rating, body, reply, hidden, created_at)| Review {
                booking_id,
                expert_id,
                rating,
                body,
                reply,
                hidden: hidden != 0,
                created_at,
            },
        )
        .collect())
}
