//! The SQL of one batch (see `store.rs`): each step is one statement
//! however many requests the batch holds, written once for SQLite and
//! PostgreSQL (multi-row `VALUES`, `ON CONFLICT`, `RETURNING`) but for the
//! row locks, which only PostgreSQL has.

use std::collections::{HashMap, HashSet};

use platform::Backend;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::rules::{Balance, HoldRecord};
use super::{HoldState, Receipt, Request, Transfer};

type Tx = Transaction<'static, Any>;

pub const HOLD_COLUMNS: &str = "id, payer, payee, amount, captured, refunded, state, expires_at, \
     reference, reason, created_at, resolved_at";

#[derive(sqlx::FromRow)]
pub struct HoldRow {
    id: String,
    payer: String,
    payee: String,
    amount: i64,
    captured: i64,
    refunded: i64,
    state: String,
    expires_at: Option<i64>,
    reference: String,
    reason: String,
    created_at: i64,
    resolved_at: Option<i64>,
}

impl TryFrom<HoldRow> for HoldRecord {
    type Error = sqlx::Error;

    fn try_from(r: HoldRow) -> Result<Self, sqlx::Error> {
        let corrupt = |col: &str, v: &str| {
            sqlx::Error::Decode(format!("ledger_holds.{col}: unexpected value {v:?}").into())
        };
        let uuid = |col: &str, v: &str| Uuid::parse_str(v).map_err(|_| corrupt(col, v));
        Ok(HoldRecord {
            id: uuid("id", &r.id)?,
            payer: uuid("payer", &r.payer)?,
            payee: uuid("payee", &r.payee)?,
            amount: r.amount,
            captured: r.captured,
            refunded: r.refunded,
            state: HoldState::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?,
            expires_at: r.expires_at,
            reference: r.reference,
            reason: r.reason,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        })
    }
}

/// `(p1, p2, ...), (...)`: `rows` rows of `columns` placeholders, numbered
/// from `first`.
fn values(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (0..columns)
                .map(|c| format!("${}", first + r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `p1, p2, ...`: a list for `IN (...)`.
fn list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims the keys not used before; returns them. A key in use by a
/// batch not yet committed is waited for (PostgreSQL) or cannot be, since
/// SQLite has one writer.
pub async fn claim(
    tx: &mut Tx,
    requests: &[(usize, &str, &Request, String)],
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    if requests.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "INSERT INTO ledger_operations (key, kind, request, at) VALUES {} \
         ON CONFLICT (key) DO NOTHING RETURNING key",
        values(requests.len(), 4, 1)
    );
    let mut q = sqlx::query_as::<_, (String,)>(&sql);
    for (_, key, request, body) in requests {
        q = q
            .bind(*key)
            .bind(request.kind())
            .bind(body.as_str())
            .bind(now);
    }
    Ok(q.fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(k,)| k)
        .collect())
}

/// The stored request and receipt of keys used before.
pub async fn operations(
    tx: &mut Tx,
    keys: &[&str],
) -> Result<HashMap<String, (String, Option<String>)>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT key, request, result FROM ledger_operations WHERE key IN ({})",
        list(keys.len())
    );
    let mut q = sqlx::query_as::<_, (String, String, Option<String>)>(&sql);
    for key in keys {
        q = q.bind(*key);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|(k, req, res)| (k, (req, res)))
        .collect())
}

/// `FOR UPDATE` on PostgreSQL: rows are locked in the query's order, so
/// batches that lock rows by id never wait on each other in a circle.
/// SQLite has no row locks and needs none: a writing transaction holds the
/// database's one write lock from its start (`Database::begin_write`).
fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Locks the holds for this transaction, in id order, and reads them.
pub async fn lock_holds(
    tx: &mut Tx,
    backend: Backend,
    ids: &[Uuid],
) -> Result<Vec<HoldRecord>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {HOLD_COLUMNS} FROM ledger_holds WHERE id IN ({}) ORDER BY id{}",
        list(ids.len()),
        for_update(backend)
    );
    let mut q = sqlx::query_as::<_, HoldRow>(&sql);
    for id in ids {
        q = q.bind(id.to_string());
    }
    q.fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(HoldRecord::try_from)
        .collect()
}

/// Locks the accounts that exist among `ids`, in id order, and reads
/// their balances.
pub async fn lock_accounts(
    tx: &mut Tx,
    backend: Backend,
    ids: &[&String],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, balance FROM ledger_accounts WHERE id IN ({}) ORDER BY id{}",
        list(ids.len()),
        for_update(backend)
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    Ok(q.fetch_all(&mut **tx).await?.into_iter().collect())
}

/// Rows per multi-row insert: far under both backends' parameter limits.
const CHUNK: usize = 200;

/// The transfers, each with the key of the request that made it, what it
/// pays for and its place among that request's transfers.
pub async fn insert_transfers(
    tx: &mut Tx,
    transfers: &[(&str, String, usize, Transfer)],
) -> Result<(), sqlx::Error> {
    for chunk in transfers.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO ledger_transfers \
             (id, operation, position, from_account, to_account, amount, kind, hold_id, reference, at) \
             VALUES {}",
            values(chunk.len(), 10, 1)
        );
        let mut q = sqlx::query(&sql);
        for (key, reference, position, t) in chunk {
            q = q
                .bind(t.id.to_string())
                .bind(*key)
                .bind(*position as i64)
                .bind(t.from.as_str())
                .bind(t.to.as_str())
                .bind(t.amount)
                .bind(t.kind.as_str())
                .bind(t.hold.map(|h| h.to_string()))
                .bind(reference.as_str())
                .bind(t.at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// New holds and the new state of changed ones. Changed holds were locked
/// by this transaction, so their whole row can be written back.
pub async fn write_holds<'a>(
    tx: &mut Tx,
    holds: impl Iterator<Item = &'a HoldRecord>,
) -> Result<(), sqlx::Error> {
    let holds: Vec<&HoldRecord> = holds.collect();
    for chunk in holds.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO ledger_holds ({HOLD_COLUMNS}) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, captured = excluded.captured, \
             refunded = excluded.refunded, resolved_at = excluded.resolved_at",
            values(chunk.len(), 12, 1)
        );
        let mut q = sqlx::query(&sql);
        for h in chunk {
            q = q
                .bind(h.id.to_string())
                .bind(h.payer.to_string())
                .bind(h.payee.to_string())
                .bind(h.amount)
                .bind(h.captured)
                .bind(h.refunded)
                .bind(h.state.as_str())
                .bind(h.expires_at)
                .bind(h.reference.as_str())
                .bind(h.reason.as_str())
                .bind(h.created_at)
                .bind(h.resolved_at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The balances the batch changed. Accounts that existed were locked, so
/// their final balance is written as is; an account the batch created may
/// have been created meanwhile by another transaction, so its balance is
/// added to what is there (a new account is only ever credited, or is a
/// clearing account).
pub async fn write_balances<'a>(
    tx: &mut Tx,
    balances: impl Iterator<Item = (&'a String, &'a Balance)>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (existing, created): (Vec<_>, Vec<_>) = balances.partition(|(_, b)| b.before.is_some());
    for (rows, update) in [
        (existing, "excluded.balance"),
        (created, "ledger_accounts.balance + excluded.balance"),
    ] {
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO ledger_accounts (id, kind, owner, balance, may_go_negative, created_at) \
                 VALUES {} ON CONFLICT (id) DO UPDATE SET balance = {update}",
                values(chunk.len(), 6, 1)
            );
            let mut q = sqlx::query(&sql);
            for (id, b) in chunk {
                q = q
                    .bind(id.as_str())
                    .bind(b.account.kind())
                    .bind(b.account.owner().map(|u| u.to_string()))
                    .bind(b.balance)
                    .bind(i64::from(b.account.may_go_negative()))
                    .bind(now);
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// The receipts of the applied requests, for their retries.
pub async fn store_receipts(
    tx: &mut Tx,
    receipts: &[(&str, &str, Receipt)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in receipts.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO ledger_operations (key, kind, request, result, at) VALUES {} \
             ON CONFLICT (key) DO UPDATE SET result = excluded.result",
            values(chunk.len(), 5, 1)
        );
        let mut q = sqlx::query(&sql);
        for (key, kind, receipt) in chunk {
            q = q
                .bind(*key)
                .bind(*kind)
                // Only the result is written: the row was claimed with its request.
                .bind("")
                .bind(serde_json::to_string(receipt).expect("a receipt serialises"))
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Frees the keys of refused requests: a refusal records nothing, and a
/// retry is judged afresh.
pub async fn forget(tx: &mut Tx, keys: &[&str]) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM ledger_operations WHERE key IN ({})",
        list(keys.len())
    );
    let mut q = sqlx::query(&sql);
    for key in keys {
        q = q.bind(*key);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}
