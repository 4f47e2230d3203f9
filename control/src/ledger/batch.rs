//! The SQL of one batch (see `store.rs`): each step is one statement
//! however many requests the batch holds, written once for SQLite and
//! PostgreSQL (multi-row `VALUES`, `ON CONFLICT`, `RETURNING`) but for the
//! row locks, which only PostgreSQL has.

use std::collections::{HashMap, HashSet};

use platform::Backend;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Transaction};
use uuid::Uuid;

use super::clearing::Capture;
use super::rules::{Balance, HoldRecord, PayoutRecord};
use super::{HoldState, PayoutState, Receipt, Request, Transfer};

pub type Tx = Transaction<'static, Any>;

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

fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("{column}: unexpected value {value:?}").into())
}

fn uuid(column: &str, value: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(value).map_err(|_| corrupt(column, value))
}

impl TryFrom<HoldRow> for HoldRecord {
    type Error = sqlx::Error;

    fn try_from(r: HoldRow) -> Result<Self, sqlx::Error> {
        let uuid = |col: &str, v: &str| uuid(&format!("ledger_holds.{col}"), v);
        Ok(HoldRecord {
            id: uuid("id", &r.id)?,
            payer: uuid("payer", &r.payer)?,
            payee: uuid("payee", &r.payee)?,
            amount: r.amount,
            captured: r.captured,
            refunded: r.refunded,
            state: HoldState::parse(&r.state)
                .ok_or_else(|| corrupt("ledger_holds.state", &r.state))?,
            expires_at: r.expires_at,
            reference: r.reference,
            reason: r.reason,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        })
    }
}

pub const PAYOUT_COLUMNS: &str = "id, expert, amount, withheld, state, created_at, resolved_at";

#[derive(sqlx::FromRow)]
pub struct PayoutRow {
    id: String,
    expert: String,
    amount: i64,
    withheld: i64,
    state: String,
    created_at: i64,
    resolved_at: Option<i64>,
}

impl TryFrom<PayoutRow> for PayoutRecord {
    type Error = sqlx::Error;

    fn try_from(r: PayoutRow) -> Result<Self, sqlx::Error> {
        Ok(PayoutRecord {
            id: uuid("ledger_payouts.id", &r.id)?,
            expert: uuid("ledger_payouts.expert", &r.expert)?,
            amount: r.amount,
            withheld: r.withheld,
            state: PayoutState::parse(&r.state)
                .ok_or_else(|| corrupt("ledger_payouts.state", &r.state))?,
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
    list_from(1, n)
}

/// `n` placeholders numbered from `first`.
fn list_from(first: usize, n: usize) -> String {
    (first..first + n)
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

/// Locks the rows of `table` with these ids for this transaction, in id
/// order, and reads them.
async fn lock_rows<R, T>(
    tx: &mut Tx,
    backend: Backend,
    table: &str,
    columns: &str,
    ids: &[Uuid],
) -> Result<Vec<T>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    T: TryFrom<R, Error = sqlx::Error>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE id IN ({}) ORDER BY id{}",
        list(ids.len()),
        for_update(backend)
    );
    let mut q = sqlx::query_as::<_, R>(&sql);
    for id in ids {
        q = q.bind(id.to_string());
    }
    q.fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(T::try_from)
        .collect()
}

/// Locks the holds for this transaction, in id order, and reads them.
pub async fn lock_holds(
    tx: &mut Tx,
    backend: Backend,
    ids: &[Uuid],
) -> Result<Vec<HoldRecord>, sqlx::Error> {
    lock_rows::<HoldRow, _>(tx, backend, "ledger_holds", HOLD_COLUMNS, ids).await
}

/// Locks the payouts for this transaction, in id order, and reads them.
pub async fn lock_payouts(
    tx: &mut Tx,
    backend: Backend,
    ids: &[Uuid],
) -> Result<Vec<PayoutRecord>, sqlx::Error> {
    lock_rows::<PayoutRow, _>(tx, backend, "ledger_payouts", PAYOUT_COLUMNS, ids).await
}

/// The holds paying each of `experts` captured after `cutoff`: what is not
/// cleared of their earnings (`clearing`). Read after the batch locked the
/// experts' earnings accounts, which every capture and refund of these
/// holds locks too, so none of them can change until the batch ends.
pub async fn recent_captures(
    conn: &mut AnyConnection,
    experts: &[Uuid],
    cutoff: i64,
) -> Result<Vec<(Uuid, Capture)>, sqlx::Error> {
    if experts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT payee, resolved_at, captured, refunded FROM ledger_holds \
         WHERE state = 'captured' AND resolved_at > $1 AND payee IN ({})",
        list_from(2, experts.len())
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64, i64)>(&sql).bind(cutoff);
    for e in experts {
        q = q.bind(e.to_string());
    }
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(|(payee, at, captured, refunded)| {
            let capture = Capture {
                at,
                captured,
                refunded,
            };
            Ok((uuid("ledger_holds.payee", &payee)?, capture))
        })
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

/// New payouts and the new state of changed ones (locked by this
/// transaction, like changed holds).
pub async fn write_payouts<'a>(
    tx: &mut Tx,
    payouts: impl Iterator<Item = &'a PayoutRecord>,
) -> Result<(), sqlx::Error> {
    let payouts: Vec<&PayoutRecord> = payouts.collect();
    for chunk in payouts.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO ledger_payouts ({PAYOUT_COLUMNS}) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, withheld = excluded.withheld, \
             resolved_at = excluded.resolved_at",
            values(chunk.len(), 7, 1)
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.id.to_string())
                .bind(p.expert.to_string())
                .bind(p.amount)
                .bind(p.withheld)
                .bind(p.state.as_str())
                .bind(p.created_at)
                .bind(p.resolved_at);
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
