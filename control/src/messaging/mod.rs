//! Messaging between users and experts: one conversation per pair, text and
//! video messages, paid by the user and free for the expert.
//!
//! # Money
//! A user's message costs the expert's current price for its kind
//! (`experts.price_text` / `price_video`, coins), copied onto the message
//! in millimes when it is sent: a later price change never reaches it. The
//! coins are held in the ledger in the transaction that stores the message
//! (`Ledger::apply_in`, key `message:<id>:hold`), so a refused hold stores
//! nothing and a stored message always has its hold.
//!
//! # Which reply settles which message (`policy::settles`)
//! Every message the expert sends in a conversation is a reply, of its kind
//! (text or video):
//! - naming a message (`answers`): it settles exactly that one, which must
//!   be a pending paid message of this conversation of the reply's kind;
//! - naming none: it settles every pending paid message of the reply's kind
//!   in the conversation, oldest first.
//!
//! So a text reply never captures the price of a video question, and a
//! video question waits for a video reply. Settling captures the whole
//! hold (80% to the expert, 20% to the platform, `ledger::split`) in the
//! reply's transaction, key `message:<id>:settle`. A message still pending
//! at `reply_by` (sent + `control.messaging.reply_within`, 7 days by
//! default) is expired by the durable job `message:<id>:expire` (the
//! notification job runner, on the injectable clock): its hold is released
//! under the same key and the user notified. A message leaves `pending`
//! once, by a conditional update in the transaction that moves its money,
//! so racing replies and the expiry job settle it exactly once.
//!
//! `policy` decides without I/O, `store` is the SQL, `search` the
//! per-backend full-text index, `video` the upload rules, and `service`
//! drives it all through the database, the ledger and notifications.

pub mod policy;
pub mod search;
pub mod service;
pub mod store;
pub mod video;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;
use crate::ledger::LedgerError;
use crate::notify::NotifyError;

pub use service::Messaging;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageKind)]
pub enum Kind {
    Text,
    Video,
}

text_enum!(Kind { Text = "text", Video = "video" });

/// Where a message's coins stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageState)]
pub enum State {
    /// Nothing held: the expert's messages.
    Free,
    /// Held until the expert replies or the deadline passes.
    Pending,
    /// Replied to: the price was paid to the expert (80/20).
    Answered,
    /// No reply in time: the coins went back to the user.
    Expired,
}

text_enum!(State { Free = "free", Pending = "pending", Answered = "answered", Expired = "expired" });

#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub user_id: String,
    pub expert_id: String,
    pub user_read_at: i64,
    pub expert_read_at: i64,
    pub last_message_at: i64,
    pub created_at: i64,
}

impl Conversation {
    pub fn is_expert(&self, account_id: &str) -> bool {
        self.expert_id == account_id
    }

    pub fn is_participant(&self, account_id: &str) -> bool {
        self.user_id == account_id || self.expert_id == account_id
    }

    /// The other participant.
    pub fn other(&self, account_id: &str) -> &str {
        if self.user_id == account_id {
            &self.expert_id
        } else {
            &self.user_id
        }
    }

    /// Until when `account_id`'s counterpart has read.
    pub fn read_by_other(&self, account_id: &str) -> i64 {
        if self.user_id == account_id {
            self.expert_read_at
        } else {
            self.user_read_at
        }
    }
}

/// A slot of the expert's offered in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    pub start: i64,
    pub minutes: i64,
}

/// A video message's file, as the message shows it.
#[derive(Debug, Clone)]
pub struct VideoMeta {
    pub content_type: String,
    pub size: i64,
    pub duration_ms: i64,
    /// `original` until the recorder transcodes it.
    pub processing: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub sender_id: String,
    pub kind: Kind,
    pub body: String,
    pub video_id: Option<String>,
    pub video: Option<VideoMeta>,
    /// Millimes held (0 when free).
    pub price: i64,
    pub hold_id: Option<String>,
    pub state: State,
    pub reply_by: Option<i64>,
    pub answered_by: Option<String>,
    pub answers: Option<String>,
    pub settled_at: Option<i64>,
    pub proposal: Option<Proposal>,
    pub proposal_booking_id: Option<String>,
    pub hidden: bool,
    pub created_at: i64,
}

/// What a sender asks to send.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: Kind,
    pub body: String,
    /// A complete upload of the sender's, for a video message.
    pub video_id: Option<String>,
    /// The message this reply answers (experts only).
    pub answers: Option<String>,
    /// A slot offered (experts only).
    pub proposal: Option<Proposal>,
    /// The sender's Idempotency-Key.
    pub client_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// Unknown, or not the caller's to see: the same answer, so ids of other
    /// people's conversations are not confirmed.
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("experts cannot open a conversation with themselves")]
    OwnConversation,
    #[error("this expert does not offer {} messages", .0.as_str())]
    NotOffered(Kind),
    #[error("one of you blocked the other")]
    Blocked,
    #[error("the wallet does not hold the {price} millimes this message costs")]
    InsufficientFunds { price: i64 },
    #[error("{field} {reason}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        reason: String,
    },
    /// A stable code and a title.
    #[error("{1}")]
    Conflict(&'static str, &'static str),
    /// Too many sends: retry after this many milliseconds.
    #[error("too many messages")]
    RateLimited(i64),
    /// A chunk that does not start where the upload stands (this offset).
    #[error("the upload stands at byte {0}")]
    OffsetMismatch(i64),
    #[error(transparent)]
    Booking(crate::bookings::BookingError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Notify(NotifyError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl MessagingError {
    pub fn invalid(field: &'static str, code: &'static str, reason: impl Into<String>) -> Self {
        MessagingError::Invalid {
            field,
            code,
            reason: reason.into(),
        }
    }
}

crate::db_preserving_from!(MessagingError: LedgerError => Ledger, NotifyError => Notify);
