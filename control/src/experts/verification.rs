//! SQL of verification: identity documents and who read them, the payout
//! details (bank account, tax option), state changes and the review history.

use sqlx::AnyConnection;

use super::bank::BankKind;
use super::documents::DocumentKind;
use super::review::Action;
use super::{State, TaxOption};

/// An identity document's record; its content is sealed in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub account_id: String,
    pub kind: DocumentKind,
    pub content_type: String,
    pub size: i64,
    /// Of the plaintext, hex: the same card uploaded by two accounts shows.
    pub sha256: String,
    pub object_key: String,
    pub uploaded_at: i64,
}

/// What a document's content is sealed to: this document of this account.
pub fn document_seal_context(account_id: &str, document_id: &str) -> Vec<u8> {
    format!("expert_document:{account_id}:{document_id}").into_bytes()
}

/// What an account's bank number is sealed to.
pub fn bank_seal_context(account_id: &str) -> Vec<u8> {
    format!("expert_bank_account:{account_id}").into_bytes()
}

type DocumentRow = (String, String, String, String, i64, String, String, i64);

const DOCUMENT_COLUMNS: &str =
    "id, account_id, kind, content_type, size, sha256, object_key, uploaded_at";

fn document(row: DocumentRow) -> Result<Document, sqlx::Error> {
    let (id, account_id, kind, content_type, size, sha256, object_key, uploaded_at) = row;
    Ok(Document {
        kind: DocumentKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("bad document kind {kind:?}").into()))?,
        id,
        account_id,
        content_type,
        size,
        sha256,
        object_key,
        uploaded_at,
    })
}

/// The account's current documents (not replaced), one per kind at most.
pub async fn documents(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Document>, sqlx::Error> {
    let rows: Vec<DocumentRow> = sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM expert_documents \
         WHERE account_id = $1 AND replaced_at IS NULL ORDER BY kind"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(document).collect()
}

/// One current document of the account.
pub async fn current_document(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<Document>, sqlx::Error> {
    let row: Option<DocumentRow> = sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM expert_documents \
         WHERE account_id = $1 AND id = $2 AND replaced_at IS NULL"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(document).transpose()
}

/// Adds `d` as the current document of its kind; the one it replaces keeps
/// its row, marked replaced. Returns the replaced documents' object keys.
pub async fn add_document(
    conn: &mut AnyConnection,
    d: &Document,
) -> Result<Vec<String>, sqlx::Error> {
    let replaced: Vec<String> = sqlx::query_scalar(
        "UPDATE expert_documents SET replaced_at = $3 \
         WHERE account_id = $1 AND kind = $2 AND replaced_at IS NULL RETURNING object_key",
    )
    .bind(&d.account_id)
    .bind(d.kind.as_str())
    .bind(d.uploaded_at)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO expert_documents ({DOCUMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&d.id)
    .bind(&d.account_id)
    .bind(d.kind.as_str())
    .bind(&d.content_type)
    .bind(d.size)
    .bind(&d.sha256)
    .bind(&d.object_key)
    .bind(d.uploaded_at)
    .execute(conn)
    .await?;
    Ok(replaced)
}

pub async fn record_read(
    conn: &mut AnyConnection,
    document_id: &str,
    reader_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO document_reads (id, document_id, reader_id, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(document_id)
    .bind(reader_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A read of one of an expert's documents.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Read {
    pub id: String,
    pub document_id: String,
    pub kind: String,
    pub reader_id: String,
    pub reader_first_name: String,
    pub reader_last_name: String,
    pub reader_email: String,
    pub at: i64,
}

/// Reads of the account's documents (replaced ones included), newest first,
/// strictly before the `(at, id)` cursor.
pub async fn reads(
    conn: &mut AnyConnection,
    account_id: &str,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Read>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.document_id, d.kind, r.reader_id, a.first_name AS reader_first_name, \
         a.last_name AS reader_last_name, a.email AS reader_email, r.at \
         FROM document_reads r JOIN expert_documents d ON d.id = r.document_id \
         JOIN accounts a ON a.id = r.reader_id \
         WHERE d.account_id = $1 AND ($2 IS NULL OR r.at < $2 OR (r.at = $2 AND r.id < $3)) \
         ORDER BY r.at DESC, r.id DESC LIMIT $4",
    )
    .bind(account_id)
    .bind(before.map(|(at, _)| *at))
    .bind(before.map(|(_, id)| id.as_str()))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Keeps the sealed account number (base64) with its kind and hint.
pub async fn set_bank(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: BankKind,
    sealed: &str,
    hint: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE experts SET bank_kind = $2, bank_account = $3, bank_hint = $4, updated_at = $5 \
         WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(kind.as_str())
    .bind(sealed)
    .bind(hint)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The sealed account number (base64) on file, for paying the expert.
pub async fn sealed_bank_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT bank_account FROM experts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(sealed,)| sealed))
}

pub async fn set_tax_option(
    conn: &mut AnyConnection,
    account_id: &str,
    option: TaxOption,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE experts SET tax_option = $2, updated_at = $3 WHERE account_id = $1")
        .bind(account_id)
        .bind(option.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the expert row's write lock until the transaction ends, so that a
/// check of the state and the write it allows do not interleave with another
/// transaction's: PostgreSQL runs writers side by side (on SQLite,
/// `begin_write` already admits one at a time). A no-op without a profile.
pub async fn lock(conn: &mut AnyConnection, account_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE experts SET state = state WHERE account_id = $1")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a step of verification: the expert's state, and a row of the
/// history with who did it and why. Submitting stamps `submitted_at` and
/// keeps the last rejection's reason for the reviewer; a decision stamps
/// `decided_at` and sets the reason (none when approved). Returns the
/// history row's id.
pub async fn transition(
    conn: &mut AnyConnection,
    account_id: &str,
    action: Action,
    actor_id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<String, sqlx::Error> {
    let sql = match action {
        Action::Submitted => "UPDATE experts SET state = $2, submitted_at = $3 WHERE account_id = $1",
        Action::Approved | Action::Rejected => {
            "UPDATE experts SET state = $2, decided_at = $3, state_reason = $4 WHERE account_id = $1"
        }
    };
    let mut update = sqlx::query(sql)
        .bind(account_id)
        .bind(action.state().as_str())
        .bind(now);
    if action != Action::Submitted {
        update = update.bind(reason);
    }
    update.execute(&mut *conn).await?;
    let review = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO expert_reviews (id, account_id, actor_id, action, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&review)
    .bind(account_id)
    .bind(actor_id)
    .bind(action.as_str())
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(review)
}

/// A row of the review history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub action: Action,
    pub actor_id: String,
    pub actor_first_name: String,
    pub actor_last_name: String,
    pub reason: Option<String>,
    pub at: i64,
}

/// The account's submissions and decisions, oldest first.
pub async fn reviews(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Review>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT r.action, r.actor_id, a.first_name, a.last_name, r.reason, r.at \
         FROM expert_reviews r JOIN accounts a ON a.id = r.actor_id \
         WHERE r.account_id = $1 ORDER BY r.at, r.id",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(action, actor_id, actor_first_name, actor_last_name, reason, at)| {
                Ok(Review {
                    action: Action::parse(&action).ok_or_else(|| {
                        sqlx::Error::Decode(format!("bad review action {action:?}").into())
                    })?,
                    actor_id,
                    actor_first_name,
                    actor_last_name,
                    reason,
                    at,
                })
            },
        )
        .collect()
}

/// Experts in `state`, oldest first by when they got there (submission for
/// the queue, decision for approved and rejected, creation for drafts),
/// strictly after the `(at, id)` cursor: `(at, account id)` pairs.
pub async fn in_state(
    conn: &mut AnyConnection,
    state: State,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let since = match state {
        State::Draft => "created_at",
        State::Submitted => "submitted_at",
        State::Approved | State::Rejected => "decided_at",
    };
    sqlx::query_as(&format!(
        "SELECT {since}, account_id FROM experts WHERE state = $1 AND {since} IS NOT NULL \
         AND ($2 IS NULL OR {since} > $2 OR ({since} = $2 AND account_id > $3)) \
         ORDER BY {since}, account_id LIMIT $4"
    ))
    .bind(state.as_str())
    .bind(after.map(|(at, _)| *at))
    .bind(after.map(|(_, id)| id.as_str()))
    .bind(limit)
    .fetch_all(conn)
    .await
}
