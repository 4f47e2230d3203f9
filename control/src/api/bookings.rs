//! Bookings over HTTP: booking a call, the answers and changes of either
//! side, histories, and the meeting's guests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use jiff::Timestamp;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::Caller;
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery};
use super::views::timestamp;
use crate::bookings::meetings::{Guest, GuestChange};
use crate::bookings::notices;
use crate::bookings::rules::Action;
use crate::bookings::store::{self, HistoryFilter, Role};
use crate::bookings::{Booking, BookingError, Settlement, Side, State as BookingState};
use crate::state::AppState;

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        let message = e.to_string();
        match e {
            BookingError::NotFound => ApiError::not_found("booking"),
            BookingError::ExpertNotBookable => ApiError::not_found("expert"),
            BookingError::CallsNotOffered => ApiError::conflict(
                "calls_not_offered",
                "This expert does not offer video calls",
            ),
            BookingError::OwnCalendar => {
                ApiError::conflict("own_calendar", "Experts cannot book themselves")
            }
            BookingError::SlotUnavailable => ApiError::conflict(
                "slot_unavailable",
                "This time is not free in the expert's calendar",
            ),
            BookingError::InsufficientFunds { price } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_funds",
                "Your wallet does not hold enough coins for this booking",
            )
            .detail(format!("The booking costs {price} millimes")),
            BookingError::NotAllowed { .. } => {
                ApiError::conflict("invalid_transition", "Not possible in this state")
                    .detail(message)
            }
            BookingError::HostOnly => {
                ApiError::forbidden("Only the expert, who hosts, may do this")
            }
            BookingError::TooLate(_) => {
                ApiError::conflict("too_late", "Too late for this change").detail(message)
            }
            BookingError::Invalid { field, reason } => {
                ApiError::validation(vec![FieldError::new(field, "invalid", reason)])
            }
            BookingError::Ledger(e) => ApiError::internal(e),
            BookingError::Notify(e) => ApiError::internal(e),
            BookingError::Db(e) => ApiError::internal(e),
            BookingError::Other(e) => ApiError::internal(e),
        }
    }
}

/// An RFC 3339 time in a body, as Unix ms.
pub(super) fn instant(field: &'static str, value: &str) -> ApiResult<i64> {
    value
        .parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                field,
                "invalid",
                "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00+01:00",
            )])
        })
}

/// The user's IANA zone for a booking's notices, Africa/Tunis by default.
pub(super) fn time_zone(zone: Option<String>) -> ApiResult<String> {
    let zone = zone.unwrap_or_else(|| notices::DEFAULT_ZONE.to_owned());
    if crate::calendar::zone(&zone).is_none() {
        return Err(ApiError::validation(vec![FieldError::new(
            "time_zone",
            "invalid",
            "must be an IANA time zone name such as Africa/Tunis",
        )]));
    }
    Ok(zone)
}

fn reason(r: Option<String>) -> ApiResult<Option<String>> {
    match r {
        Some(r) if r.chars().count() > 500 => Err(ApiError::validation(vec![FieldError::new(
            "reason",
            "too_long",
            "at most 500 characters",
        )])),
        Some(r) if r.trim().is_empty() => Ok(None),
        r => Ok(r.map(|r| r.trim().to_owned())),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: String,
    pub user_id: String,
    pub expert_id: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    pub minutes: i64,
    /// Coins per minute when booked.
    pub rate: i64,
    /// Millimes held for the booking (1 coin = 500).
    pub price: i64,
    /// Confirmed without the expert's answer.
    pub instant: bool,
    pub state: BookingState,
    /// When the pending answer (the expert's to a request, the user's to a
    /// proposed time) is due.
    pub respond_by: Option<String>,
    /// Who ended it: user, expert or system.
    pub ended_by: Option<Side>,
    pub reason: Option<String>,
    /// Millimes paid to the expert when it ended (a late cancellation or the
    /// call itself); the rest of the price went back to the wallet.
    pub charged: Option<i64>,
    /// Grows with every change (the iCalendar SEQUENCE).
    pub sequence: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Booking> for BookingView {
    fn from(b: &Booking) -> Self {
        BookingView {
            id: b.id.clone(),
            user_id: b.user_id.clone(),
            expert_id: b.expert_id.clone(),
            start: timestamp(b.start_at),
            end: timestamp(b.end_at),
            minutes: b.minutes,
            rate: b.rate,
            price: b.price,
            instant: b.instant,
            state: b.state,
            respond_by: b.respond_by.map(timestamp),
            ended_by: b.ended_by,
            reason: b.reason.clone(),
            charged: b.settlement.map(|s| match s {
                Settlement::Release => 0,
                Settlement::Capture(amount) => amount,
            }),
            sequence: b.sequence,
            created_at: timestamp(b.created_at),
            updated_at: timestamp(b.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingDetail {
    #[serde(flatten)]
    pub booking: BookingView,
    pub guests: Vec<Guest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBooking {
    pub expert_id: String,
    /// RFC 3339, a whole minute, inside one of the expert's free slots.
    pub start: String,
    /// 10 or more.
    pub minutes: i64,
    /// Your IANA time zone, for the times in your notifications (default
    /// Africa/Tunis).
    pub time_zone: Option<String>,
}

/// Books a video call with a listed expert at their current per-minute
/// price; the price is held from the wallet at once. Confirmed at once when
/// the expert allows it, otherwise a request the expert answers.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings", security(("bearer" = [])),
    request_body = NewBooking,
    responses((status = 201, body = BookingView),
              (status = 402, body = Problem, description = "insufficient_funds"),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "slot_unavailable, calls_not_offered, own_calendar"),
              (status = 422, body = Problem)))]
pub async fn book(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewBooking>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    let start = instant("start", &body.start)?;
    let zone = time_zone(body.time_zone)?;
    let b = state
        .bookings
        .book(
            &caller.account_id,
            &body.expert_id,
            (start, body.minutes),
            &zone,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(BookingView::from(&b))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// `user` (booked by you), `expert` (with you as the expert) or `guest`
    /// (you are invited); all three when absent.
    pub role: Option<String>,
    /// `upcoming` (default, soonest first) or `past` (latest first).
    pub when: Option<String>,
    /// Comma-separated states.
    pub state: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPage {
    pub items: Vec<BookingView>,
    pub next_cursor: Option<String>,
}

/// Your bookings, upcoming or past, as user, expert or guest.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings", security(("bearer" = [])),
    params(HistoryQuery),
    responses((status = 200, body = BookingPage), (status = 400, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<BookingPage>> {
    let bad = ApiError::invalid_query;
    let role = match q.role.as_deref() {
        None => None,
        Some("user") => Some(Role::User),
        Some("expert") => Some(Role::Expert),
        Some("guest") => Some(Role::Guest),
        Some(_) => return Err(bad("role is user, expert or guest")),
    };
    let upcoming = match q.when.as_deref() {
        None | Some("upcoming") => true,
        Some("past") => false,
        Some(_) => return Err(bad("when is upcoming or past")),
    };
    let states = q
        .state
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|s| BookingState::parse(s.trim()).ok_or_else(|| bad("unknown state")))
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.db.pool().acquire().await?;
    let mut rows = store::history(
        &mut conn,
        &HistoryFilter {
            account_id: &caller.account_id,
            role,
            upcoming,
            now: state.now(),
            states,
            after: page.after.clone(),
            fetch: page.fetch(),
        },
    )
    .await?;
    let next_cursor = page.cut(&mut rows, |b| (b.start_at, b.id.as_str()));
    Ok(Json(BookingPage {
        items: rows.iter().map(BookingView::from).collect(),
        next_cursor,
    }))
}

/// One booking, to its user, its expert and its guests.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BookingDetail), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BookingDetail>> {
    let b = state.bookings.get_for(&id, &caller.account_id).await?;
    Ok(Json(BookingDetail {
        booking: BookingView::from(&b),
        guests: state.bookings.guests(&id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// `decline`, `cancel`: shown to the other side; up to 500 characters.
    pub reason: Option<String>,
    /// `propose`, `reschedule`: the new start (RFC 3339, a whole minute);
    /// the duration and price stay.
    pub start: Option<String>,
}

/// What one side does to a booking (`{action}`):
/// - `confirm` (expert): a request becomes a confirmed booking;
/// - `decline` (expert): the request ends, the coins go back;
/// - `propose` (expert): another time instead (`start`), which the user may
///   accept until the request's deadline;
/// - `accept` (user): the proposed time is confirmed;
/// - `cancel` (either): free for the user until the policy's window before
///   the start, then a share of the price is charged; the expert's
///   cancellation always refunds in full;
/// - `reschedule` (either): another free time (`start`); users only while
///   cancelling would be free.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/{action}", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path),
           ("action" = String, Path, description = "confirm, decline, propose, accept, cancel or reschedule")),
    request_body = ActionBody,
    responses((status = 200, body = BookingView), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "invalid_transition, slot_unavailable, too_late"),
              (status = 422, body = Problem)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<Json<BookingView>> {
    let action = match action.as_str() {
        "confirm" => Action::Confirm,
        "decline" => Action::Decline,
        "accept" => Action::Accept,
        "cancel" => Action::Cancel,
        "propose" | "reschedule" => {
            let start = body.start.as_deref().ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("start", "required", "is required")])
            })?;
            let start = instant("start", start)?;
            let b = state.bookings.get_for(&id, &caller.account_id).await?;
            let span = state.bookings.span(start, b.minutes)?;
            if action == "propose" {
                Action::Propose(span)
            } else {
                Action::Reschedule(span)
            }
        }
        _ => return Err(ApiError::not_found("route")),
    };
    let why = reason(body.reason)?;
    let b = state
        .bookings
        .act(&id, Some(&caller.account_id), action, why.as_deref())
        .await?;
    Ok(Json(BookingView::from(&b)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    pub account_id: String,
}

/// Either side invites someone to the booking's meeting.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/guests", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = Invitee,
    responses((status = 200, body = Vec<Guest>), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Invitee>,
) -> ApiResult<Json<Vec<Guest>>> {
    state
        .bookings
        .invite(&id, &caller.account_id, &body.account_id)
        .await?;
    Ok(Json(state.bookings.guests(&id).await?))
}

/// The host (the expert) removes a guest.
#[utoipa::path(delete, path = "/api/v1/bookings/{id}/guests/{account_id}", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_guest(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, guest)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .bookings
        .change_guest(&id, &caller.account_id, &guest, GuestChange::Remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub accept: bool,
}

/// A guest accepts or declines their invitation.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/invitation", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = Answer,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Answer>,
) -> ApiResult<StatusCode> {
    state
        .bookings
        .change_guest(
            &id,
            &caller.account_id,
            &caller.account_id,
            GuestChange::Answer(body.accept),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
