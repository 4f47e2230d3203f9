//! Drives messaging through the database, the ledger and notifications.
//!
//! A send is one transaction under the conversation's lock: the message,
//! its hold (`Ledger::apply_in`), the settlement of what an expert's reply
//! answers (captures), its search entry, the expiry job and the recipient's
//! notification (which the live stream delivers) commit together or not at
//! all. The expiry job runs the same way on the job runner's transaction.

use std::sync::Arc;
use std::time::Duration;

use platform::{Clock, Database};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::policy;
use super::store::{self, Video};
use super::video;
use super::{Conversation, Draft, Message, MessagingError, State};
use crate::auth::throttle::RateLimiter;
use crate::bookings::notices::{full_name, low_balance};
use crate::bookings::{Booking, Bookings};
use crate::ledger::{Account, Ledger, LedgerError, Request, MILLIMES_PER_COIN};
use crate::notify::{self, event, jobs, Event, Job, Notice};
use crate::objects::ObjectStore;
use crate::settings::MessagingSettings;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn uuid(id: &str) -> Result<Uuid, MessagingError> {
    Uuid::parse_str(id).map_err(|e| MessagingError::Other(e.into()))
}

/// The expiry job's key (its default one): a reply withdraws it.
fn expiry_key(message_id: &str) -> String {
    Job::ExpireMessage {
        message_id: message_id.to_owned(),
    }
    .default_key()
}

/// The ledger key that settles a message's hold, whichever way: a capture
/// and a release of one message can never both happen.
fn settle_key(message_id: &str) -> String {
    format!("message:{message_id}:settle")
}

#[derive(Clone)]
pub struct Messaging {
    db: Database,
    clock: Arc<dyn Clock>,
    ledger: Ledger,
    bookings: Bookings,
    objects: ObjectStore,
    settings: MessagingSettings,
    /// Below this many spendable coins after a hold, the user is reminded
    /// to top up (0: never), as after a booking.
    low_balance_coins: i64,
    /// Sends per account on this replica.
    limiter: Arc<RateLimiter>,
}

/// An expert's current prices, in coins (`None`: not offered).
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    pub text: Option<i64>,
    pub video: Option<i64>,
}

impl Messaging {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        ledger: Ledger,
        bookings: Bookings,
        objects: ObjectStore,
        settings: MessagingSettings,
    ) -> Self {
        let rate = settings.sends_per_minute;
        Messaging {
            db,
            clock,
            ledger,
            bookings,
            objects,
            settings,
            low_balance_coins: 0,
            limiter: Arc::new(RateLimiter::per_minute(rate, rate)),
        }
    }

    /// Reminds users whose spendable balance a message's hold leaves below
    /// `coins` to top up (`control.notify.low_balance_coins`; 0: never).
    pub fn with_low_balance(mut self, coins: i64) -> Self {
        self.low_balance_coins = coins;
        self
    }

    pub fn settings(&self) -> &MessagingSettings {
        &self.settings
    }

    /// The expert's current prices; `NotFound` unless listed.
    pub async fn prices(
        &self,
        conn: &mut AnyConnection,
        expert_id: &str,
    ) -> Result<Prices, MessagingError> {
        match store::expert_terms(conn, expert_id).await? {
            Some((true, text, video)) => Ok(Prices { text, video }),
            _ => Err(MessagingError::NotFound("expert")),
        }
    }

    /// The user's conversation with a listed expert, opened on first use;
    /// whether it was made now.
    pub async fn open(
        &self,
        user_id: &str,
        expert_id: &str,
    ) -> Result<(Conversation, bool), MessagingError> {
        let mut tx = self.db.begin_write().await?;
        self.prices(&mut tx, expert_id).await?;
        if user_id == expert_id {
            return Err(MessagingError::OwnConversation);
        }
        if store::blocked(&mut tx, user_id, expert_id).await? {
            return Err(MessagingError::Blocked);
        }
        let opened = store::open(&mut tx, user_id, expert_id, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// Conversation `id` if `account_id` takes part in it.
    pub async fn conversation_for(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        account_id: &str,
    ) -> Result<Conversation, MessagingError> {
        store::get(conn, id)
            .await?
            .filter(|c| c.is_participant(account_id))
            .ok_or(MessagingError::NotFound("conversation"))
    }

    /// A message of a conversation `account_id` takes part in.
    pub async fn message_for(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        account_id: &str,
    ) -> Result<(Message, Conversation), MessagingError> {
        let m = store::message_by_id(conn, id)
            .await?
            .ok_or(MessagingError::NotFound("message"))?;
        let c = self
            .conversation_for(conn, &m.conversation_id, account_id)
            .await
            .map_err(|_| MessagingError::NotFound("message"))?;
        Ok((m, c))
    }

    /// Sends `draft` from `sender_id` in conversation `id`; the message, and
    /// whether it is new (a retry with the same Idempotency-Key gets the
    /// first one back, and nothing moves again).
    pub async fn send(
        &self,
        id: &str,
        sender_id: &str,
        draft: Draft,
    ) -> Result<(Message, bool), MessagingError> {
        let mut tx = self.db.begin_write().await?;
        if !store::lock(&mut tx, id).await? {
            return Err(MessagingError::NotFound("conversation"));
        }
        // Read under the lock: a conversation's messages are stamped in the
        // order they commit.
        let now = self.clock.now_ms();
        let c = self.conversation_for(&mut tx, id, sender_id).await?;
        if let Some(key) = &draft.client_key {
            if let Some(sent) = store::by_client_key(&mut tx, sender_id, key).await? {
                // The same key for another message is a client's bug, not a retry.
                let same = sent.conversation_id == c.id
                    && sent.kind == draft.kind
                    && sent.body == draft.body
                    && sent.video_id == draft.video_id;
                if !same {
                    return Err(MessagingError::Conflict(
                        "idempotency_key_reused",
                        "This Idempotency-Key was used for another message",
                    ));
                }
                return Ok((sent, false));
            }
        }
        let from_expert = c.is_expert(sender_id);
        policy::check_draft(&draft, from_expert, self.settings.max_chars)?;
        self.limiter
            .check(sender_id, now)
            .map_err(MessagingError::RateLimited)?;
        if store::blocked(&mut tx, &c.user_id, &c.expert_id).await? {
            return Err(MessagingError::Blocked);
        }
        if let Some(video) = &draft.video_id {
            if !store::use_video(&mut tx, video, sender_id, id, now).await? {
                return Err(MessagingError::invalid(
                    "video_id",
                    "not_ready",
                    "names no complete upload of yours in this conversation",
                ));
            }
        }
        let mut m = Message {
            id: Uuid::now_v7().to_string(),
            conversation_id: c.id.clone(),
            sender_id: sender_id.to_owned(),
            kind: draft.kind,
            body: draft.body,
            video_id: draft.video_id,
            video: None,
            price: 0,
            hold_id: None,
            state: State::Free,
            reply_by: None,
            answered_by: None,
            answers: draft.answers,
            settled_at: None,
            proposal: draft.proposal,
            proposal_booking_id: None,
            hidden: false,
            created_at: now,
        };
        if from_expert {
            if let Some(p) = m.proposal {
                self.bookings
                    .span(p.start, p.minutes)
                    .map_err(|e| MessagingError::invalid("proposal", "invalid", e.to_string()))?;
                if p.start <= now {
                    return Err(MessagingError::invalid(
                        "proposal",
                        "invalid",
                        "start must be in the future",
                    ));
                }
            }
            self.settle_answered(&mut tx, &m, now).await?;
        } else {
            self.hold(&mut tx, &c, &mut m, now).await?;
        }
        store::insert(&mut tx, &m, draft.client_key.as_deref()).await?;
        if !m.body.is_empty() {
            super::search::index(&mut tx, self.db.backend(), &m.id, &m.body).await?;
        }
        let notice = Notice {
            account_id: c.other(sender_id).to_owned(),
            event: Event::MessageReceived {
                message: event::Message {
                    id: m.id.clone(),
                    conversation_id: c.id.clone(),
                    sender_id: sender_id.to_owned(),
                    sender_name: full_name(&mut tx, sender_id).await?,
                    kind: m.kind.as_str().to_owned(),
                    body: m.body.clone(),
                    coins: m.price / MILLIMES_PER_COIN,
                    sent_at: now,
                },
            },
            dedupe_key: format!("message:{}", m.id),
        };
        notify::emit(&mut tx, now, notice).await?;
        // Read back: a video message shows its file's metadata.
        let m = store::message_by_id(&mut tx, &m.id)
            .await?
            .ok_or(MessagingError::NotFound("message"))?;
        tx.commit().await?;
        Ok((m, true))
    }

    /// Prices a user's message at the expert's current price, holds it in
    /// `tx`, and schedules its expiry.
    async fn hold(
        &self,
        tx: &mut Tx,
        c: &Conversation,
        m: &mut Message,
        now: i64,
    ) -> Result<(), MessagingError> {
        let prices = self.prices(tx, &c.expert_id).await?;
        let price = policy::price(m.kind, prices.text, prices.video)?;
        let hold = Request::Hold {
            payer: uuid(&c.user_id)?,
            payee: uuid(&c.expert_id)?,
            amount: price,
            // The message decides when its hold ends (the expiry job).
            expires_at: None,
            reference: format!("message:{}", m.id),
            reason: format!("{} message", m.kind.as_str()),
        };
        let receipt = match self
            .ledger
            .apply_in(tx, &format!("message:{}:hold", m.id), &hold)
            .await?
        {
            Ok(receipt) => receipt,
            Err(LedgerError::InsufficientFunds { .. }) => {
                return Err(MessagingError::InsufficientFunds { price })
            }
            Err(e) => return Err(e.into()),
        };
        let reply_by = now.saturating_add(ms(self.settings.reply_within));
        m.price = price;
        m.hold_id = receipt.hold.map(|h| h.to_string());
        m.state = State::Pending;
        m.reply_by = Some(reply_by);
        let job = Job::ExpireMessage {
            message_id: m.id.clone(),
        };
        jobs::schedule(tx, now, &expiry_key(&m.id), reply_by, &job).await?;
        let wallet = Ledger::balance_in(tx, &Account::Wallet(uuid(&c.user_id)?)).await?;
        low_balance(tx, now, &c.user_id, wallet, self.low_balance_coins).await?;
        Ok(())
    }

    /// Captures what the expert's reply `m` settles (`policy::settles`).
    async fn settle_answered(
        &self,
        tx: &mut Tx,
        m: &Message,
        now: i64,
    ) -> Result<(), MessagingError> {
        let held = store::pending(tx, &m.conversation_id).await?;
        let pending: Vec<_> = held.iter().map(|h| h.pending.clone()).collect();
        let settled = policy::settles(m.kind, m.answers.as_deref(), &pending)?;
        for h in held.iter().filter(|h| settled.contains(&h.pending.id)) {
            let id = &h.pending.id;
            if !store::settle(tx, id, State::Answered, Some(&m.id), now).await? {
                continue;
            }
            let capture = Request::Capture {
                hold: uuid(&h.hold_id)?,
                amount: h.price,
            };
            self.ledger
                .apply_in(tx, &settle_key(id), &capture)
                .await??;
            jobs::cancel(tx, now, &expiry_key(id)).await?;
        }
        Ok(())
    }

    /// Expires message `id` if it is still pending: releases its hold and
    /// tells the user, in `tx` (the job runner's, which records the job done
    /// in it). Nothing when a reply settled it first.
    pub async fn expire(&self, tx: &mut Tx, now: i64, id: &str) -> Result<(), MessagingError> {
        let Some(m) = store::message_by_id(tx, id).await? else {
            return Ok(());
        };
        store::lock(tx, &m.conversation_id).await?;
        if !store::settle(tx, id, State::Expired, None, now).await? {
            return Ok(());
        }
        let hold = m
            .hold_id
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("a pending message without a hold"))?;
        let release = Request::Release { hold: uuid(hold)? };
        self.ledger
            .apply_in(tx, &settle_key(id), &release)
            .await??;
        let c = store::get(tx, &m.conversation_id)
            .await?
            .ok_or(MessagingError::NotFound("conversation"))?;
        let notice = Notice {
            account_id: c.user_id.clone(),
            event: Event::MessageExpired {
                message_id: m.id.clone(),
                conversation_id: c.id.clone(),
                expert_name: full_name(tx, &c.expert_id).await?,
                refunded_coins: m.price / MILLIMES_PER_COIN,
            },
            dedupe_key: format!("message:{id}:expired"),
        };
        notify::emit(tx, now, notice).await?;
        Ok(())
    }

    /// Marks conversation `id` read by `account_id` up to now.
    pub async fn mark_read(&self, id: &str, account_id: &str) -> Result<i64, MessagingError> {
        let now = self.clock.now_ms();
        let mut conn = self.db.pool().acquire().await?;
        let c = self.conversation_for(&mut conn, id, account_id).await?;
        store::mark_read(&mut conn, &c, account_id, now).await?;
        Ok(now)
    }

    /// Accepts the booking proposal of message `id` for its user: books the
    /// slot through the bookings service (the price is held there) and
    /// records the booking on the message.
    pub async fn accept(
        &self,
        id: &str,
        account_id: &str,
        time_zone: &str,
    ) -> Result<Booking, MessagingError> {
        let (m, c) = {
            let mut conn = self.db.pool().acquire().await?;
            self.message_for(&mut conn, id, account_id).await?
        };
        if m.hidden {
            return Err(MessagingError::NotFound("message"));
        }
        if c.user_id != account_id {
            return Err(MessagingError::Conflict(
                "not_yours_to_accept",
                "Only the user of the conversation accepts a proposal",
            ));
        }
        let Some(p) = m.proposal else {
            return Err(MessagingError::Conflict(
                "no_proposal",
                "This message proposes no booking",
            ));
        };
        if m.proposal_booking_id.is_some() {
            return Err(MessagingError::Conflict(
                "proposal_taken",
                "This proposal was already accepted",
            ));
        }
        let booking = self
            .bookings
            .book(account_id, &c.expert_id, (p.start, p.minutes), time_zone)
            .await
            .map_err(MessagingError::Booking)?;
        let mut conn = self.db.pool().acquire().await?;
        if !store::take_proposal(&mut conn, id, &booking.id).await? {
            // The slot can be booked once, so a second acceptance fails in
            // the bookings service before it gets here.
            tracing::warn!(message = %id, booking = %booking.id, "a proposal booked twice");
        }
        Ok(booking)
    }

    /// Starts a resumable upload of a video of `size` bytes and
    /// `duration_ms` in conversation `id`.
    pub async fn start_upload(
        &self,
        id: &str,
        owner_id: &str,
        content_type: &str,
        size: i64,
        duration_ms: i64,
    ) -> Result<Video, MessagingError> {
        if !video::CONTENT_TYPES.contains(&content_type) {
            return Err(MessagingError::invalid(
                "content_type",
                "unsupported",
                "must be video/webm or video/mp4",
            ));
        }
        let max = self.settings.max_video_bytes;
        if !(1..=max).contains(&size) {
            return Err(MessagingError::invalid(
                "size",
                "too_large",
                format!("must be 1 to {max} bytes"),
            ));
        }
        let longest = ms(self.settings.max_video_duration);
        if !(1..=longest).contains(&duration_ms) {
            return Err(MessagingError::invalid(
                "duration_ms",
                "too_long",
                format!("must be 1 to {longest} ms"),
            ));
        }
        let mut conn = self.db.pool().acquire().await?;
        let c = self.conversation_for(&mut conn, id, owner_id).await?;
        if store::blocked(&mut conn, &c.user_id, &c.expert_id).await? {
            return Err(MessagingError::Blocked);
        }
        let video_id = Uuid::now_v7().to_string();
        let ext = if content_type == "video/webm" {
            "webm"
        } else {
            "mp4"
        };
        let v = Video {
            object_key: format!("messages/{}/{video_id}.{ext}", c.id),
            id: video_id,
            conversation_id: c.id,
            owner_id: owner_id.to_owned(),
            content_type: content_type.to_owned(),
            size,
            duration_ms,
            received: 0,
            state: "uploading".to_owned(),
            processing: "original".to_owned(),
        };
        store::insert_video(&mut conn, &v, self.clock.now_ms()).await?;
        Ok(v)
    }

    /// Upload `id` as its owner sees it.
    pub async fn upload(&self, id: &str, owner_id: &str) -> Result<Video, MessagingError> {
        let mut conn = self.db.pool().acquire().await?;
        store::video(&mut conn, id)
            .await?
            .filter(|v| v.owner_id == owner_id)
            .ok_or(MessagingError::NotFound("upload"))
    }

    /// Writes the chunk `bytes` at the place `content_range` names. The chunk
    /// must start where the upload stands (`received`): after an
    /// interruption, the client asks (`upload`) and goes on from there.
    pub async fn put_chunk(
        &self,
        id: &str,
        owner_id: &str,
        content_range: Option<&str>,
        bytes: &[u8],
    ) -> Result<Video, MessagingError> {
        let v = self.upload(id, owner_id).await?;
        if v.state != "uploading" {
            return Err(MessagingError::Conflict(
                "upload_complete",
                "Every byte of this upload is in",
            ));
        }
        let (first, last, total) =
            content_range
                .and_then(video::content_range)
                .ok_or_else(|| {
                    MessagingError::invalid(
                        "content_range",
                        "invalid",
                        "send Content-Range: bytes <first>-<last>/<size>",
                    )
                })?;
        if total != v.size || last - first + 1 != bytes.len() as i64 {
            return Err(MessagingError::invalid(
                "content_range",
                "mismatch",
                "must name the upload's size and this chunk's length",
            ));
        }
        if first != v.received {
            return Err(MessagingError::OffsetMismatch(v.received));
        }
        if first == 0 {
            let needed = video::SNIFF_BYTES.min(v.size as usize);
            if bytes.len() < needed || video::sniff(bytes) != Some(v.content_type.as_str()) {
                return Err(MessagingError::invalid(
                    "file",
                    "unsupported",
                    format!("the first bytes are not those of a {} file", v.content_type),
                ));
            }
        }
        self.objects
            .write_at(&v.object_key, first as u64, bytes)
            .await?;
        let mut conn = self.db.pool().acquire().await?;
        if !store::advance(&mut conn, id, first, last + 1, self.clock.now_ms()).await? {
            let now = store::video(&mut conn, id).await?.map_or(0, |v| v.received);
            return Err(MessagingError::OffsetMismatch(now));
        }
        self.upload(id, owner_id).await
    }

    /// Deletes up to `limit` uploads that no message took within
    /// `upload_ttl` of their last chunk, rows and files; how many.
    pub async fn purge_uploads(&self, limit: i64) -> Result<usize, MessagingError> {
        let before = self
            .clock
            .now_ms()
            .saturating_sub(ms(self.settings.upload_ttl));
        let mut conn = self.db.pool().acquire().await?;
        let mut purged = 0;
        for (id, key) in store::stale_uploads(&mut conn, before, limit).await? {
            // The row goes first: a file without a row is only litter, a row
            // without its file would be an upload that cannot play.
            if store::forget_upload(&mut conn, &id, before).await? {
                self.objects.delete(&key).await?;
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// The video of message `id`, for a participant.
    pub async fn video_of(
        &self,
        id: &str,
        account_id: &str,
    ) -> Result<(Video, ObjectStore), MessagingError> {
        let mut conn = self.db.pool().acquire().await?;
        let (m, _) = self.message_for(&mut conn, id, account_id).await?;
        let video = match (&m.video_id, m.hidden) {
            (Some(v), false) => store::video(&mut conn, v).await?,
            _ => None,
        };
        video
            .map(|v| (v, self.objects.clone()))
            .ok_or(MessagingError::NotFound("video"))
    }
}
