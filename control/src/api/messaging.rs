//! Messaging over HTTP: conversations, messages (paid, answered, expired),
//! read receipts, search, booking proposals and blocks. Real-time delivery
//! is the notification stream's (`message_received` events).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::Caller;
use super::bookings::{instant, time_zone, BookingView};
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery};
use super::payouts::PageQuery;
use super::views::timestamp;
use crate::bookings::notices::full_name;
use crate::messaging::service::Prices;
use crate::messaging::{
    store, Conversation, Draft, Kind, Message, MessagingError, Proposal, State as MessageState,
};
use crate::search::fold;
use crate::state::AppState;

impl From<MessagingError> for ApiError {
    fn from(e: MessagingError) -> Self {
        let message = e.to_string();
        match e {
            MessagingError::NotFound(what) => ApiError::not_found(what),
            MessagingError::OwnConversation => ApiError::conflict(
                "own_conversation",
                "Experts cannot open a conversation with themselves",
            ),
            MessagingError::NotOffered(_) => ApiError::conflict(
                "not_offered",
                "This expert does not offer this kind of message",
            )
            .detail(message),
            MessagingError::Blocked => ApiError::new(
                StatusCode::FORBIDDEN,
                "blocked",
                "One of you blocked the other: no messages between you",
            ),
            MessagingError::InsufficientFunds { price } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_funds",
                "Your wallet does not hold enough coins for this message",
            )
            .detail(format!("The message costs {price} millimes")),
            MessagingError::Invalid {
                field,
                code,
                reason,
            } => ApiError::validation(vec![FieldError::new(field, code, reason)]),
            MessagingError::Conflict(code, title) => ApiError::conflict(code, title),
            MessagingError::RateLimited(ms) => {
                ApiError::too_many("rate_limited", "Too many messages; wait a moment", ms)
            }
            MessagingError::OffsetMismatch(at) => ApiError::conflict(
                "offset_mismatch",
                "This chunk does not start where the upload stands",
            )
            .detail(format!("The upload stands at byte {at}; send from there")),
            MessagingError::Booking(e) => e.into(),
            MessagingError::Ledger(e) => ApiError::internal(e),
            MessagingError::Notify(e) => ApiError::internal(e),
            MessagingError::Db(e) => ApiError::internal(e),
            MessagingError::Io(e) => ApiError::internal(e),
            MessagingError::Other(e) => ApiError::internal(e),
        }
    }
}

/// An expert's current prices, in coins: what a message sent now costs.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricesView {
    /// Absent when the expert takes no text messages.
    pub text: Option<i64>,
    pub video: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub user_id: String,
    pub expert_id: String,
    /// The other participant's name.
    pub with_name: String,
    /// What the user's next message costs (the expert's current prices,
    /// fixed on a message when it is sent); absent once the expert is no
    /// longer listed.
    pub prices: Option<PricesView>,
    /// How long the expert has to reply to a paid message, in seconds.
    pub reply_within_seconds: i64,
    /// Read receipts: until when each side has read.
    pub read_by_you_at: Option<String>,
    pub read_by_other_at: Option<String>,
    /// The other side's messages the caller has not read.
    pub unread: i64,
    pub last_message_at: String,
    pub created_at: String,
}

fn when(ms: i64) -> Option<String> {
    (ms > 0).then(|| timestamp(ms))
}

async fn conversation_view(
    state: &AppState,
    c: &Conversation,
    viewer: &str,
) -> ApiResult<ConversationView> {
    let mut conn = state.db.pool().acquire().await?;
    let prices = match state.messaging.prices(&mut conn, &c.expert_id).await {
        Ok(Prices { text, video }) => Some(PricesView { text, video }),
        Err(MessagingError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let (yours, other) = if c.is_expert(viewer) {
        (c.expert_read_at, c.user_read_at)
    } else {
        (c.user_read_at, c.expert_read_at)
    };
    let reply_within =
        i64::try_from(state.messaging.settings().reply_within.as_secs()).unwrap_or(i64::MAX);
    Ok(ConversationView {
        id: c.id.clone(),
        user_id: c.user_id.clone(),
        expert_id: c.expert_id.clone(),
        with_name: full_name(&mut conn, c.other(viewer)).await?,
        prices,
        reply_within_seconds: reply_within,
        read_by_you_at: when(yours),
        read_by_other_at: when(other),
        unread: store::unread(&mut conn, c, viewer).await?,
        last_message_at: timestamp(c.last_message_at),
        created_at: timestamp(c.created_at),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoView {
    /// Plays the file (HTTP range requests), for the two participants.
    pub url: String,
    pub content_type: String,
    pub size: i64,
    pub duration_ms: i64,
    /// `original`: served as uploaded; the recorder transcodes later.
    pub processing: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    pub start: String,
    pub minutes: i64,
    /// The booking it became once the user accepted it.
    pub booking_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    pub sender_id: String,
    pub kind: Kind,
    /// Exactly as sent; empty when hidden by moderation.
    pub body: String,
    /// Hidden by an administrator: the body and video are withheld.
    pub hidden: bool,
    pub video: Option<VideoView>,
    /// Millimes held for it when sent (0 for the expert's messages).
    pub price: i64,
    pub state: MessageState,
    /// When a pending message expires unless replied to.
    pub reply_by: Option<String>,
    /// The reply that settled it.
    pub answered_by: Option<String>,
    /// The message this reply named.
    pub answers: Option<String>,
    pub settled_at: Option<String>,
    pub proposal: Option<ProposalView>,
    /// The recipient has read it (read receipt).
    pub read: bool,
    pub created_at: String,
}

fn message_view(m: &Message, c: &Conversation) -> MessageView {
    let read_by_recipient = if c.is_expert(&m.sender_id) {
        c.user_read_at
    } else {
        c.expert_read_at
    };
    MessageView {
        id: m.id.clone(),
        conversation_id: m.conversation_id.clone(),
        sender_id: m.sender_id.clone(),
        kind: m.kind,
        body: if m.hidden {
            String::new()
        } else {
            m.body.clone()
        },
        hidden: m.hidden,
        video: m.video.as_ref().filter(|_| !m.hidden).map(|v| VideoView {
            url: format!("/api/v1/messages/{}/video", m.id),
            content_type: v.content_type.clone(),
            size: v.size,
            duration_ms: v.duration_ms,
            processing: v.processing.clone(),
        }),
        price: m.price,
        state: m.state,
        reply_by: m.reply_by.map(timestamp),
        answered_by: m.answered_by.clone(),
        answers: m.answers.clone(),
        settled_at: m.settled_at.map(timestamp),
        proposal: m.proposal.map(|p| ProposalView {
            start: timestamp(p.start),
            minutes: p.minutes,
            booking_id: m.proposal_booking_id.clone(),
        }),
        read: read_by_recipient >= m.created_at,
        created_at: timestamp(m.created_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    /// A listed expert's account id (from their profile).
    pub expert_id: String,
}

/// Open (or find) the caller's conversation with an expert, from the
/// expert's profile. 201 when made now, 200 when it existed. Carries the
/// expert's current prices: what the next message costs.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "messaging", security(("bearer" = [])),
    request_body = NewConversation,
    responses((status = 201, body = ConversationView), (status = 200, body = ConversationView),
        (status = 403, body = Problem, description = "blocked"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "own_conversation"), (status = 422, body = Problem)))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewConversation>,
) -> ApiResult<(StatusCode, Json<ConversationView>)> {
    let (c, made) = state
        .messaging
        .open(&caller.account_id, &req.expert_id)
        .await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(conversation_view(&state, &c, &caller.account_id).await?),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ConversationView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's conversations, latest activity first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "messaging", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ConversationPage), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ConversationPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut rows = {
        let mut conn = state.db.pool().acquire().await?;
        store::list(
            &mut conn,
            &caller.account_id,
            page.after.as_ref(),
            page.fetch(),
        )
        .await?
    };
    let next_cursor = page.cut(&mut rows, |c| (c.last_message_at, &c.id));
    let mut items = Vec::with_capacity(rows.len());
    for c in &rows {
        items.push(conversation_view(&state, c, &caller.account_id).await?);
    }
    Ok(Json(ConversationPage { items, next_cursor }))
}

/// One of the caller's conversations, with the expert's current prices.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let c = {
        let mut conn = state.db.pool().acquire().await?;
        state
            .messaging
            .conversation_for(&mut conn, &id, &caller.account_id)
            .await?
    };
    Ok(Json(
        conversation_view(&state, &c, &caller.account_id).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Newest first.
    pub items: Vec<MessageView>,
    /// Pass as `cursor` for older messages; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A conversation's messages, newest first, for its two participants.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), PageQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<MessagePage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.db.pool().acquire().await?;
    let c = state
        .messaging
        .conversation_for(&mut conn, &id, &caller.account_id)
        .await?;
    let mut rows = store::page(&mut conn, &c.id, page.after.as_ref(), page.fetch()).await?;
    let next_cursor = page.cut(&mut rows, |m| (m.created_at, &m.id));
    Ok(Json(MessagePage {
        items: rows.iter().map(|m| message_view(m, &c)).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    /// RFC 3339, a whole minute, in one of the expert's free slots.
    pub start: String,
    /// 10 or more.
    pub minutes: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// `text` (default) or `video`.
    pub kind: Option<Kind>,
    /// The text, kept exactly (any Unicode, emojis); a video's caption.
    #[serde(default)]
    pub body: String,
    /// A video message: a complete upload of the sender's in this
    /// conversation (`POST .../uploads`).
    pub video_id: Option<String>,
    /// Experts: the pending message this reply answers. A reply naming one
    /// settles exactly that message (pending, of the reply's kind); naming
    /// none, it settles every pending message of its kind, oldest first.
    pub answers: Option<String>,
    /// Experts: a slot offered; the user accepts it in one step
    /// (`POST /api/v1/messages/{id}/accept`).
    pub proposal: Option<ProposalBody>,
}

/// Send a message. A user's message costs the expert's current price for
/// its kind, fixed now and held from the wallet until the expert replies
/// (captured, 80/20) or `reply_within_seconds` pass (released). Every message
/// of the expert's is a free reply of its kind (text or video): naming a
/// pending message in `answers`, it settles exactly that one, which must
/// be of the same kind; naming none, it settles every pending message of
/// its kind, oldest first. With an `Idempotency-Key` header, a retry
/// returns the first message (200) and moves nothing again.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewMessage,
    responses((status = 201, body = MessageView), (status = 200, body = MessageView, description = "a retry"),
        (status = 402, body = Problem, description = "insufficient_funds: nothing held or stored"),
        (status = 403, body = Problem, description = "blocked"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_offered"), (status = 422, body = Problem),
        (status = 429, body = Problem, description = "rate_limited")))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewMessage>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let client_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if (1..=200).contains(&k.len()) => Some(k.to_owned()),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "An Idempotency-Key is 1 to 200 visible characters",
            ))
        }
    };
    let proposal = match req.proposal {
        Some(p) => Some(Proposal {
            start: instant("proposal.start", &p.start)?,
            minutes: p.minutes,
        }),
        None => None,
    };
    let draft = Draft {
        kind: req.kind.unwrap_or(Kind::Text),
        body: req.body,
        video_id: req.video_id,
        answers: req.answers,
        proposal,
        client_key,
    };
    let (m, created) = state.messaging.send(&id, &caller.account_id, draft).await?;
    let mut conn = state.db.pool().acquire().await?;
    let c = state
        .messaging
        .conversation_for(&mut conn, &id, &caller.account_id)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(message_view(&m, &c))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadReceipt {
    /// Every message up to this time is read by the caller.
    pub read_at: String,
}

/// Mark the conversation read up to now: the other side's messages show
/// `read: true` to them.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ReadReceipt), (status = 404, body = Problem)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReadReceipt>> {
    let at = state.messaging.mark_read(&id, &caller.account_id).await?;
    Ok(Json(ReadReceipt {
        read_at: timestamp(at),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find (each as a prefix, all of them), case and accents
    /// ignored.
    pub q: String,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

/// Search the caller's own conversations, newest first. Hidden messages
/// are not found.
#[utoipa::path(get, path = "/api/v1/messages/search", tag = "messaging", security(("bearer" = [])),
    params(SearchQuery), responses((status = 200, body = MessagePage), (status = 400, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<MessagePage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let words = fold::words(&q.q);
    if words.is_empty() || q.q.chars().count() > 200 {
        return Err(ApiError::invalid_query(
            "q must hold a word or number, in at most 200 characters",
        ));
    }
    let (query, condition) = crate::messaging::search::matching(state.db.backend(), &words);
    let mut conn = state.db.pool().acquire().await?;
    let mut rows = store::search(
        &mut conn,
        (&query, condition),
        &caller.account_id,
        page.after.as_ref(),
        page.fetch(),
    )
    .await?;
    let next_cursor = page.cut(&mut rows, |m| (m.created_at, &m.id));
    let mut items = Vec::with_capacity(rows.len());
    for m in &rows {
        let c = store::get(&mut conn, &m.conversation_id)
            .await?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        items.push(message_view(m, &c));
    }
    Ok(Json(MessagePage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    /// Your IANA time zone, for the booking's notifications (default
    /// Africa/Tunis).
    pub time_zone: Option<String>,
}

/// Accept a message's booking proposal in one step: the slot is booked
/// through the bookings service at the expert's current call price (held
/// from the wallet, confirmed at once or a request, as any booking).
#[utoipa::path(post, path = "/api/v1/messages/{id}/accept", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")), request_body = Accept,
    responses((status = 201, body = BookingView), (status = 402, body = Problem, description = "insufficient_funds"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no_proposal, proposal_taken, not_yours_to_accept, slot_unavailable"),
        (status = 422, body = Problem)))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Accept>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    let zone = time_zone(req.time_zone)?;
    let booking = state
        .messaging
        .accept(&id, &caller.account_id, &zone)
        .await?;
    Ok((StatusCode::CREATED, Json(BookingView::from(&booking))))
}
