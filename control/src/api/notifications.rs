//! The notification centre over HTTP, and its live stream (Server-Sent
//! Events). Only one's own notifications exist: another's id is 404.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures::{Stream, StreamExt};
use proto::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Caller, StreamCaller};
use super::cursor::{self, Page};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use crate::notify::centre::{self, Filter, Mark, Notification};
use crate::notify::live::Feed;
use crate::state::AppState;

/// Missed notifications are replayed this many at a time.
const REPLAY_PAGE: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `inbox` (default: not archived), `unread`, `archived` or `all`.
    #[param(inline)]
    pub filter: Option<Filter>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let page = Page::parse(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.db.pool().acquire().await?;
    let mut rows = centre::list(
        &mut conn,
        &caller.account_id,
        q.filter.unwrap_or_default(),
        page.after.as_ref(),
        page.fetch(),
    )
    .await?;
    let next_cursor = page.cut(&mut rows, |n| (n.created_ms, &n.view.id));
    Ok(Json(NotificationPage {
        items: rows.into_iter().map(|n| n.view).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Notifications neither read nor archived.
    pub unread: i64,
}

/// How many notifications wait to be read.
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = Problem)))]
pub async fn unread_count(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<UnreadCount>> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(UnreadCount {
        unread: centre::unread_count(&mut conn, &caller.account_id).await?,
    }))
}

/// Marks one of the caller's notifications and reads it back; 404 for
/// anything else, including ids that are not UUIDs.
async fn mark(
    state: &AppState,
    caller: &Caller,
    id: &str,
    how: Mark,
) -> ApiResult<Json<Notification>> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("notification"));
    }
    let mut conn = state.db.pool().acquire().await?;
    if !centre::mark(&mut conn, &caller.account_id, id, how, state.now()).await? {
        return Err(ApiError::not_found("notification"));
    }
    centre::get(&mut conn, id)
        .await?
        .filter(|n| n.account_id == caller.account_id)
        .map(|n| Json(n.view))
        .ok_or_else(|| ApiError::not_found("notification"))
}

/// Mark a notification read (again: no change).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 200, body = Notification), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Notification>> {
    mark(&state, &caller, &id, Mark::Read).await
}

/// Archive a notification: it leaves the inbox, and counts as read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/archive", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 200, body = Notification), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Notification>> {
    mark(&state, &caller, &id, Mark::Archived).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    /// How many notifications were unread.
    pub marked: u64,
}

/// Mark every notification read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Marked), (status = 401, body = Problem)))]
pub async fn read_all(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Marked>> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(Marked {
        marked: centre::mark_all_read(&mut conn, &caller.account_id, state.now()).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// The access token, for clients that cannot send headers (`EventSource`);
    /// read by `StreamCaller`.
    #[serde(rename = "access_token")]
    pub _access_token: Option<String>,
    /// Replay what came after this event id; `Last-Event-ID` wins when both
    /// are given.
    pub after: Option<String>,
}

/// New notifications as they arrive, as Server-Sent Events: `event:
/// notification`, `data:` the notification, `id:` its position. A client
/// reconnecting with `Last-Event-ID` (browsers do) or `?after=` first gets
/// what it missed, oldest first. Sign in with the Authorization header or,
/// from `EventSource`, `?access_token=`. The stream ends when the access
/// token would have expired: reconnect with a fresh one and the last id.
#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "notifications", security(("bearer" = [])),
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "The last event id received")),
    responses((status = 200, content_type = "text/event-stream", description = "The stream"),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn stream(
    State(state): State<AppState>,
    StreamCaller(caller): StreamCaller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.after);
    let replay_from = match last {
        Some(id) => Some(cursor::decode(&id).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_event_id",
                "Unknown event id",
            )
        })?),
        None => None,
    };
    // Subscribed before the replay is read: whatever arrives meanwhile waits
    // in the feed, and what both give is sent once.
    let feed = state
        .live
        .feed(&caller.account_id)
        .await
        .map_err(ApiError::internal)?;
    let lifetime = state.settings.auth.access_token_ttl;
    let events = futures::stream::unfold(
        Streaming {
            state,
            account_id: caller.account_id,
            replay_from,
            pending: VecDeque::new(),
            replayed: HashSet::new(),
            feed,
        },
        Streaming::next,
    )
    .take_until(tokio::time::sleep(lifetime));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One stream: the replay, page by page, then the live feed.
struct Streaming {
    state: AppState,
    account_id: String,
    replay_from: Option<(i64, String)>,
    pending: VecDeque<(String, Notification)>,
    /// Ids replayed, so the feed does not send them again.
    replayed: HashSet<String>,
    feed: Feed,
}

impl Streaming {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some((position, n)) = self.pending.pop_front() {
                self.replayed.insert(n.id.clone());
                return Some((Ok(event(&position, &n)), self));
            }
            if let Some(from) = self.replay_from.take() {
                let page = match self.replay_page(&from).await {
                    Ok(page) => page,
                    Err(e) => {
                        // Ends the stream: the client reconnects from its last id.
                        tracing::warn!(error = %e, "notification replay failed");
                        return None;
                    }
                };
                if page.len() as i64 == REPLAY_PAGE {
                    self.replay_from = page.last().map(|n| (n.created_ms, n.view.id.clone()));
                }
                self.pending.extend(
                    page.into_iter()
                        .map(|n| (cursor::encode(n.created_ms, &n.view.id), n.view)),
                );
                continue;
            }
            // A stream too slow to keep up is cut off (lagged): the client
            // reconnects and replays what it missed.
            let message = self.feed.receiver.recv().await.ok()?;
            if !self.replayed.remove(&message.notification.id) {
                return Some((Ok(event(&message.cursor, &message.notification)), self));
            }
        }
    }

    async fn replay_page(&self, from: &(i64, String)) -> Result<Vec<centre::Stored>, sqlx::Error> {
        let mut conn = self.state.db.pool().acquire().await?;
        centre::after(&mut conn, &self.account_id, from, REPLAY_PAGE).await
    }
}

fn event(position: &str, n: &Notification) -> Event {
    Event::default()
        .id(position)
        .event("notification")
        .data(serde_json::to_string(n).unwrap_or_default())
}
