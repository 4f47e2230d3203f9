//! The ledger's driver: one database transaction per batch of requests
//! (`Ledger::apply` is a batch of one), a handful of statements whatever
//! the batch holds; the SQL is in `batch.rs`.
//!
//! Inside the transaction: claim the requests' idempotency keys (a key
//! already used gets its first receipt back, or is refused if the request
//! differs), lock and read the holds, payouts and accounts the batch
//! touches, read the uncleared earnings of the experts it pays out to, apply
//! the requests in order to that state in memory (`rules::Book`, which
//! refuses any that would overdraw an account or pay out more than is
//! available), then write the transfers, the holds, the payouts, the
//! balances and the receipts, and forget the keys of the refused requests.
//! Row locks, taken in id order (holds, then payouts, then accounts), keep
//! concurrent batches from overdrawing an account between the read and the
//! write. Should two PostgreSQL batches still wait on each other in a
//! circle (they claim keys they share in a different order), the database
//! fails one of them and it is run again.
//!
//! `Ledger::apply_in` runs one request the same way inside a transaction
//! of the caller's, so that what the caller records about it (a payout's
//! row) commits with the money or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use platform::{Backend, Clock, Database};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::batch::Tx;
use super::clearing::{self, Funds};
use super::rules::{Book, Clearing, HoldRecord, PayoutRecord};
use super::{batch, batcher};
use super::{Account, LedgerError, Receipt, Request, Transfer};

const MAX_KEY: usize = 200;
/// Requests per transaction: large batches hold their locks longer.
pub const MAX_BATCH: usize = 500;
/// Batches in flight at once from one process's `apply` calls.
const BATCH_LANES: usize = 4;
/// Runs of a batch that PostgreSQL failed to break a deadlock.
const DEADLOCK_RETRIES: usize = 5;

#[derive(Clone)]
pub struct Ledger {
    pub(super) db: Database,
    clock: Arc<dyn Clock>,
    /// How long after its capture an expert's share may be paid out
    /// (`clearing`), in ms.
    clearing_delay_ms: i64,
    /// Where `apply` sends its request to share a transaction (`batcher.rs`);
    /// none outside a Tokio runtime.
    batcher: Option<mpsc::UnboundedSender<batcher::Job>>,
    counts: Arc<Counts>,
}

/// Transactions run and requests they carried, since the ledger started.
#[derive(Debug, Default)]
pub struct Counts {
    pub batches: AtomicU64,
    pub requests: AtomicU64,
}

/// One person's money, in millimes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Balances {
    /// Spendable coins.
    pub wallet: i64,
    /// Coins on hold for messages, bookings and calls.
    pub held: i64,
    /// An expert's captured earnings not yet paid out.
    pub earnings: i64,
}

/// The ledger checked against itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Sum of every balance: zero when no millime appeared or vanished.
    pub sum: i64,
    /// Accounts whose balance is not the sum of their transfers.
    pub drifted: Vec<String>,
    /// Accounts below zero that may not be.
    pub negative: Vec<String>,
    /// Holds whose `held` money does not match what they still hold.
    pub held_mismatch: Vec<String>,
    /// Payout accounts whose money in transit is not their pending payouts,
    /// and `paid_out` or `tax_payable` when they do not hold exactly what
    /// the settled payouts sent them.
    pub payout_mismatch: Vec<String>,
    pub transfers: i64,
}

impl Audit {
    pub fn is_clean(&self) -> bool {
        self.sum == 0
            && self.drifted.is_empty()
            && self.negative.is_empty()
            && self.held_mismatch.is_empty()
            && self.payout_mismatch.is_empty()
    }
}

/// An expert's payouts, in millimes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayoutTotals {
    /// Requested, not yet decided: in transit.
    pub pending: i64,
    /// Settled: what left the earnings for good, tax withheld included.
    pub paid: i64,
    /// Withheld at source from the settled payouts.
    pub withheld: i64,
}

impl Ledger {
    /// `clearing_delay`: how long after a capture the expert's share of it
    /// may be paid out (`control.payouts.clearing_delay`).
    pub fn new(db: Database, clock: Arc<dyn Clock>, clearing_delay: Duration) -> Ledger {
        let direct = Ledger {
            db,
            clock,
            clearing_delay_ms: i64::try_from(clearing_delay.as_millis()).unwrap_or(i64::MAX),
            batcher: None,
            counts: Arc::default(),
        };
        // SQLite has one writer: more lanes would only queue at its lock.
        let lanes = match direct.db.backend() {
            Backend::Postgres => BATCH_LANES,
            Backend::Sqlite => 1,
        };
        let batcher = tokio::runtime::Handle::try_current()
            .ok()
            .map(|_| batcher::spawn(direct.clone(), lanes));
        Ledger { batcher, ..direct }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Applies `request` once per `key`; see the module docs. Concurrent
    /// calls share transactions (`batcher.rs`).
    pub async fn apply(&self, key: &str, request: &Request) -> Result<Receipt, LedgerError> {
        if let Some(queue) = &self.batcher {
            let (reply, result) = oneshot::channel();
            let job = batcher::Job {
                key: key.to_owned(),
                request: request.clone(),
                reply,
            };
            if queue.send(job).is_ok() {
                if let Ok(result) = result.await {
                    return result;
                }
            }
        }
        let mut results = self
            .apply_batch(&[(key.to_owned(), request.clone())])
            .await?;
        results.pop().expect("one result per request")
    }

    /// Applies each request once per key, in order, in one transaction: a
    /// later request sees what the earlier ones did, and a refused request
    /// changes nothing and leaves the others be. The outer error is a
    /// failure of the database; the inner ones are refusals.
    pub async fn apply_batch(
        &self,
        requests: &[(String, Request)],
    ) -> Result<Vec<Result<Receipt, LedgerError>>, LedgerError> {
        if requests.len() > MAX_BATCH {
            return Err(LedgerError::Invalid {
                field: "batch",
                reason: "holds more than 500 requests",
            });
        }
        self.counts.batches.fetch_add(1, Ordering::Relaxed);
        self.counts
            .requests
            .fetch_add(requests.len() as u64, Ordering::Relaxed);
        let mut attempt = 0;
        loop {
            match self.run_batch(requests).await {
                Err(LedgerError::Db(e)) if is_deadlock(&e) && attempt < DEADLOCK_RETRIES => {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Applies `request` once per `key` inside `tx`, a writing transaction
    /// of the caller's (`Database::begin_write`): the money moves if and
    /// when the caller commits. The outer error is a failure of the
    /// database, after which the caller must roll back.
    pub async fn apply_in(
        &self,
        tx: &mut Tx,
        key: &str,
        request: &Request,
    ) -> Result<Result<Receipt, LedgerError>, LedgerError> {
        let mut results = self
            .run_in(tx, &[(key.to_owned(), request.clone())])
            .await?;
        Ok(results.pop().expect("one result per request"))
    }

    async fn run_batch(
        &self,
        requests: &[(String, Request)],
    ) -> Result<Vec<Result<Receipt, LedgerError>>, LedgerError> {
        let mut tx = self.db.begin_write().await?;
        let results = self.run_in(&mut tx, requests).await?;
        failpoint("ledger.before_commit");
        tx.commit().await?;
        Ok(results)
    }

    async fn run_in(
        &self,
        tx: &mut Tx,
        requests: &[(String, Request)],
    ) -> Result<Vec<Result<Receipt, LedgerError>>, LedgerError> {
        let now = self.clock.now_ms();
        let mut results: Vec<Option<Result<Receipt, LedgerError>>> =
            requests.iter().map(|_| None).collect();
        let mut seen = HashSet::new();
        let mut bodies = Vec::new();
        for (i, (key, request)) in requests.iter().enumerate() {
            if key.is_empty() || key.len() > MAX_KEY || key.contains('\0') {
                results[i] = Some(Err(LedgerError::Invalid {
                    field: "idempotency_key",
                    reason: "must be 1 to 200 characters",
                }));
            } else if !seen.insert(key.as_str()) {
                results[i] = Some(Err(LedgerError::Invalid {
                    field: "idempotency_key",
                    reason: "appears twice in one batch",
                }));
            } else {
                let body = serde_json::to_string(request).expect("a request serialises");
                bodies.push((i, key.as_str(), request, body));
            }
        }
        let claimed = batch::claim(tx, &bodies, now).await?;
        let earlier: Vec<&str> = bodies
            .iter()
            .filter(|(_, key, ..)| !claimed.contains(*key))
            .map(|(_, key, ..)| *key)
            .collect();
        let stored = batch::operations(tx, &earlier).await?;
        let mut fresh = Vec::new();
        for (i, key, request, body) in bodies {
            if claimed.contains(key) {
                fresh.push((i, key, request));
                continue;
            }
            results[i] = Some(match stored.get(key) {
                Some((first, Some(receipt))) if *first == body => {
                    serde_json::from_str(receipt).map_err(|_| corrupt_receipt(key).into())
                }
                Some((first, _)) if *first == body => Err(corrupt_receipt(key).into()),
                _ => Err(LedgerError::KeyReused),
            });
        }

        let backend = self.db.backend();
        let named = |f: fn(&Request) -> Option<Uuid>| -> Vec<Uuid> {
            fresh.iter().filter_map(|(_, _, r)| f(r)).collect()
        };
        let holds = batch::lock_holds(tx, backend, &named(Request::hold)).await?;
        let payouts = batch::lock_payouts(tx, backend, &named(Request::payout)).await?;
        let accounts = touched_accounts(fresh.iter().map(|(_, _, r)| *r), &holds, &payouts);
        let ids: Vec<&String> = accounts.keys().collect();
        let found = batch::lock_accounts(tx, backend, &ids).await?;
        let existing = accounts
            .into_iter()
            .filter_map(|(id, account)| found.get(&id).map(|b| (account, *b)))
            .collect();
        let clearing = self.clearing(tx, &named(payout_expert), now).await?;
        let mut book = Book::new(existing, holds, payouts, clearing);
        let mut transfers: Vec<(&str, String, usize, Transfer)> = Vec::new();
        let mut receipts = Vec::new();
        let mut refused = Vec::new();
        for (i, key, request) in fresh {
            match book.apply(request, Uuid::now_v7(), now) {
                Ok(applied) => {
                    let hold = applied.hold;
                    let reference = match (request, hold.and_then(|h| book.hold(h))) {
                        (Request::Deposit { reference, .. }, _) => reference.clone(),
                        (_, Some(h)) => h.reference.clone(),
                        _ => applied
                            .payout
                            .map(|p| format!("payout:{p}"))
                            .unwrap_or_default(),
                    };
                    let moved: Vec<Transfer> = applied
                        .postings
                        .into_iter()
                        .map(|p| Transfer {
                            id: Uuid::now_v7(),
                            from: p.from.id(),
                            to: p.to.id(),
                            amount: p.amount,
                            kind: p.kind,
                            hold,
                            at: now,
                        })
                        .collect();
                    transfers.extend(
                        moved
                            .iter()
                            .enumerate()
                            .map(|(n, t)| (key, reference.clone(), n, t.clone())),
                    );
                    let receipt = Receipt {
                        key: key.to_owned(),
                        hold,
                        payout: applied.payout,
                        transfers: moved,
                    };
                    receipts.push((key, request.kind(), receipt.clone()));
                    results[i] = Some(Ok(receipt));
                }
                Err(e) => {
                    refused.push(key);
                    results[i] = Some(Err(e));
                }
            }
        }
        batch::insert_transfers(tx, &transfers).await?;
        batch::write_holds(tx, book.changed_holds()).await?;
        batch::write_payouts(tx, book.changed_payouts()).await?;
        failpoint("ledger.before_balances");
        batch::write_balances(tx, book.changed_balances(), now).await?;
        batch::store_receipts(tx, &receipts, now).await?;
        batch::forget(tx, &refused).await?;
        Ok(results
            .into_iter()
            .map(|r| r.expect("every request has its result"))
            .collect())
    }

    /// Clearing at `now` for a batch paying out to `experts`: their
    /// uncleared earnings, read once their earnings accounts are locked.
    async fn clearing(
        &self,
        tx: &mut Tx,
        experts: &[Uuid],
        now: i64,
    ) -> Result<Clearing, LedgerError> {
        let cutoff = clearing::cutoff(now, self.clearing_delay_ms);
        let mut uncleared: HashMap<Uuid, i64> = experts.iter().map(|e| (*e, 0)).collect();
        for (expert, capture) in batch::recent_captures(tx, experts, cutoff).await? {
            *uncleared.entry(expert).or_default() += capture.owed();
        }
        Ok(Clearing { cutoff, uncleared })
    }

    /// An expert's earnings as payouts see them now: how much is available,
    /// how much is still within the clearing delay, and when more clears.
    pub async fn funds(&self, expert: Uuid) -> Result<Funds, LedgerError> {
        let now = self.clock.now_ms();
        let mut conn = self.db.pool().acquire().await?;
        let cutoff = clearing::cutoff(now, self.clearing_delay_ms);
        let captures: Vec<_> = batch::recent_captures(&mut conn, &[expert], cutoff)
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let earnings = self.balance(&Account::Earnings(expert)).await?;
        Ok(Funds::new(earnings, &captures, now, self.clearing_delay_ms))
    }

    /// What an expert has pending and was paid.
    pub async fn payout_totals(&self, expert: Uuid) -> Result<PayoutTotals, LedgerError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT state, CAST(SUM(amount) AS BIGINT), CAST(SUM(withheld) AS BIGINT) \
             FROM ledger_payouts WHERE expert = $1 GROUP BY state",
        )
        .bind(expert.to_string())
        .fetch_all(self.db.pool())
        .await?;
        let mut totals = PayoutTotals::default();
        for (state, amount, withheld) in rows {
            match state.as_str() {
                "pending" => totals.pending = amount,
                "settled" => (totals.paid, totals.withheld) = (amount, withheld),
                _ => {}
            }
        }
        Ok(totals)
    }

    pub async fn payout(&self, id: Uuid) -> Result<Option<PayoutRecord>, LedgerError> {
        let row: Option<batch::PayoutRow> = sqlx::query_as(&format!(
            "SELECT {} FROM ledger_payouts WHERE id = $1",
            batch::PAYOUT_COLUMNS
        ))
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(PayoutRecord::try_from).transpose()?)
    }

    /// Expires up to `limit` pending holds whose deadline has passed, in one
    /// batch; returns how many it expired. Holds captured or released
    /// meanwhile are left alone, so running it on several replicas at once
    /// is safe.
    pub async fn expire_due(&self, limit: i64) -> Result<usize, LedgerError> {
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM ledger_holds WHERE state = 'pending' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(self.clock.now_ms())
        .bind(limit.min(MAX_BATCH as i64))
        .fetch_all(self.db.pool())
        .await?;
        let requests: Vec<(String, Request)> = due
            .iter()
            .filter_map(|(id,)| Uuid::parse_str(id).ok())
            .map(|hold| (format!("expire:{hold}"), Request::Expire { hold }))
            .collect();
        let results = self.apply_batch(&requests).await?;
        Ok(results.iter().filter(|r| r.is_ok()).count())
    }

    pub async fn balances(&self, owner: Uuid) -> Result<Balances, LedgerError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT kind, balance FROM ledger_accounts WHERE owner = $1")
                .bind(owner.to_string())
                .fetch_all(self.db.pool())
                .await?;
        let mut b = Balances::default();
        for (kind, balance) in rows {
            match kind.as_str() {
                "wallet" => b.wallet = balance,
                "held" => b.held = balance,
                "earnings" => b.earnings = balance,
                _ => {}
            }
        }
        Ok(b)
    }

    /// One account's balance (zero for an account never used).
    pub async fn balance(&self, account: &Account) -> Result<i64, LedgerError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(Self::balance_in(&mut conn, account).await?)
    }

    /// One account's balance as `conn` sees it: inside a caller's
    /// transaction, with what it moved (`apply_in`) and not yet committed.
    pub async fn balance_in(
        conn: &mut sqlx::AnyConnection,
        account: &Account,
    ) -> Result<i64, sqlx::Error> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT balance FROM ledger_accounts WHERE id = $1")
                .bind(account.id())
                .fetch_optional(conn)
                .await?;
        Ok(row.map_or(0, |(b,)| b))
    }

    pub async fn hold(&self, id: Uuid) -> Result<Option<HoldRecord>, LedgerError> {
        Ok(self
            .holds_where("id = $1", &id.to_string(), 1)
            .await?
            .into_iter()
            .next())
    }

    /// Holds matching `condition` (SQL on one text parameter, `$1`), oldest
    /// first, at most `limit`.
    pub(super) async fn holds_where(
        &self,
        condition: &str,
        value: &str,
        limit: i64,
    ) -> Result<Vec<HoldRecord>, LedgerError> {
        let rows: Vec<batch::HoldRow> = sqlx::query_as(&format!(
            "SELECT {} FROM ledger_holds WHERE {condition} ORDER BY created_at, id LIMIT $2",
            batch::HOLD_COLUMNS
        ))
        .bind(value)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(HoldRecord::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Checks the whole ledger against itself; see `Audit`.
    pub async fn audit(&self) -> Result<Audit, LedgerError> {
        let pool = self.db.pool();
        let (sum, transfers): (Option<i64>, i64) = sqlx::query_as(
            "SELECT (SELECT CAST(SUM(balance) AS BIGINT) FROM ledger_accounts), \
             (SELECT COUNT(*) FROM ledger_transfers)",
        )
        .fetch_one(pool)
        .await?;
        let drifted: Vec<(String,)> = sqlx::query_as(
            "SELECT a.id FROM ledger_accounts a WHERE a.balance <> \
             COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE to_account = a.id), 0) - \
             COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE from_account = a.id), 0) \
             ORDER BY a.id",
        )
        .fetch_all(pool)
        .await?;
        let negative: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM ledger_accounts WHERE balance < 0 AND may_go_negative = 0 ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        let ids = |v: Vec<(String,)>| v.into_iter().map(|(s,)| s).collect();
        Ok(Audit {
            sum: sum.unwrap_or(0),
            drifted: ids(drifted),
            negative: ids(negative),
            // A payer's held account holds exactly their pending holds.
            held_mismatch: self
                .pending_mismatch("held", "ledger_holds", "payer")
                .await?,
            payout_mismatch: self.payout_mismatch().await?,
            transfers,
        })
    }

    /// The accounts `<kind>:<owner>` whose balance is not the sum of the
    /// pending rows of `table` whose `owner` column names them.
    async fn pending_mismatch(
        &self,
        kind: &str,
        table: &str,
        owner: &str,
    ) -> Result<Vec<String>, LedgerError> {
        // Only our own constants are formatted in.
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT a.id FROM ledger_accounts a WHERE a.kind = '{kind}' AND a.balance <> \
             COALESCE((SELECT SUM(r.amount) FROM {table} r \
                       WHERE r.state = 'pending' AND a.id = '{kind}:' || r.{owner}), 0) \
             ORDER BY a.id"
        ))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The payout part of `audit`.
    async fn payout_mismatch(&self) -> Result<Vec<String>, LedgerError> {
        let pool = self.db.pool();
        // An expert's payout account holds exactly their pending payouts.
        let mut mismatch = self
            .pending_mismatch("payout", "ledger_payouts", "expert")
            .await?;
        // Whatever settled went to the bank or the state, to the millime.
        let (paid_out, tax_payable, net, withheld): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
             COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'paid_out'), 0), \
             COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'tax_payable'), 0), \
             COALESCE((SELECT CAST(SUM(amount - withheld) AS BIGINT) FROM ledger_payouts \
                       WHERE state = 'settled'), 0), \
             COALESCE((SELECT CAST(SUM(withheld) AS BIGINT) FROM ledger_payouts \
                       WHERE state = 'settled'), 0)",
        )
        .fetch_one(pool)
        .await?;
        for (account, balance, expected) in [
            (Account::PaidOut, paid_out, net),
            (Account::TaxPayable, tax_payable, withheld),
        ] {
            if balance != expected {
                mismatch.push(account.id());
            }
        }
        Ok(mismatch)
    }
}

fn corrupt_receipt(key: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("ledger_operations.result of {key:?} is unreadable").into())
}

fn is_deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("40P01"))
}

/// Crash tests: `DI_FAILPOINT=<name>` kills the process at that point.
fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    if ARMED
        .get_or_init(|| std::env::var("DI_FAILPOINT").ok())
        .as_deref()
        == Some(name)
    {
        std::process::abort();
    }
}

/// Every account the requests may move money in or out of, by id (the
/// order they are locked in).
fn touched_accounts<'a>(
    requests: impl Iterator<Item = &'a Request>,
    holds: &[HoldRecord],
    payouts: &[PayoutRecord],
) -> BTreeMap<String, Account> {
    let holds: HashMap<Uuid, &HoldRecord> = holds.iter().map(|h| (h.id, h)).collect();
    let payouts: HashMap<Uuid, &PayoutRecord> = payouts.iter().map(|p| (p.id, p)).collect();
    let mut accounts = BTreeMap::new();
    for request in requests {
        let mut add = |a: Account| {
            accounts.insert(a.id(), a);
        };
        match request {
            Request::Deposit {
                account, provider, ..
            } => {
                add(Account::Wallet(*account));
                add(Account::Clearing(provider.clone()));
            }
            // The payee's and revenue accounts are only credited: a hold
            // never reads them.
            Request::Hold { payer, .. } => {
                add(Account::Wallet(*payer));
                add(Account::Held(*payer));
            }
            // The earnings are read: what is available is judged on them.
            Request::PayoutRequest { expert, .. } => {
                add(Account::Earnings(*expert));
                add(Account::Payout(*expert));
            }
            Request::PayoutSettle { payout, .. } => {
                if let Some(p) = payouts.get(payout) {
                    add(Account::Payout(p.expert));
                    add(Account::PaidOut);
                    add(Account::TaxPayable);
                }
            }
            Request::PayoutCancel { payout } => {
                if let Some(p) = payouts.get(payout) {
                    add(Account::Payout(p.expert));
                    add(Account::Earnings(p.expert));
                }
            }
            _ => {
                if let Some(h) = request.hold().and_then(|id| holds.get(&id)) {
                    add(Account::Wallet(h.payer));
                    add(Account::Held(h.payer));
                    add(Account::Earnings(h.payee));
                    add(Account::Revenue);
                }
            }
        }
    }
    accounts
}

/// The expert a payout request pays out to.
fn payout_expert(request: &Request) -> Option<Uuid> {
    match request {
        Request::PayoutRequest { expert, .. } => Some(*expert),
        _ => None,
    }
}
