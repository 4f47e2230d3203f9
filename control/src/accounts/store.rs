//! Account persistence. One SQL text per query, valid on SQLite and PostgreSQL.

use platform::{Backend, Database};
use sqlx::AnyPool;

use super::{Account, Language, NotificationPrefs, Privacy, Role, Status};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLUMNS: &str =
    "id, email, password_hash, role, status, first_name, last_name, bio, interests, \
    privacy, language, notify_email, notify_sms, notify_push, phone, photo_key, email_verified_at, \
    created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    email: String,
    password_hash: String,
    role: String,
    status: String,
    first_name: String,
    last_name: String,
    bio: Option<String>,
    interests: String,
    privacy: String,
    language: String,
    notify_email: i64,
    notify_sms: i64,
    notify_push: i64,
    phone: Option<String>,
    photo_key: Option<String>,
    email_verified_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for Account {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        let corrupt = |col: &str, v: &str| {
            sqlx::Error::Decode(format!("accounts.{col}: unexpected value {v:?}").into())
        };
        Ok(Account {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            status: Status::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            privacy: Privacy::parse(&r.privacy).ok_or_else(|| corrupt("privacy", &r.privacy))?,
            language: Language::parse(&r.language)
                .ok_or_else(|| corrupt("language", &r.language))?,
            interests: serde_json::from_str(&r.interests)
                .map_err(|_| corrupt("interests", &r.interests))?,
            notifications: NotificationPrefs {
                email: r.notify_email != 0,
                sms: r.notify_sms != 0,
                push: r.notify_push != 0,
            },
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            first_name: r.first_name,
            last_name: r.last_name,
            bio: r.bio,
            phone: r.phone,
            photo_key: r.photo_key,
            email_verified_at: r.email_verified_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn one(row: Option<Row>) -> Result<Option<Account>, sqlx::Error> {
    row.map(Account::try_from).transpose()
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The profile columns, in this order, as `insert` and `save_profile` write them.
const PROFILE_COLUMNS: [&str; 11] = [
    "first_name",
    "last_name",
    "bio",
    "interests",
    "privacy",
    "language",
    "notify_email",
    "notify_sms",
    "notify_push",
    "phone",
    "search_text",
];

/// Binds the profile fields in `PROFILE_COLUMNS` order: one place maps the
/// profile to its columns.
fn bind_profile<'q>(q: AnyQuery<'q>, a: &'q Account) -> AnyQuery<'q> {
    q.bind(&a.first_name)
        .bind(&a.last_name)
        .bind(&a.bio)
        .bind(serde_json::to_string(&a.interests).expect("strings serialise"))
        .bind(a.privacy.as_str())
        .bind(a.language.as_str())
        .bind(i64::from(a.notifications.email))
        .bind(i64::from(a.notifications.sms))
        .bind(i64::from(a.notifications.push))
        .bind(&a.phone)
        .bind(a.search_text())
}

pub async fn insert(db: &AnyPool, a: &Account) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (1..=9 + PROFILE_COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect();
    let sql = format!(
        "INSERT INTO accounts (id, email, email_normalized, password_hash, role, status, \
         email_verified_at, created_at, updated_at, {}) VALUES ({})",
        PROFILE_COLUMNS.join(", "),
        placeholders.join(", ")
    );
    let query = sqlx::query(&sql)
        .bind(&a.id)
        .bind(&a.email)
        .bind(super::validate::normalize_email(&a.email))
        .bind(&a.password_hash)
        .bind(a.role.as_str())
        .bind(a.status.as_str())
        .bind(a.email_verified_at)
        .bind(a.created_at)
        .bind(a.updated_at);
    match bind_profile(query, a).execute(db).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Looks an account up by id. Anything that is not a UUID names no account
/// (and never reaches the database, which may refuse odd bytes).
pub async fn by_id(db: &AnyPool, id: &str) -> Result<Option<Account>, sqlx::Error> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    one(row)
}

pub async fn by_email(db: &AnyPool, email: &str) -> Result<Option<Account>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE email_normalized = $1"
    ))
    .bind(super::validate::normalize_email(email))
    .fetch_optional(db)
    .await?;
    one(row)
}

/// Writes the fields a person edits on their profile.
pub async fn save_profile(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    a: &Account,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sets: Vec<String> = PROFILE_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE accounts SET updated_at = $2, {} WHERE id = $1",
        sets.join(", ")
    );
    let query = sqlx::query(&sql).bind(&a.id).bind(now);
    bind_profile(query, a).execute(db).await?;
    Ok(())
}

/// Sets the photo and returns the key it replaced, for deletion.
pub async fn set_photo(
    db: &Database,
    id: &str,
    key: Option<&str>,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Two uploads at once must not both see the same "old" photo: one would
    // be orphaned. SQLite's BEGIN IMMEDIATE already serialises them.
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let old: Option<(Option<String>,)> = sqlx::query_as(&format!(
        "SELECT photo_key FROM accounts WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query("UPDATE accounts SET photo_key = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(old.and_then(|(k,)| k))
}

pub async fn mark_verified(db: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET email_verified_at = $2, updated_at = $2 WHERE id = $1 AND email_verified_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_password(db: &AnyPool, id: &str, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_status(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
    status: Status,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces every personal field with a placeholder. The row and its id stay,
/// so ledger entries and bookings that name the account remain consistent.
pub async fn anonymise(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let placeholder = format!("deleted-{id}@deleted.invalid");
    sqlx::query(
        "UPDATE accounts SET email = $2, email_normalized = $2, password_hash = '!', status = 'deleted', \
         first_name = 'Deleted', last_name = 'account', bio = NULL, interests = '[]', privacy = 'private', \
         photo_key = NULL, phone = NULL, notify_email = 0, notify_sms = 0, notify_push = 0, updated_at = $3, deleted_at = $3, \
         search_text = $2 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(placeholder)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// What an administrator searches accounts by. `None` matches everything.
#[derive(Debug, Default)]
pub struct Search {
    /// Case-insensitive substring of the name or email.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub status: Option<Status>,
    /// Keyset cursor: the (created_at, id) of the last row already seen.
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// Newest first, stable under concurrent inserts thanks to the keyset cursor.
pub async fn search(db: &AnyPool, s: &Search) -> Result<Vec<Account>, sqlx::Error> {
    let pattern = s.text.as_deref().map(|t| {
        let escaped = t
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let (after_at, after_id) = match &s.after {
        Some((at, id)) => (Some(*at), Some(id.as_str())),
        None => (None, None),
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE \
           ($1 IS NULL OR search_text LIKE $1 ESCAPE '\\') \
           AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR status = $3) \
           AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
         ORDER BY created_at DESC, id DESC LIMIT $6"
    ))
    .bind(pattern)
    .bind(s.role.map(Role::as_str))
    .bind(s.status.map(Status::as_str))
    .bind(after_at)
    .bind(after_id)
    .bind(s.limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Account::try_from).collect()
}

pub async fn record_admin_action(
    db: &AnyPool,
    admin_id: &str,
    action: &str,
    account_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO admin_actions (id, admin_id, action, account_id, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(admin_id)
        .bind(action)
        .bind(account_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
