//! SQL of the payouts table (the ledger keeps the money's side in
//! `ledger_payouts`).

use sqlx::AnyConnection;

use super::taxes::Computation;
use super::{Payout, State};
use crate::experts::tax::TaxRates;
use crate::experts::TaxOption;

const COLUMNS: &str = "id, expert_id, amount, state, bank_kind, bank_hint, requested_at, \
     decided_at, decided_by, reason, tax_option, vat_bp, withholding_bp, gross, commission, vat, \
     withheld, net";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    expert_id: String,
    amount: i64,
    state: String,
    bank_kind: String,
    bank_hint: String,
    requested_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    reason: Option<String>,
    tax_option: Option<String>,
    vat_bp: Option<i64>,
    withholding_bp: Option<i64>,
    gross: Option<i64>,
    commission: Option<i64>,
    vat: Option<i64>,
    withheld: Option<i64>,
    net: Option<i64>,
}

fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("payouts.{column}: unexpected value {value:?}").into())
}

impl TryFrom<Row> for Payout {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        let computation = match r.tax_option {
            None => None,
            Some(option) => Some(Computation {
                option: TaxOption::parse(&option).ok_or_else(|| corrupt("tax_option", &option))?,
                rates: TaxRates {
                    vat_percent_bp: r.vat_bp.unwrap_or_default(),
                    withholding_percent_bp: r.withholding_bp.unwrap_or_default(),
                },
                amount: r.amount,
                gross: r.gross.unwrap_or_default(),
                commission: r.commission.unwrap_or_default(),
                vat: r.vat.unwrap_or_default(),
                withheld: r.withheld.unwrap_or_default(),
                net: r.net.unwrap_or_default(),
            }),
        };
        Ok(Payout {
            state: State::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?,
            id: r.id,
            expert_id: r.expert_id,
            amount: r.amount,
            bank_kind: r.bank_kind,
            bank_hint: r.bank_hint,
            requested_at: r.requested_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            reason: r.reason,
            computation,
        })
    }
}

/// The payout matching `condition`, on the text parameters `values`.
async fn one(
    conn: &mut AnyConnection,
    condition: &str,
    values: &[&str],
) -> Result<Option<Payout>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM payouts WHERE {condition}");
    let mut q = sqlx::query_as::<_, Row>(&sql);
    for v in values {
        q = q.bind(*v);
    }
    q.fetch_optional(conn)
        .await?
        .map(Payout::try_from)
        .transpose()
}

/// Ids that are not UUIDs name nothing (and never reach the database,
/// which may refuse what they hold).
fn names_nothing(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_err()
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Payout>, sqlx::Error> {
    if names_nothing(id) {
        return Ok(None);
    }
    one(conn, "id = $1", &[id]).await
}

/// The payout the expert requested with this idempotency key.
pub async fn by_key(
    conn: &mut AnyConnection,
    expert_id: &str,
    key: &str,
) -> Result<Option<Payout>, sqlx::Error> {
    one(
        conn,
        "expert_id = $1 AND idempotency_key = $2",
        &[expert_id, key],
    )
    .await
}

/// Takes the payout row's write lock until the transaction ends (a no-op
/// UPDATE, as `experts::verification::lock`), so that two decisions on one
/// payout run one after the other on PostgreSQL too; then reads it.
pub async fn lock(conn: &mut AnyConnection, id: &str) -> Result<Option<Payout>, sqlx::Error> {
    if names_nothing(id) {
        return Ok(None);
    }
    sqlx::query("UPDATE payouts SET state = state WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    get(conn, id).await
}

pub async fn insert(
    conn: &mut AnyConnection,
    p: &Payout,
    idempotency_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payouts (id, expert_id, idempotency_key, amount, state, bank_kind, \
         bank_hint, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&p.id)
    .bind(&p.expert_id)
    .bind(idempotency_key)
    .bind(p.amount)
    .bind(p.state.as_str())
    .bind(&p.bank_kind)
    .bind(&p.bank_hint)
    .bind(p.requested_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the approval and its computation.
pub async fn mark_paid(
    conn: &mut AnyConnection,
    id: &str,
    admin_id: &str,
    now: i64,
    c: &Computation,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payouts SET state = 'paid', decided_at = $2, decided_by = $3, tax_option = $4, \
         vat_bp = $5, withholding_bp = $6, gross = $7, commission = $8, vat = $9, withheld = $10, \
         net = $11 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(admin_id)
    .bind(c.option.as_str())
    .bind(c.rates.vat_percent_bp)
    .bind(c.rates.withholding_percent_bp)
    .bind(c.gross)
    .bind(c.commission)
    .bind(c.vat)
    .bind(c.withheld)
    .bind(c.net)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_rejected(
    conn: &mut AnyConnection,
    id: &str,
    admin_id: &str,
    now: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payouts SET state = 'rejected', decided_at = $2, decided_by = $3, reason = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(admin_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// An expert's payouts, newest first, strictly before the `(requested_at,
/// id)` cursor.
pub async fn of_expert(
    conn: &mut AnyConnection,
    expert_id: &str,
    before: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Payout>, sqlx::Error> {
    page(
        conn,
        "expert_id = $1 AND ($2 IS NULL OR requested_at < $2 OR (requested_at = $2 AND id < $3)) \
         ORDER BY requested_at DESC, id DESC",
        expert_id,
        before,
        limit,
    )
    .await
}

/// Payouts in `state`, oldest request first, strictly after the
/// `(requested_at, id)` cursor.
pub async fn in_state(
    conn: &mut AnyConnection,
    state: State,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Payout>, sqlx::Error> {
    page(
        conn,
        "state = $1 AND ($2 IS NULL OR requested_at > $2 OR (requested_at = $2 AND id > $3)) \
         ORDER BY requested_at, id",
        state.as_str(),
        after,
        limit,
    )
    .await
}

/// One page: `filter` is a condition on `$1` and the cursor (`$2`, `$3`)
/// followed by its order.
async fn page(
    conn: &mut AnyConnection,
    filter: &str,
    value: &str,
    cursor: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Payout>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payouts WHERE {filter} LIMIT $4"
    ))
    .bind(value)
    .bind(cursor.map(|(at, _)| *at))
    .bind(cursor.map(|(_, id)| id.as_str()))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Payout::try_from).collect()
}
