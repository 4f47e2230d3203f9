//! Conversations, messages, uploads and blocks in the database. Every
//! change to a conversation's messages happens in a transaction that took
//! the conversation's lock first (`lock`), so sends, replies and expiries of
//! one conversation never interleave.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::policy::Pending;
use super::{Conversation, Kind, Message, Proposal, State, VideoMeta};

const CONVERSATION: &str =
    "id, user_id, expert_id, user_read_at, expert_read_at, last_message_at, created_at";
const MESSAGE: &str = "m.id, m.conversation_id, m.sender_id, m.kind, m.body, m.video_id, m.price, \
    m.hold_id, m.state, m.reply_by, m.answered_by, m.answers, m.settled_at, m.proposal_start, \
    m.proposal_minutes, m.proposal_booking_id, m.hidden, m.created_at, v.content_type, v.size, \
    v.duration_ms, v.processing";
/// Messages with their video's metadata.
const MESSAGES: &str = "messages m LEFT JOIN message_videos v ON v.id = m.video_id";

fn bad(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {v}").into())
}

fn conversation(r: &AnyRow) -> Result<Conversation, sqlx::Error> {
    Ok(Conversation {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        expert_id: r.try_get("expert_id")?,
        user_read_at: r.try_get("user_read_at")?,
        expert_read_at: r.try_get("expert_read_at")?,
        last_message_at: r.try_get("last_message_at")?,
        created_at: r.try_get("created_at")?,
    })
}

fn message(r: &AnyRow) -> Result<Message, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    let start: Option<i64> = r.try_get("proposal_start")?;
    let minutes: Option<i64> = r.try_get("proposal_minutes")?;
    let video = match r.try_get::<Option<String>, _>("content_type")? {
        Some(content_type) => Some(VideoMeta {
            content_type,
            size: r.try_get("size")?,
            duration_ms: r.try_get("duration_ms")?,
            processing: r.try_get("processing")?,
        }),
        None => None,
    };
    Ok(Message {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        sender_id: r.try_get("sender_id")?,
        kind: Kind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        body: r.try_get("body")?,
        video_id: r.try_get("video_id")?,
        video,
        price: r.try_get("price")?,
        hold_id: r.try_get("hold_id")?,
        state: State::parse(&state).ok_or_else(|| bad("state", &state))?,
        reply_by: r.try_get("reply_by")?,
        answered_by: r.try_get("answered_by")?,
        answers: r.try_get("answers")?,
        settled_at: r.try_get("settled_at")?,
        proposal: start
            .zip(minutes)
            .map(|(start, minutes)| Proposal { start, minutes }),
        proposal_booking_id: r.try_get("proposal_booking_id")?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

/// What messaging needs of an expert: listed, and the text and video
/// prices in coins (`None`: not offered).
pub async fn expert_terms(
    conn: &mut AnyConnection,
    expert_id: &str,
) -> Result<Option<(bool, Option<i64>, Option<i64>)>, sqlx::Error> {
    let row: Option<(i64, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT listed, price_text, price_video FROM experts WHERE account_id = $1")
            .bind(expert_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(listed, text, video)| (listed != 0, text, video)))
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Conversation>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {CONVERSATION} FROM conversations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(conversation)
    .transpose()
}

/// The pair's conversation, made on first use. Concurrent openings make one.
pub async fn open(
    conn: &mut AnyConnection,
    user_id: &str,
    expert_id: &str,
    now: i64,
) -> Result<(Conversation, bool), sqlx::Error> {
    let made = sqlx::query(
        "INSERT INTO conversations (id, user_id, expert_id, last_message_at, created_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, expert_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(user_id)
    .bind(expert_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    let row = sqlx::query(&format!(
        "SELECT {CONVERSATION} FROM conversations WHERE user_id = $1 AND expert_id = $2"
    ))
    .bind(user_id)
    .bind(expert_id)
    .fetch_one(conn)
    .await?;
    Ok((conversation(&row)?, made))
}

/// Takes the conversation's row lock for the rest of the transaction (a
/// no-op write, portable; SQLite's `BEGIN IMMEDIATE` already serialises
/// writers). False when there is no such conversation.
pub async fn lock(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE conversations SET created_at = created_at WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// `account_id`'s conversations, latest activity first, after `after`.
pub async fn list(
    conn: &mut AnyConnection,
    account_id: &str,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Conversation>, sqlx::Error> {
    let (at, id) = after.cloned().unwrap_or((i64::MAX, String::new()));
    let rows = sqlx::query(&format!(
        "SELECT {CONVERSATION} FROM conversations WHERE (user_id = $1 OR expert_id = $1) \
         AND (last_message_at < $2 OR (last_message_at = $2 AND id < $3)) \
         ORDER BY last_message_at DESC, id DESC LIMIT $4"
    ))
    .bind(account_id)
    .bind(at)
    .bind(&id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(conversation).collect()
}

/// Marks the conversation read by the side of `account_id` up to `at`
/// (never backwards).
pub async fn mark_read(
    conn: &mut AnyConnection,
    c: &Conversation,
    account_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    let column = if c.is_expert(account_id) {
        "expert_read_at"
    } else {
        "user_read_at"
    };
    sqlx::query(&format!(
        "UPDATE conversations SET {column} = $1 WHERE id = $2 AND {column} < $1"
    ))
    .bind(at)
    .bind(&c.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages of the other side that `account_id` has not read yet.
pub async fn unread(
    conn: &mut AnyConnection,
    c: &Conversation,
    account_id: &str,
) -> Result<i64, sqlx::Error> {
    let read_at = if c.is_expert(account_id) {
        c.expert_read_at
    } else {
        c.user_read_at
    };
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND sender_id <> $2 \
         AND created_at > $3",
    )
    .bind(&c.id)
    .bind(account_id)
    .bind(read_at)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

pub async fn insert(
    conn: &mut AnyConnection,
    m: &Message,
    client_key: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_id, kind, body, video_id, price, \
         hold_id, state, reply_by, answers, proposal_start, proposal_minutes, client_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&m.id)
    .bind(&m.conversation_id)
    .bind(&m.sender_id)
    .bind(m.kind.as_str())
    .bind(&m.body)
    .bind(&m.video_id)
    .bind(m.price)
    .bind(&m.hold_id)
    .bind(m.state.as_str())
    .bind(m.reply_by)
    .bind(&m.answers)
    .bind(m.proposal.map(|p| p.start))
    .bind(m.proposal.map(|p| p.minutes))
    .bind(client_key)
    .bind(m.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE conversations SET last_message_at = $1 WHERE id = $2")
        .bind(m.created_at)
        .bind(&m.conversation_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn message_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query(&format!("SELECT {MESSAGE} FROM {MESSAGES} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(message)
        .transpose()
}

/// The message `sender_id` sent with Idempotency-Key `key`, if any.
pub async fn by_client_key(
    conn: &mut AnyConnection,
    sender_id: &str,
    key: &str,
) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {MESSAGE} FROM {MESSAGES} WHERE m.sender_id = $1 AND m.client_key = $2"
    ))
    .bind(sender_id)
    .bind(key)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(message)
    .transpose()
}

/// The messages `from` selects (SQL after `FROM`, on `messages m`, with
/// `$1`.. bound to `texts`), newest first, before the position `before`.
async fn newest_first(
    conn: &mut AnyConnection,
    from: &str,
    texts: &[&str],
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let (at, id) = before.cloned().unwrap_or((i64::MAX, String::new()));
    let n = texts.len();
    let sql = format!(
        "SELECT {MESSAGE} FROM {from} \
         AND (m.created_at < ${a} OR (m.created_at = ${a} AND m.id < ${b})) \
         ORDER BY m.created_at DESC, m.id DESC LIMIT ${c}",
        a = n + 1,
        b = n + 2,
        c = n + 3
    );
    let mut query = sqlx::query(&sql);
    for text in texts {
        query = query.bind(*text);
    }
    let rows = query.bind(at).bind(id).bind(limit).fetch_all(conn).await?;
    rows.iter().map(message).collect()
}

/// A page of a conversation, newest first, before `before` (a position).
pub async fn page(
    conn: &mut AnyConnection,
    conversation_id: &str,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let from = format!("{MESSAGES} WHERE m.conversation_id = $1");
    newest_first(conn, &from, &[conversation_id], before, limit).await
}

/// Messages of `account_id`'s conversations that match `condition` (on
/// `messages m`, binding `$1` to `query`), newest first, before `before`.
/// Hidden messages are not found.
pub async fn search(
    conn: &mut AnyConnection,
    (query, condition): (&str, &str),
    account_id: &str,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let from = format!(
        "{MESSAGES} JOIN conversations c ON c.id = m.conversation_id \
         WHERE {condition} AND (c.user_id = $2 OR c.expert_id = $2) AND m.hidden = 0"
    );
    newest_first(conn, &from, &[query, account_id], before, limit).await
}

/// A pending paid message with what settling it needs.
pub struct Held {
    pub pending: Pending,
    pub hold_id: String,
    pub price: i64,
}

/// The conversation's messages waiting for a reply.
pub async fn pending(
    conn: &mut AnyConnection,
    conversation_id: &str,
) -> Result<Vec<Held>, sqlx::Error> {
    let rows: Vec<(String, String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, kind, created_at, hold_id, price FROM messages \
         WHERE conversation_id = $1 AND state = 'pending' ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, kind, created_at, hold, price)| {
            Ok(Held {
                pending: Pending {
                    kind: Kind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
                    id,
                    created_at,
                },
                hold_id: hold.ok_or_else(|| bad("hold", "none"))?,
                price,
            })
        })
        .collect()
}

/// Moves a pending message to `to` (answered by `reply`, or expired).
/// False when it had already left pending: whoever got there first settled
/// it, and the caller must not move its money again.
pub async fn settle(
    conn: &mut AnyConnection,
    id: &str,
    to: State,
    reply: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET state = $1, answered_by = $2, settled_at = $3 \
         WHERE id = $4 AND state = 'pending'",
    )
    .bind(to.as_str())
    .bind(reply)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_hidden(
    conn: &mut AnyConnection,
    id: &str,
    hidden: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE messages SET hidden = $1 WHERE id = $2")
        .bind(i64::from(hidden))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records the booking a proposal became. False when it already became one.
pub async fn take_proposal(
    conn: &mut AnyConnection,
    id: &str,
    booking_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET proposal_booking_id = $1 WHERE id = $2 AND proposal_booking_id IS NULL",
    )
    .bind(booking_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether either of `a` and `b` blocked the other.
pub async fn blocked(conn: &mut AnyConnection, a: &str, b: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
         OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1",
    )
    .bind(a)
    .bind(b)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

pub async fn block(
    conn: &mut AnyConnection,
    blocker: &str,
    blocked: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )
    .bind(blocker)
    .bind(blocked)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn unblock(
    conn: &mut AnyConnection,
    blocker: &str,
    blocked: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(blocker)
        .bind(blocked)
        .execute(conn)
        .await?;
    Ok(())
}

/// An uploaded (or uploading) video.
#[derive(Debug, Clone)]
pub struct Video {
    pub id: String,
    pub conversation_id: String,
    pub owner_id: String,
    pub content_type: String,
    pub size: i64,
    pub duration_ms: i64,
    pub received: i64,
    pub state: String,
    pub processing: String,
    pub object_key: String,
}

pub async fn insert_video(
    conn: &mut AnyConnection,
    v: &Video,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO message_videos (id, conversation_id, owner_id, content_type, size, \
         duration_ms, received, state, object_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 'uploading', $7, $8, $8)",
    )
    .bind(&v.id)
    .bind(&v.conversation_id)
    .bind(&v.owner_id)
    .bind(&v.content_type)
    .bind(v.size)
    .bind(v.duration_ms)
    .bind(&v.object_key)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn video(conn: &mut AnyConnection, id: &str) -> Result<Option<Video>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, conversation_id, owner_id, content_type, size, duration_ms, received, state, \
         processing, object_key FROM message_videos WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Video {
            id: r.try_get("id")?,
            conversation_id: r.try_get("conversation_id")?,
            owner_id: r.try_get("owner_id")?,
            content_type: r.try_get("content_type")?,
            size: r.try_get("size")?,
            duration_ms: r.try_get("duration_ms")?,
            received: r.try_get("received")?,
            state: r.try_get("state")?,
            processing: r.try_get("processing")?,
            object_key: r.try_get("object_key")?,
        })
    })
    .transpose()
}

/// Moves an upload's offset from `from` to `to` (complete when `to` is its
/// size). False when another chunk moved it first.
pub async fn advance(
    conn: &mut AnyConnection,
    id: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE message_videos SET received = $1, updated_at = $2, \
         state = CASE WHEN $1 = size THEN 'complete' ELSE 'uploading' END \
         WHERE id = $3 AND received = $4 AND state = 'uploading'",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives a complete upload of `owner_id`'s in `conversation_id` to a
/// message. False when it is not one, or was given already.
pub async fn use_video(
    conn: &mut AnyConnection,
    id: &str,
    owner_id: &str,
    conversation_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE message_videos SET state = 'sent', updated_at = $1 \
         WHERE id = $2 AND owner_id = $3 AND conversation_id = $4 AND state = 'complete'",
    )
    .bind(now)
    .bind(id)
    .bind(owner_id)
    .bind(conversation_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Uploads no message plays, untouched since `before`: (id, object key),
/// at most `limit`.
pub async fn stale_uploads(
    conn: &mut AnyConnection,
    before: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, object_key FROM message_videos WHERE state <> 'sent' AND updated_at < $1 \
         ORDER BY updated_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Deletes upload `id` unless a message took it meanwhile (or it moved on
/// since `before`). Whether it was deleted.
pub async fn forget_upload(
    conn: &mut AnyConnection,
    id: &str,
    before: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM message_videos WHERE id = $1 AND state <> 'sent' AND updated_at < $2",
    )
    .bind(id)
    .bind(before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
