//! The notification centre: one's notifications, newest first, read and
//! archived marks. Every query names the account, so nobody reaches
//! another's notifications.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use crate::api::views::timestamp;

/// A notification as clients see it (the API, the live stream and push).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    /// The event's kind: `booking_confirmed`, `payment_succeeded`, ...
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The event's data (`kind` and its fields), for links in clients.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: String,
    pub read_at: Option<String>,
    pub archived_at: Option<String>,
}

/// A stored row: the view plus what pages and the stream order by.
#[derive(Debug, Clone)]
pub struct Stored {
    pub account_id: String,
    /// Unix ms: with the id, the position in the centre.
    pub created_ms: i64,
    pub view: Notification,
}

/// Which part of the centre to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// Everything not archived (the default).
    #[default]
    Inbox,
    /// Not read and not archived.
    Unread,
    Archived,
    All,
}

impl Filter {
    fn condition(self) -> &'static str {
        match self {
            Filter::Inbox => "archived_at IS NULL",
            Filter::Unread => "archived_at IS NULL AND read_at IS NULL",
            Filter::Archived => "archived_at IS NOT NULL",
            Filter::All => "1 = 1",
        }
    }
}

const COLUMNS: &str = "id, account_id, kind, title, body, data, created_at, read_at, archived_at";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

fn stored(row: Row) -> Stored {
    let (id, account_id, kind, title, body, data, created, read, archived) = row;
    Stored {
        account_id,
        created_ms: created,
        view: Notification {
            id,
            kind,
            title,
            body,
            // Written by `emit` from the event: JSON unless edited by hand.
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            created_at: timestamp(created),
            read_at: read.map(timestamp),
            archived_at: archived.map(timestamp),
        },
    }
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Stored>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(stored))
}

/// Newest first, strictly before `before` (a `(created_ms, id)` position).
pub async fn list(
    conn: &mut AnyConnection,
    account_id: &str,
    filter: Filter,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    // No position: before the end of time, which every row is.
    let (at, id) = before
        .map(|(at, id)| (*at, id.as_str()))
        .unwrap_or((i64::MAX, ""));
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE account_id = $1 AND {} \
         AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
        filter.condition()
    ))
    .bind(account_id)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(stored).collect())
}

/// Oldest first, strictly after `after`: what a reconnecting stream missed.
pub async fn after(
    conn: &mut AnyConnection,
    account_id: &str,
    after: &(i64, String),
    limit: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE account_id = $1 \
         AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
         ORDER BY created_at, id LIMIT $4"
    ))
    .bind(account_id)
    .bind(after.0)
    .bind(&after.1)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(stored).collect())
}

pub async fn unread_count(conn: &mut AnyConnection, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND {}",
        Filter::Unread.condition()
    ))
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await
}

/// What a person does to one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Read,
    /// Out of the inbox; counts as read too.
    Archived,
}

/// Marks one notification (a second time changes nothing); false if the
/// account has no such notification.
pub async fn mark(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    mark: Mark,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let set = match mark {
        Mark::Read => "read_at = COALESCE(read_at, $3)",
        Mark::Archived => {
            "archived_at = COALESCE(archived_at, $3), read_at = COALESCE(read_at, $3)"
        }
    };
    let n = sqlx::query(&format!(
        "UPDATE notifications SET {set} WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Marks every unread notification read; how many were.
pub async fn mark_all_read(
    conn: &mut AnyConnection,
    account_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE notifications SET read_at = $2 WHERE account_id = $1 AND read_at IS NULL",
    )
    .bind(account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
