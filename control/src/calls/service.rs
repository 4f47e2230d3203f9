//! Drives calls through the database, the bus and the ledger: room tokens
//! for a booking's parties, the presence consumer, the status pushed while
//! a call runs, and settlement.
//!
//! Settlement is the booking's `confirmed` → `completed` change, made under
//! the expert's lock like every booking change, with the call's settlement
//! written in the same transaction: replicas racing on one call change it
//! once. The ledger is told after the commit with idempotency keys
//! (`booking:<id>:settle` for the hold, `call:<id>:extra:hold` and
//! `call:<id>:extra:capture` beyond it); the tick retries what is not done.

use std::sync::Arc;
use std::time::Duration;

use platform::bus::{Bus, ReadOptions};
use platform::room_token::RoomTokens;
use platform::{Clock, Database};
use proto::room_token::RoomClaims;
use proto::sfu::{Role, Source};
use proto::signal::{CallStatus, CallStatusUpdate, CALL_STATUS_TOPIC};
use proto::PresenceReport;
use uuid::Uuid;

use super::billing::{self, Decision, Moment, Rules, Terms};
use super::{store, CallError, PRESENCE_GROUP, PRESENCE_STREAM};
use crate::bookings::rules::{self, Action};
use crate::bookings::{self, notices, Booking, Bookings, Settlement, Side, State};
use crate::ledger::{Account, Ledger, LedgerError, Request, MILLIMES_PER_COIN};
use crate::settings::CallSettings;

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn uuid(id: &str) -> Result<Uuid, CallError> {
    Uuid::parse_str(id).map_err(|e| CallError::Other(e.into()))
}

/// A room token for one party of a call.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: String,
    pub room: String,
    pub participant: String,
    pub role: Role,
    pub publish: Vec<Source>,
    /// Unix seconds.
    pub expires_at: i64,
    pub signalling_url: String,
}

/// What a tick did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ticked {
    pub statuses: usize,
    pub settled: usize,
}

#[derive(Clone)]
pub struct Calls {
    db: Database,
    clock: Arc<dyn Clock>,
    ledger: Ledger,
    bookings: Bookings,
    bus: Bus,
    tokens: RoomTokens,
    signalling_url: String,
    settings: CallSettings,
}

impl Calls {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        ledger: Ledger,
        bookings: Bookings,
        bus: Bus,
        tokens: RoomTokens,
        signalling_url: String,
        settings: CallSettings,
    ) -> Self {
        Calls {
            db,
            clock,
            ledger,
            bookings,
            bus,
            tokens,
            signalling_url,
            settings,
        }
    }

    pub fn rules(&self) -> Rules {
        let s = &self.settings;
        Rules {
            min_minutes: s.min_minutes,
            overrun: secs(s.overrun),
            warn_minutes: s.warn_minutes,
            no_show_minutes: s.user_no_show_minutes,
            empty_grace: secs(s.empty_grace),
            report_lag: secs(s.report_lag),
        }
    }

    fn terms(b: &Booking) -> Terms {
        Terms {
            rate: b.rate,
            held: b.price,
            start: b.start_at / 1000,
            end: b.end_at / 1000,
        }
    }

    fn now_s(&self) -> i64 {
        self.clock.now_ms().div_euclid(1000)
    }

    /// The window in which a booking's parties may join, Unix seconds.
    pub fn window(&self, b: &Booking) -> (i64, i64) {
        (
            b.start_at / 1000 - secs(self.settings.join_before),
            b.end_at / 1000 + secs(self.settings.overrun),
        )
    }

    /// A room token for `account_id` on booking `id`: its user, its expert
    /// (the host) or a guest, inside the join window of a confirmed booking.
    pub async fn join(&self, id: &str, account_id: &str) -> Result<Grant, CallError> {
        let mut conn = self.db.pool().acquire().await?;
        let b = bookings::store::get(&mut conn, id)
            .await?
            .ok_or(CallError::NotFound)?;
        let role = match b.side_of(account_id) {
            Some(Side::Expert) => Role::Host,
            Some(_) => Role::Participant,
            None if bookings::meetings::is_guest(&mut conn, id, account_id).await? => {
                Role::Participant
            }
            None => return Err(CallError::NotFound),
        };
        let settled = store::get(&mut conn, id)
            .await?
            .is_some_and(|c| c.settled_at.is_some());
        if b.state != State::Confirmed || settled {
            return Err(CallError::NotJoinable(b.state));
        }
        let now = self.now_s();
        let (opens, closes) = self.window(&b);
        if now < opens {
            return Err(CallError::TooEarly { opens_at: opens });
        }
        if now >= closes {
            return Err(CallError::Over);
        }
        let claims = RoomClaims {
            sub: account_id.to_owned(),
            room: b.id.clone(),
            role,
            publish: vec![Source::Camera, Source::Microphone, Source::Screen],
            call: Some(b.id.clone()),
            iat: now,
            exp: closes,
        };
        Ok(Grant {
            token: self.tokens.mint(&claims),
            room: claims.room,
            participant: claims.sub,
            role,
            publish: claims.publish,
            expires_at: closes,
            signalling_url: self.signalling_url.clone(),
        })
    }

    /// Merges one presence report. False when its room is no booking's.
    pub async fn merge(&self, report: &PresenceReport) -> Result<bool, CallError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        if !store::booking_exists(&mut tx, &report.room).await? {
            return Ok(false);
        }
        store::ensure(&mut tx, &report.room, now).await?;
        store::merge(
            &mut tx,
            &report.room,
            &report.participant,
            &report.seconds,
            (report.last, i64::try_from(report.seq).unwrap_or(i64::MAX)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Reads presence reports as `consumer` of the control plane's group,
    /// merges each and acknowledges it once the merge is committed. An
    /// entry whose merge failed is not acknowledged: it comes back.
    pub async fn consume(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<usize, CallError> {
        let opts = ReadOptions {
            group: PRESENCE_GROUP,
            consumer,
            max,
            block,
        };
        let entries = self.bus.read(PRESENCE_STREAM, opts).await?;
        let mut done = Vec::new();
        let mut failed = None;
        for e in &entries {
            match serde_json::from_slice::<PresenceReport>(&e.payload) {
                // Not a report: nothing will ever make it one.
                Err(err) => {
                    tracing::warn!(entry = %e.id, error = %err, "malformed presence report");
                    done.push(e.id.clone());
                }
                Ok(report) => match self.merge(&report).await {
                    Ok(_) => done.push(e.id.clone()),
                    Err(err) => failed = Some(err),
                },
            }
        }
        self.bus.ack(PRESENCE_STREAM, PRESENCE_GROUP, &done).await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(entries.len()),
        }
    }

    /// The host ends the call, inside its join window: it settles once late
    /// reports had their time, and nothing after this second is billed.
    /// Ending it again before it settled changes nothing (the first end
    /// stands); once it settled, the call is over.
    pub async fn end(&self, id: &str, account_id: &str) -> Result<(), CallError> {
        let mut tx = self.db.begin_write().await?;
        let b = bookings::store::get(&mut tx, id)
            .await?
            .ok_or(CallError::NotFound)?;
        match b.side_of(account_id) {
            Some(Side::Expert) => {}
            Some(_) => return Err(CallError::HostOnly),
            None => return Err(CallError::NotFound),
        }
        let settled = store::get(&mut tx, id)
            .await?
            .is_some_and(|c| c.settled_at.is_some());
        if settled || b.state == State::Completed {
            return Err(CallError::Over);
        }
        if b.state != State::Confirmed {
            return Err(CallError::NotJoinable(b.state));
        }
        let now = self.now_s();
        let (opens, closes) = self.window(&b);
        if now < opens {
            return Err(CallError::TooEarly { opens_at: opens });
        }
        // Past the window the call ends by its time anyway.
        if now < closes {
            store::host_ended(&mut tx, id, now, self.clock.now_ms()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn wallet(&self, conn: &mut sqlx::AnyConnection, user: &str) -> Result<i64, CallError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT balance FROM ledger_accounts WHERE id = $1")
                .bind(Account::Wallet(uuid(user)?).id())
                .fetch_optional(conn)
                .await?;
        Ok(row.map_or(0, |(v,)| v))
    }

    /// Settles call `id` if it is over: completes the booking with what its
    /// hold owes and records the settlement, once; then tells the ledger.
    pub async fn settle(&self, id: &str) -> Result<Option<Decision>, CallError> {
        let mut tx = self.db.begin_write().await?;
        let Some(b) = bookings::store::get(&mut tx, id).await? else {
            return Err(CallError::NotFound);
        };
        bookings::store::lock_expert(&mut tx, &b.expert_id).await?;
        let b = bookings::store::get(&mut tx, id)
            .await?
            .ok_or(CallError::NotFound)?;
        if b.state != State::Confirmed {
            return Ok(None);
        }
        let presence = store::presence(&mut tx, id).await?;
        let host_ended = store::get(&mut tx, id).await?.and_then(|c| c.host_ended_at);
        let wallet = self.wallet(&mut tx, &b.user_id).await?;
        let moment = Moment {
            now: self.now_s(),
            expert: &b.expert_id,
            user: &b.user_id,
            host_ended,
            wallet,
        };
        let Some(d) = billing::decide(&Self::terms(&b), &self.rules(), &presence, &moment) else {
            return Ok(None);
        };
        let settlement = if d.from_hold == 0 {
            Settlement::Release
        } else {
            Settlement::Capture(d.from_hold)
        };
        let cx = self.bookings.context();
        let change = rules::decide(&b, Side::System, Action::Settle(settlement), &cx)?;
        let after =
            bookings::store::apply(&mut tx, &b, &change, Some(store::end_name(&d)), cx.now).await?;
        store::record(&mut tx, id, &d, cx.now).await?;
        let outcome = match d.no_show {
            Some(n) => format!("{}_no_show", store::no_show_name(n)),
            None => "completed".to_owned(),
        };
        notices::call_settled(&mut tx, cx.now, &b, &outcome, d.billed_seconds, d.owed)
            .await
            .map_err(bookings::BookingError::from)?;
        tx.commit().await?;
        self.publish_end(&b, &d, wallet).await;
        if let Err(e) = self.bookings.settle(&after).await {
            tracing::warn!(booking = %id, error = %e, "settling a call's hold failed; retried");
        }
        if let Err(e) = self.capture_extra(id).await {
            tracing::warn!(booking = %id, error = %e, "capturing a call's overrun failed; retried");
        }
        Ok(Some(d))
    }

    /// Captures what a settled call owes beyond its hold, from the wallet.
    async fn capture_extra(&self, id: &str) -> Result<(), CallError> {
        let mut conn = self.db.pool().acquire().await?;
        let Some(call) = store::get(&mut conn, id).await? else {
            return Ok(());
        };
        let (Some(extra), None) = (call.extra, call.extra_done_at) else {
            return Ok(());
        };
        let b = bookings::store::get(&mut conn, id)
            .await?
            .ok_or(CallError::NotFound)?;
        drop(conn);
        let mut hold_id = None;
        if extra > 0 {
            let hold = Request::Hold {
                payer: uuid(&b.user_id)?,
                payee: uuid(&b.expert_id)?,
                amount: extra,
                expires_at: None,
                reference: format!("call:{id}"),
                reason: "video call beyond its booking".to_owned(),
            };
            let receipt = self
                .ledger
                .apply(&format!("call:{id}:extra:hold"), &hold)
                .await?;
            let hold = receipt
                .hold
                .ok_or_else(|| anyhow::anyhow!("a hold receipt names no hold"))?;
            match self
                .ledger
                .apply(
                    &format!("call:{id}:extra:capture"),
                    &Request::Capture {
                        hold,
                        amount: extra,
                    },
                )
                .await
            {
                Ok(_) | Err(LedgerError::HoldResolved { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            hold_id = Some(hold.to_string());
        }
        let mut conn = self.db.pool().acquire().await?;
        store::extra_done(&mut conn, id, hold_id.as_deref(), self.clock.now_ms()).await?;
        Ok(())
    }

    /// An administrator refunds `amount` millimes of settled call `id` to
    /// its user, from what the booking's hold captured first, then from the
    /// overrun captured beyond it; each capture's shares go back 80/20 (the
    /// ledger's `refund_split`), so a call refunded in full, in any number
    /// of pieces, returns exactly what it paid. The call's row is locked and
    /// the ledger moves in the transaction that adds to `refunded`, whose
    /// total names the idempotency keys: a refund moves money once.
    pub async fn refund(&self, id: &str, amount: i64, reason: &str) -> Result<(), CallError> {
        let mut tx = self.db.begin_write().await?;
        let call = store::lock(&mut tx, id).await?.ok_or(CallError::NotFound)?;
        let b = bookings::store::get(&mut tx, id)
            .await?
            .ok_or(CallError::NotFound)?;
        let (Some(owed), Some(from_hold), Some(_)) = (call.owed, call.from_hold, call.settled_at)
        else {
            return Err(CallError::NotRefundable("The call is not settled"));
        };
        if owed == 0 {
            return Err(CallError::NotRefundable("Nothing was paid for this call"));
        }
        let refundable = owed - call.refunded;
        if amount > refundable {
            return Err(CallError::OverRefund { refundable });
        }
        // Earlier refunds came from the booking's hold first too.
        let on_hold = amount.min(from_hold - call.refunded.min(from_hold));
        let on_extra = amount - on_hold;
        let mut parts = Vec::new();
        if on_hold > 0 {
            let hold = b
                .hold_id
                .as_deref()
                .ok_or(CallError::NotRefundable("The booking holds no coins"))?;
            parts.push(("hold", uuid(hold)?, on_hold));
        }
        if on_extra > 0 {
            let hold = call
                .extra_hold_id
                .as_deref()
                .filter(|_| call.extra_done_at.is_some())
                .ok_or(CallError::NotRefundable(
                    "What the call owed beyond its hold is not captured yet",
                ))?;
            parts.push(("extra", uuid(hold)?, on_extra));
        }
        for (part, hold, amount) in parts {
            let key = format!("call:{id}:refund:{}:{part}", call.refunded);
            let request = Request::Refund {
                hold,
                amount,
                reason: reason.to_owned(),
            };
            match self.ledger.apply_in(&mut tx, &key, &request).await? {
                Ok(_) => {}
                Err(LedgerError::NotCaptured { .. }) => {
                    return Err(CallError::NotRefundable(
                        "The call's capture is not done yet",
                    ))
                }
                Err(e) => return Err(e.into()),
            }
        }
        store::add_refund(&mut tx, id, amount, reason, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish(&self, update: &CallStatusUpdate) {
        let json = serde_json::to_vec(update).expect("a status serialises");
        if let Err(e) = self.bus.publish(CALL_STATUS_TOPIC, json).await {
            tracing::warn!(room = %update.room, error = %e, "publishing a call status failed");
        }
    }

    /// The ended status: the paying user's first, with their balance once
    /// the hold is settled (what it did not owe back, the overrun paid),
    /// then the room's without it. Each closes the sessions it reaches, so
    /// the user's own comes first.
    async fn publish_end(&self, b: &Booking, d: &Decision, wallet: i64) {
        let status = CallStatus {
            call: b.id.clone(),
            billed_seconds: u32::try_from(d.billed_seconds).unwrap_or(u32::MAX),
            coins_used: d.owed / MILLIMES_PER_COIN,
            balance: (wallet + b.price - d.owed) / MILLIMES_PER_COIN,
            minutes_left: None,
            ended: Some(d.end),
        };
        self.publish(&CallStatusUpdate {
            room: b.id.clone(),
            participant: Some(b.user_id.clone()),
            status: status.clone(),
        })
        .await;
        self.publish(&CallStatusUpdate {
            room: b.id.clone(),
            participant: None,
            status: CallStatus {
                balance: 0,
                ..status
            },
        })
        .await;
    }

    /// Pushes one live call's status: the paying user's in full, the
    /// others' without the user's balance.
    async fn push_status(&self, b: &Booking) -> Result<bool, CallError> {
        let mut conn = self.db.pool().acquire().await?;
        let presence = store::presence(&mut conn, &b.id).await?;
        if presence.is_empty() {
            return Ok(false);
        }
        let wallet = self.wallet(&mut conn, &b.user_id).await?;
        let host_ended = store::get(&mut conn, &b.id)
            .await?
            .and_then(|c| c.host_ended_at);
        drop(conn);
        let (terms, rules) = (Self::terms(b), self.rules());
        // Nothing after the host ended it is billed, nor shown as billed.
        let cutoff = (terms.end + rules.overrun).min(host_ended.unwrap_or(i64::MAX));
        let both = billing::before(
            &billing::overlap(&presence, &b.expert_id, &b.user_id),
            cutoff,
        );
        let s = billing::status(&terms, &rules, both.len(), wallet);
        let status = CallStatus {
            call: b.id.clone(),
            billed_seconds: u32::try_from(s.billed_seconds).unwrap_or(u32::MAX),
            coins_used: s.coins_used,
            balance: wallet / MILLIMES_PER_COIN,
            minutes_left: s.minutes_left.map(|m| u32::try_from(m).unwrap_or(0)),
            ended: None,
        };
        for participant in presence.keys() {
            let mut status = status.clone();
            if *participant != b.user_id {
                status.balance = 0;
                status.minutes_left = None;
            }
            self.publish(&CallStatusUpdate {
                room: b.id.clone(),
                participant: Some(participant.clone()),
                status,
            })
            .await;
        }
        Ok(true)
    }

    /// For every call under way or over and unsettled: settles it if it is
    /// over, else pushes its status; then retries captures not yet done.
    /// Every replica may run it; each call settles once.
    pub async fn tick(&self, limit: i64) -> Result<Ticked, CallError> {
        let now = self.clock.now_ms();
        let opened_before = now + secs(self.settings.join_before) * 1000;
        let (live, extras) = {
            let mut conn = self.db.pool().acquire().await?;
            (
                store::live(&mut conn, opened_before, limit).await?,
                store::extras_due(&mut conn, now, limit).await?,
            )
        };
        let mut ticked = Ticked::default();
        for id in &live {
            match self.settle(id).await {
                Ok(Some(_)) => ticked.settled += 1,
                Ok(None) => {
                    let b = {
                        let mut conn = self.db.pool().acquire().await?;
                        bookings::store::get(&mut conn, id).await?
                    };
                    if let Some(b) = b.filter(|b| b.state == State::Confirmed) {
                        if self.push_status(&b).await? {
                            ticked.statuses += 1;
                        }
                    }
                }
                Err(e) => tracing::warn!(booking = %id, error = %e, "settling a call failed"),
            }
        }
        for id in &extras {
            if let Err(e) = self.capture_extra(id).await {
                tracing::warn!(booking = %id, error = %e, "capturing a call's overrun failed");
            }
        }
        Ok(ticked)
    }
}
