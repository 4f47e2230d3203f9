//! Requesting, approving and rejecting payouts. Each is one writing
//! transaction that moves the money in the ledger (`Ledger::apply_in`) and
//! writes the payout's row: a crash leaves both or neither, and a retry or
//! a second administrator finds the first one's decision.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use platform::{Clock, Database};
use uuid::Uuid;

use super::taxes::{self, Computation};
use super::{store, Payout, PayoutError, State};
use crate::experts::seal::Sealer;
use crate::experts::tax::{self as rates, TaxRates};
use crate::experts::{self, verification};
use crate::ledger::clearing::Funds;
use crate::ledger::{Ledger, PayoutTotals, Request};
use crate::settings::PayoutSettings;

/// Longest `Idempotency-Key` accepted: it goes into the ledger's key.
const MAX_KEY: usize = 100;

pub struct Payouts {
    db: Database,
    ledger: Ledger,
    clock: Arc<dyn Clock>,
    sealer: Sealer,
    settings: PayoutSettings,
    /// The configured tax rates, until an administrator sets them.
    tax_defaults: TaxRates,
}

/// An expert's money as payouts see it, in millimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub funds: Funds,
    pub totals: PayoutTotals,
    pub min_amount: i64,
}

impl Payouts {
    pub fn new(
        db: Database,
        ledger: Ledger,
        clock: Arc<dyn Clock>,
        sealer: Sealer,
        settings: PayoutSettings,
        tax_defaults: TaxRates,
    ) -> Payouts {
        Payouts {
            db,
            ledger,
            clock,
            sealer,
            settings,
            tax_defaults,
        }
    }

    /// Requests a payout of `amount` millimes for `expert_id`, or returns
    /// the one requested with the same `key`. The second value tells
    /// whether it is new.
    pub async fn request(
        &self,
        expert_id: &str,
        key: &str,
        amount: i64,
    ) -> Result<(Payout, bool), PayoutError> {
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(PayoutError::Invalid {
                field: "Idempotency-Key",
                reason: "must be 1 to 100 characters",
            });
        }
        let expert = Uuid::parse_str(expert_id).map_err(|_| PayoutError::NotApproved)?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        // One request of an expert's at a time: the idempotency check and
        // the insert cannot interleave with another's.
        verification::lock(&mut tx, expert_id).await?;
        if let Some(first) = store::by_key(&mut tx, expert_id, key).await? {
            return match first.amount == amount {
                true => Ok((first, false)),
                false => Err(PayoutError::KeyReused),
            };
        }
        let e = experts::store::get(&mut tx, expert_id)
            .await?
            .filter(|e| e.state == experts::State::Approved)
            .ok_or(PayoutError::NotApproved)?;
        let (Some(bank_kind), Some(bank_hint)) = (e.bank_kind, e.bank_hint) else {
            return Err(PayoutError::NoBankAccount);
        };
        if e.tax_option.is_none() {
            return Err(PayoutError::NoTaxOption);
        }
        if amount < self.settings.min_amount {
            return Err(PayoutError::BelowMinimum {
                minimum: self.settings.min_amount,
            });
        }
        let receipt = self
            .ledger
            .apply_in(
                &mut tx,
                &format!("payout:{expert_id}:{key}"),
                &Request::PayoutRequest { expert, amount },
            )
            .await??;
        let payout = Payout {
            id: receipt
                .payout
                .expect("a payout request's receipt names the payout")
                .to_string(),
            expert_id: expert_id.to_owned(),
            amount,
            state: State::Requested,
            bank_kind,
            bank_hint,
            requested_at: now,
            decided_at: None,
            decided_by: None,
            reason: None,
            computation: None,
        };
        store::insert(&mut tx, &payout, key).await?;
        tx.commit().await?;
        Ok((payout, true))
    }

    /// Approves a requested payout: computes its taxes at the rates in
    /// force, settles it in the ledger (the net to the bank, the withheld
    /// tax to the state) and records both.
    pub async fn approve(&self, id: &str, admin_id: &str) -> Result<Payout, PayoutError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let (p, ledger_id) = requested(&mut tx, id).await?;
        let option = experts::store::get(&mut tx, &p.expert_id)
            .await?
            .and_then(|e| e.tax_option)
            .ok_or(PayoutError::NoTaxOption)?;
        let in_force = rates::load(&mut tx, self.tax_defaults).await?.rates;
        let computation = taxes::compute(p.amount, option, in_force);
        let settle = Request::PayoutSettle {
            payout: ledger_id,
            withheld: computation.withheld,
        };
        let key = format!("payout-settle:{id}");
        self.ledger.apply_in(&mut tx, &key, &settle).await??;
        store::mark_paid(&mut tx, id, admin_id, now, &computation).await?;
        tx.commit().await?;
        Ok(decided(
            p,
            State::Paid,
            admin_id,
            now,
            Some(computation),
            None,
        ))
    }

    /// Rejects a requested payout with a reason: the money goes back to the
    /// expert's earnings.
    pub async fn reject(
        &self,
        id: &str,
        admin_id: &str,
        reason: &str,
    ) -> Result<Payout, PayoutError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let (p, ledger_id) = requested(&mut tx, id).await?;
        let cancel = Request::PayoutCancel { payout: ledger_id };
        let key = format!("payout-cancel:{id}");
        self.ledger.apply_in(&mut tx, &key, &cancel).await??;
        store::mark_rejected(&mut tx, id, admin_id, now, reason).await?;
        tx.commit().await?;
        Ok(decided(
            p,
            State::Rejected,
            admin_id,
            now,
            None,
            Some(reason),
        ))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Payout>, PayoutError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(store::get(&mut conn, id).await?)
    }

    /// An expert's payouts, newest first, before the `(requested_at, id)`
    /// cursor.
    pub async fn of_expert(
        &self,
        expert_id: &str,
        before: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Payout>, PayoutError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(store::of_expert(&mut conn, expert_id, before, limit).await?)
    }

    /// Payouts in `state`, oldest request first, after the cursor.
    pub async fn in_state(
        &self,
        state: State,
        after: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Payout>, PayoutError> {
        let mut conn = self.db.pool().acquire().await?;
        Ok(store::in_state(&mut conn, state, after, limit).await?)
    }

    pub async fn summary(&self, expert: Uuid) -> Result<Summary, PayoutError> {
        Ok(Summary {
            funds: self.ledger.funds(expert).await?,
            totals: self.ledger.payout_totals(expert).await?,
            min_amount: self.settings.min_amount,
        })
    }

    /// The full account number to send the money to, unsealed, for the
    /// administrators making the transfer.
    pub async fn bank_number(&self, expert_id: &str) -> Result<Option<String>, PayoutError> {
        let mut conn = self.db.pool().acquire().await?;
        let Some(sealed) = verification::sealed_bank_account(&mut conn, expert_id).await? else {
            return Ok(None);
        };
        let unreadable =
            |what: &str| sqlx::Error::Decode(format!("experts.bank_account: {what}").into());
        let bytes = B64.decode(sealed).map_err(|_| unreadable("not base64"))?;
        let number = self
            .sealer
            .open(&verification::bank_seal_context(expert_id), &bytes)
            .map_err(|e| unreadable(&e.to_string()))?;
        Ok(Some(
            String::from_utf8(number).map_err(|_| unreadable("not text"))?,
        ))
    }
}

/// Locks the payout `id` and checks that it waits for a decision; returns
/// it with its id as the ledger names it.
async fn requested(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<(Payout, Uuid), PayoutError> {
    let p = store::lock(conn, id).await?.ok_or(PayoutError::NotFound)?;
    if p.state != State::Requested {
        return Err(PayoutError::Decided { state: p.state });
    }
    let ledger_id = Uuid::parse_str(&p.id).map_err(|_| PayoutError::NotFound)?;
    Ok((p, ledger_id))
}

/// `p` as a decision leaves it.
fn decided(
    p: Payout,
    state: State,
    admin_id: &str,
    now: i64,
    computation: Option<Computation>,
    reason: Option<&str>,
) -> Payout {
    Payout {
        state,
        decided_at: Some(now),
        decided_by: Some(admin_id.to_owned()),
        reason: reason.map(str::to_owned),
        computation,
        ..p
    }
}
