//! Drives bookings through the database and the ledger.
//!
//! Booking takes the slot first and holds the coins after, in that order:
//! under the expert's lock, a transaction checks the time is free and writes
//! the booking as `reserving`; once committed, the ledger holds the price
//! (idempotency key `booking:<id>:hold`), and a second transaction makes it
//! a request or a confirmed booking, or `failed` (slot free again) when the
//! wallet is short. A request that loses the race for a slot never reaches
//! the ledger, so it cannot leave a hold behind; a process that dies between
//! the two steps leaves a reservation the sweep finishes with the same key,
//! so the hold exists at most once.
//!
//! Ending a booking writes what its hold is owed (release or capture) with
//! the new state, and the ledger is told after the commit (key
//! `booking:<id>:settle`); the sweep retries any not yet done. Deadlines
//! (requests and proposals nobody answered, bookings to settle) are found by
//! the sweep from the database and go through the same transitions under the
//! same lock, so replicas racing on one booking change it once.

use std::sync::Arc;
use std::time::Duration;

use platform::{Clock, Database};
use uuid::Uuid;

use super::policy::Policy;
use super::rules::{self, Action, Context};
use super::{notices, store};
use super::{Booking, BookingError, Settlement, Side, State, MIN_MINUTES};
use crate::calendar::slots::{self, Span};
use crate::calendar::{store as calendar, MINUTE_MS};
use crate::ledger::{Account, Ledger, LedgerError, Request, MILLIMES_PER_COIN};
use crate::settings::BookingSettings;

/// How long a reservation may wait for its hold before the sweep finishes it.
const RESERVATION_GRACE_MS: i64 = 60_000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn uuid(id: &str) -> Result<Uuid, BookingError> {
    Uuid::parse_str(id).map_err(|e| BookingError::Other(e.into()))
}

#[derive(Clone)]
pub struct Bookings {
    pub(super) db: Database,
    pub(super) clock: Arc<dyn Clock>,
    ledger: Ledger,
    settings: BookingSettings,
    /// Below this many spendable coins after a hold, the user is reminded
    /// to top up (0: never).
    low_balance_coins: i64,
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub reservations: usize,
    pub expired: usize,
    pub settled: usize,
}

impl Bookings {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        ledger: Ledger,
        settings: BookingSettings,
    ) -> Self {
        Bookings {
            db,
            clock,
            ledger,
            settings,
            low_balance_coins: 0,
        }
    }

    /// Reminds users whose spendable balance a booking's hold leaves below
    /// `coins` to top up (`control.notify.low_balance_coins`; 0: never).
    pub fn with_low_balance(mut self, coins: i64) -> Self {
        self.low_balance_coins = coins;
        self
    }

    pub fn settings(&self) -> &BookingSettings {
        &self.settings
    }

    /// Minutes before a start when reminders go.
    pub(super) fn reminders(&self) -> Vec<i64> {
        self.settings
            .reminders
            .iter()
            .map(|d| ms(**d) / MINUTE_MS)
            .filter(|m| *m > 0)
            .collect()
    }

    pub(crate) fn context(&self) -> Context {
        Context {
            now: self.clock.now_ms(),
            policy: Policy {
                free_before: ms(self.settings.free_cancellation_before),
                late_charge_bp: self.settings.late_cancel_charge_bp,
            },
            respond_within: ms(self.settings.respond_within),
        }
    }

    /// The span a booking of `minutes` from `start` covers, checked.
    pub fn span(&self, start: i64, minutes: i64) -> Result<Span, BookingError> {
        if !(MIN_MINUTES..=self.settings.max_minutes).contains(&minutes) {
            return Err(BookingError::invalid(
                "minutes",
                format!(
                    "must be between {MIN_MINUTES} and {}",
                    self.settings.max_minutes
                ),
            ));
        }
        if start % MINUTE_MS != 0 {
            return Err(BookingError::invalid("start", "must be a whole minute"));
        }
        Ok((start, start + minutes * MINUTE_MS))
    }

    /// Whether `span` is free in the expert's calendar, leaving `except` out.
    async fn is_free(
        conn: &mut sqlx::AnyConnection,
        expert_id: &str,
        span: Span,
        now: i64,
        except: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let ids = [expert_id.to_owned()];
        let free = calendar::free_many(conn, &ids, now, span, except).await?;
        Ok(free
            .get(expert_id)
            .is_some_and(|free| slots::fits(free, span)))
    }

    /// Books `minutes` of video call with `expert_id` from `start` for
    /// `user_id`, at the expert's current rate.
    pub async fn book(
        &self,
        user_id: &str,
        expert_id: &str,
        (start, minutes): (i64, i64),
        user_time_zone: &str,
    ) -> Result<Booking, BookingError> {
        let span = self.span(start, minutes)?;
        if user_id == expert_id {
            return Err(BookingError::OwnCalendar);
        }
        let now = self.clock.now_ms();
        if start <= now {
            return Err(BookingError::invalid("start", "must be in the future"));
        }
        let mut tx = self.db.begin_write().await?;
        if !store::lock_expert(&mut tx, expert_id).await? {
            return Err(BookingError::ExpertNotBookable);
        }
        let Some((true, price, instant)) = store::expert_terms(&mut tx, expert_id).await? else {
            return Err(BookingError::ExpertNotBookable);
        };
        let rate = price.ok_or(BookingError::CallsNotOffered)?;
        let price = rate
            .checked_mul(minutes)
            .and_then(|coins| coins.checked_mul(MILLIMES_PER_COIN))
            .ok_or_else(|| BookingError::invalid("minutes", "the price is too large"))?;
        if !Self::is_free(&mut tx, expert_id, span, now, None).await? {
            return Err(BookingError::SlotUnavailable);
        }
        let booking = Booking {
            id: Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            expert_id: expert_id.to_owned(),
            start_at: span.0,
            end_at: span.1,
            minutes,
            rate,
            price,
            instant,
            user_time_zone: user_time_zone.to_owned(),
            state: State::Reserving,
            respond_by: None,
            hold_id: None,
            settlement: None,
            settled_at: None,
            ended_by: None,
            reason: None,
            sequence: 0,
            created_at: now,
            updated_at: now,
        };
        store::insert(&mut tx, &booking).await?;
        tx.commit().await?;
        self.finish_reservation(&booking).await
    }

    /// Holds a reservation's price and makes it a request or a confirmed
    /// booking, or fails it when the wallet is short. Safe to repeat.
    async fn finish_reservation(&self, b: &Booking) -> Result<Booking, BookingError> {
        let hold = Request::Hold {
            payer: uuid(&b.user_id)?,
            payee: uuid(&b.expert_id)?,
            amount: b.price,
            // The booking decides when the hold ends, not a deadline.
            expires_at: None,
            reference: format!("booking:{}", b.id),
            reason: "video call booking".to_owned(),
        };
        let outcome = self
            .ledger
            .apply(&format!("booking:{}:hold", b.id), &hold)
            .await;
        let cx = self.context();
        let mut tx = self.db.begin_write().await?;
        store::lock_expert(&mut tx, &b.expert_id).await?;
        match outcome {
            Ok(receipt) => {
                let hold_id = receipt
                    .hold
                    .ok_or_else(|| anyhow::anyhow!("a hold receipt names no hold"))?
                    .to_string();
                let (state, respond_by) = if b.instant {
                    (State::Confirmed, None)
                } else {
                    (State::Requested, Some(cx.deadline(b.start_at)))
                };
                if store::reserved(&mut tx, &b.id, &hold_id, state, respond_by, cx.now).await? {
                    let current = Booking {
                        state,
                        respond_by,
                        hold_id: Some(hold_id),
                        ..b.clone()
                    };
                    notices::reserved(&mut tx, cx.now, &current, &self.reminders()).await?;
                    let wallet = Account::Wallet(uuid(&b.user_id)?);
                    let balance = Ledger::balance_in(&mut tx, &wallet).await?;
                    notices::low_balance(
                        &mut tx,
                        cx.now,
                        &b.user_id,
                        balance,
                        self.low_balance_coins,
                    )
                    .await?;
                }
            }
            Err(LedgerError::InsufficientFunds { .. }) => {
                store::fail(&mut tx, &b.id, cx.now).await?;
                tx.commit().await?;
                return Err(BookingError::InsufficientFunds { price: b.price });
            }
            Err(e) => return Err(e.into()),
        }
        let current = store::get(&mut tx, &b.id)
            .await?
            .ok_or(BookingError::NotFound)?;
        tx.commit().await?;
        Ok(current)
    }

    /// `account_id` (None: the system) does `action` to booking `id`.
    pub async fn act(
        &self,
        id: &str,
        account_id: Option<&str>,
        action: Action,
        reason: Option<&str>,
    ) -> Result<Booking, BookingError> {
        let mut tx = self.db.begin_write().await?;
        let expert_id = store::get(&mut tx, id)
            .await?
            .ok_or(BookingError::NotFound)?
            .expert_id;
        store::lock_expert(&mut tx, &expert_id).await?;
        let b = store::get(&mut tx, id)
            .await?
            .ok_or(BookingError::NotFound)?;
        let side = match account_id {
            Some(account) => b.side_of(account).ok_or(BookingError::NotFound)?,
            None => Side::System,
        };
        let cx = self.context();
        let change = rules::decide(&b, side, action, &cx)?;
        if let Some(span) = change.time {
            if !Self::is_free(&mut tx, &b.expert_id, span, cx.now, Some(&b.id)).await? {
                return Err(BookingError::SlotUnavailable);
            }
        }
        let after = store::apply(&mut tx, &b, &change, reason, cx.now).await?;
        notices::changed(&mut tx, cx.now, &b, &after, side, action, &self.reminders()).await?;
        tx.commit().await?;
        if after.settlement.is_some() {
            // Done again by the sweep if this fails.
            if let Err(e) = self.settle(&after).await {
                tracing::warn!(booking = %after.id, error = %e, "settling a booking's hold failed");
            }
        }
        Ok(after)
    }

    /// Tells the ledger what an ended booking's hold is owed, once.
    pub async fn settle(&self, b: &Booking) -> Result<(), BookingError> {
        let (Some(settlement), None, Some(hold)) = (b.settlement, b.settled_at, &b.hold_id) else {
            return Ok(());
        };
        let hold = uuid(hold)?;
        let request = match settlement {
            Settlement::Release => Request::Release { hold },
            Settlement::Capture(amount) => Request::Capture { hold, amount },
        };
        match self
            .ledger
            .apply(&format!("booking:{}:settle", b.id), &request)
            .await
        {
            Ok(_) => {}
            // Nothing else resolves a booking's hold; should something have,
            // there is nothing left to do, but a human should know.
            Err(LedgerError::HoldResolved { state }) => {
                tracing::error!(booking = %b.id, state = state.as_str(), "booking hold resolved elsewhere")
            }
            Err(e) => return Err(e.into()),
        }
        let mut conn = self.db.pool().acquire().await?;
        store::mark_settled(&mut conn, &b.id, self.clock.now_ms()).await?;
        Ok(())
    }

    /// A booking as `account_id` may see it: a side's or a guest's.
    pub async fn get_for(&self, id: &str, account_id: &str) -> Result<Booking, BookingError> {
        let mut conn = self.db.pool().acquire().await?;
        let b = store::get(&mut conn, id)
            .await?
            .ok_or(BookingError::NotFound)?;
        if b.side_of(account_id).is_some()
            || super::meetings::is_guest(&mut conn, id, account_id).await?
        {
            Ok(b)
        } else {
            Err(BookingError::NotFound)
        }
    }

    /// Finishes what deadlines and interruptions left: stale reservations,
    /// lapsed requests and proposals, bookings to settle, holds not yet
    /// settled. Every replica may run it; each booking changes once.
    pub async fn sweep(&self, limit: i64) -> Result<Swept, BookingError> {
        let now = self.clock.now_ms();
        let due = {
            let mut conn = self.db.pool().acquire().await?;
            store::due(&mut conn, now, now - RESERVATION_GRACE_MS, limit).await?
        };
        let mut swept = Swept::default();
        for id in &due.stale_reservations {
            let b = {
                let mut conn = self.db.pool().acquire().await?;
                store::get(&mut conn, id).await?
            };
            match b {
                Some(b) if b.state == State::Reserving => match self.finish_reservation(&b).await {
                    Ok(_) | Err(BookingError::InsufficientFunds { .. }) => swept.reservations += 1,
                    Err(e) => {
                        tracing::warn!(booking = %id, error = %e, "finishing a reservation failed")
                    }
                },
                _ => {}
            }
        }
        for id in &due.lapsed {
            match self.act(id, None, Action::Expire, None).await {
                Ok(_) => swept.expired += 1,
                // Another replica (or the people involved) got there first.
                Err(BookingError::NotAllowed { .. }) => {}
                Err(e) => tracing::warn!(booking = %id, error = %e, "booking deadline failed"),
            }
        }
        for id in &due.unsettled {
            let b = {
                let mut conn = self.db.pool().acquire().await?;
                store::get(&mut conn, id).await?
            };
            if let Some(b) = b {
                match self.settle(&b).await {
                    Ok(()) => swept.settled += 1,
                    Err(e) => tracing::warn!(booking = %id, error = %e, "settling a hold failed"),
                }
            }
        }
        Ok(swept)
    }
}
