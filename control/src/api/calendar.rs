//! Calendars over HTTP: an expert's availability (their own), the free
//! slots anyone may book (in the viewer's time zone), and the private
//! iCalendar feeds.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Caller, OptionalCaller};
use super::error::{ApiError, ApiResult};
use super::experts::Expert_;
use super::extract::{ApiJson, ApiQuery};
use crate::bookings::store::{self as bookings_store, expert_terms};
use crate::calendar::slots::{self, DAY_MS};
use crate::calendar::{
    self, feed, format_hhmm, ics, parse_hhmm, store, zone, Availability, Exception, ExceptionKind,
    Rule, MINUTE_MS,
};
use crate::state::AppState;

/// The widest range one slots request covers (a month view shows six weeks).
const MAX_SLOT_RANGE_DAYS: i64 = 62;
/// Feeds list bookings that ended at most this long ago, and upcoming ones.
const FEED_PAST_DAYS: i64 = 90;
const FEED_MAX_EVENTS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Weekly hours, local to the expert's time zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`, after `start`; `24:00` is the day's end.
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    /// `YYYY-MM-DD` in the expert's time zone.
    pub date: String,
    /// `day_off` (no weekly hours that day) or `extra` (hours added).
    pub kind: ExceptionKind,
    /// `HH:MM`, for `extra` only.
    pub start: Option<String>,
    pub end: Option<String>,
}

/// An expert's availability: replaced whole by `PUT`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    /// IANA name, e.g. `Africa/Tunis`, `Europe/Paris`.
    pub time_zone: String,
    #[serde(default)]
    pub rules: Vec<RuleBody>,
    #[serde(default)]
    pub exceptions: Vec<ExceptionBody>,
    /// Kept free before and after each booking (0 to 240).
    #[serde(default)]
    pub buffer_minutes: i64,
    /// The soonest a booking may start after it is made (0 to 43,200).
    #[serde(default = "default_notice")]
    pub min_notice_minutes: i64,
    /// The furthest ahead a booking may start (1 to 366).
    #[serde(default = "default_horizon")]
    pub horizon_days: i64,
}

fn default_notice() -> i64 {
    60
}

fn default_horizon() -> i64 {
    60
}

fn minutes_of(
    errors: &mut Vec<FieldError>,
    field: String,
    start: Option<&str>,
    end: Option<&str>,
) -> Option<(i64, i64)> {
    let parse = |errors: &mut Vec<FieldError>, name: &str, v: Option<&str>| match v {
        None => {
            errors.push(FieldError::new(
                format!("{field}.{name}"),
                "required",
                "is required",
            ));
            None
        }
        Some(v) => {
            let m = parse_hhmm(v);
            if m.is_none() {
                errors.push(FieldError::new(
                    format!("{field}.{name}"),
                    "invalid",
                    "must be HH:MM",
                ));
            }
            m
        }
    };
    let (s, e) = (parse(errors, "start", start), parse(errors, "end", end));
    let (s, e) = (s?, e?);
    if s >= e || s == calendar::MINUTES_PER_DAY {
        errors.push(FieldError::new(
            format!("{field}.end"),
            "invalid",
            "must be after start",
        ));
        return None;
    }
    Some((s, e))
}

impl AvailabilityBody {
    fn parse(&self) -> ApiResult<Availability> {
        let mut errors = Vec::new();
        let time_zone = zone(&self.time_zone).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "time_zone",
                "invalid",
                "must be an IANA time zone name such as Africa/Tunis",
            ));
            TimeZone::UTC
        });
        let mut rules = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let field = format!("rules[{i}]");
            if let Some((start_minute, end_minute)) =
                minutes_of(&mut errors, field, Some(&r.start), Some(&r.end))
            {
                rules.push(Rule {
                    weekday: WEEKDAYS.iter().position(|d| *d == r.weekday).unwrap_or(0) as i8 + 1,
                    start_minute,
                    end_minute,
                });
            }
        }
        let mut exceptions = Vec::new();
        for (i, x) in self.exceptions.iter().enumerate() {
            let field = format!("exceptions[{i}]");
            let Ok(day) = x.date.parse::<Date>() else {
                errors.push(FieldError::new(
                    format!("{field}.date"),
                    "invalid",
                    "must be YYYY-MM-DD",
                ));
                continue;
            };
            let span = match x.kind {
                ExceptionKind::DayOff if x.start.is_some() || x.end.is_some() => {
                    errors.push(FieldError::new(
                        format!("{field}.start"),
                        "invalid",
                        "a day off has no hours",
                    ));
                    None
                }
                ExceptionKind::DayOff => Some((0, calendar::MINUTES_PER_DAY)),
                ExceptionKind::Extra => {
                    minutes_of(&mut errors, field, x.start.as_deref(), x.end.as_deref())
                }
            };
            if let Some((start_minute, end_minute)) = span {
                exceptions.push(Exception {
                    day,
                    kind: x.kind,
                    start_minute,
                    end_minute,
                });
            }
        }
        let a = Availability {
            time_zone,
            rules,
            exceptions,
            buffer_minutes: self.buffer_minutes,
            min_notice_minutes: self.min_notice_minutes,
            horizon_days: self.horizon_days,
        };
        errors.extend(calendar::check(&a));
        // Identical rows would collide in the table; they mean the same.
        let mut a = a;
        a.rules
            .sort_by_key(|r| (r.weekday, r.start_minute, r.end_minute));
        a.rules.dedup_by_key(|r| (r.weekday, r.start_minute));
        a.exceptions
            .sort_by_key(|x| (x.day, x.kind.as_str(), x.start_minute));
        a.exceptions
            .dedup_by_key(|x| (x.day, x.kind.as_str(), x.start_minute));
        if errors.is_empty() {
            Ok(a)
        } else {
            Err(ApiError::validation(errors))
        }
    }

    fn of(a: &Availability) -> Self {
        AvailabilityBody {
            time_zone: a.time_zone.iana_name().unwrap_or("UTC").to_owned(),
            rules: a
                .rules
                .iter()
                .map(|r| RuleBody {
                    weekday: WEEKDAYS[(r.weekday.clamp(1, 7) - 1) as usize],
                    start: format_hhmm(r.start_minute),
                    end: format_hhmm(r.end_minute),
                })
                .collect(),
            exceptions: a
                .exceptions
                .iter()
                .map(|x| ExceptionBody {
                    date: x.day.to_string(),
                    kind: x.kind,
                    start: (x.kind == ExceptionKind::Extra).then(|| format_hhmm(x.start_minute)),
                    end: (x.kind == ExceptionKind::Extra).then(|| format_hhmm(x.end_minute)),
                })
                .collect(),
            buffer_minutes: a.buffer_minutes,
            min_notice_minutes: a.min_notice_minutes,
            horizon_days: a.horizon_days,
        }
    }
}

/// The expert's own availability; 404 `not_found` until they set one.
#[utoipa::path(get, path = "/api/v1/experts/me/availability", tag = "calendar",
    security(("bearer" = [])),
    responses((status = 200, body = AvailabilityBody), (status = 404, body = Problem)))]
pub async fn get_availability(
    State(state): State<AppState>,
    expert: Expert_,
) -> ApiResult<Json<AvailabilityBody>> {
    let caller = expert.0;
    let mut conn = state.db.pool().acquire().await?;
    let a = store::load(&mut conn, &caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("availability"))?;
    Ok(Json(AvailabilityBody::of(&a)))
}

/// Replaces the expert's weekly hours, exceptions, buffer, notice and
/// horizon. Bookings already made stay.
#[utoipa::path(put, path = "/api/v1/experts/me/availability", tag = "calendar",
    security(("bearer" = [])), request_body = AvailabilityBody,
    responses((status = 200, body = AvailabilityBody), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn put_availability(
    State(state): State<AppState>,
    expert: Expert_,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> ApiResult<Json<AvailabilityBody>> {
    let caller = expert.0;
    let a = body.parse()?;
    let mut tx = state.db.begin_write().await?;
    if expert_terms(&mut tx, &caller.account_id).await?.is_none() {
        return Err(ApiError::conflict(
            "no_expert_profile",
            "Start your expert profile first (PATCH /api/v1/experts/me)",
        ));
    }
    bookings_store::lock_expert(&mut tx, &caller.account_id).await?;
    store::save(&mut tx, &caller.account_id, &a, state.now()).await?;
    tx.commit().await?;
    Ok(Json(AvailabilityBody::of(&a)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SlotsQuery {
    /// A date (`YYYY-MM-DD`, the start of that day in `tz`) or an RFC 3339 time.
    pub from: String,
    /// A date (that whole day included) or an RFC 3339 time (excluded);
    /// at most 62 days after `from`.
    pub to: String,
    /// The viewer's IANA time zone, which times are shown in; default UTC.
    pub tz: Option<String>,
    /// Minutes, 10 or more (default 30).
    pub duration: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Slot {
    /// RFC 3339 in the viewer's time zone.
    pub start: String,
    pub end: String,
    /// The viewer's local date of the start, for day, week and month views.
    pub date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Slots {
    pub expert_id: String,
    pub time_zone: String,
    pub duration: i64,
    pub slots: Vec<Slot>,
}

/// An RFC 3339 time, or the start of a date in `tz` (the end of it when
/// `end_of_day`), as Unix ms.
pub(super) fn moment(name: &str, value: &str, tz: &TimeZone, end_of_day: bool) -> ApiResult<i64> {
    if let Ok(t) = value.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let day = value.parse::<Date>().map_err(|_| {
        ApiError::invalid_query(format!(
            "{name} must be a date (YYYY-MM-DD) or an RFC 3339 time"
        ))
    })?;
    let day = if end_of_day { day.tomorrow() } else { Ok(day) };
    day.and_then(|d| tz.to_zoned_datetime(d.to_datetime(jiff::civil::Time::midnight())))
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| ApiError::invalid_query(format!("{name} is out of range")))
}

/// `ms` in RFC 3339 at its offset in `tz`.
pub(super) fn local(ms: i64, tz: &TimeZone) -> (String, String) {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let zoned = t.to_zoned_datetime(tz.clone());
            (
                t.display_with_offset(zoned.offset()).to_string(),
                zoned.date().to_string(),
            )
        }
        Err(_) => (String::new(), String::new()),
    }
}

/// Free slots of a listed expert between `from` and `to`, in the viewer's
/// time zone.
#[utoipa::path(get, path = "/api/v1/experts/{id}/slots", tag = "calendar", params(SlotsQuery,
    ("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = Slots), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn slots(
    State(state): State<AppState>,
    viewer: OptionalCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SlotsQuery>,
) -> ApiResult<Json<Slots>> {
    let tz_name = q.tz.unwrap_or_else(|| "UTC".to_owned());
    let tz = zone(&tz_name)
        .ok_or_else(|| ApiError::invalid_query("tz must be an IANA time zone name"))?;
    let max = state.bookings.settings().max_minutes;
    let duration = q.duration.unwrap_or(30);
    if !(crate::bookings::MIN_MINUTES..=max).contains(&duration) {
        return Err(ApiError::invalid_query(format!(
            "duration must be between {} and {max} minutes",
            crate::bookings::MIN_MINUTES
        )));
    }
    let from = moment("from", &q.from, &tz, false)?;
    let to = moment("to", &q.to, &tz, true)?;
    if to <= from || to - from > MAX_SLOT_RANGE_DAYS * DAY_MS {
        return Err(ApiError::invalid_query(format!(
            "to must be after from, by at most {MAX_SLOT_RANGE_DAYS} days"
        )));
    }
    let mut conn = state.db.pool().acquire().await?;
    let own = viewer.0.as_ref().is_some_and(|c| c.account_id == id);
    match expert_terms(&mut conn, &id).await? {
        Some((listed, _, _)) if listed || own => {}
        _ => return Err(ApiError::not_found("expert")),
    }
    let free = store::free_many(
        &mut conn,
        std::slice::from_ref(&id),
        state.now(),
        (from, to),
        None,
    )
    .await?
    .remove(&id)
    .unwrap_or_default();
    let step = i64::try_from(state.bookings.settings().slot_step.as_millis())
        .unwrap_or(15 * MINUTE_MS)
        .max(MINUTE_MS);
    let slots = slots::slots(&free, duration * MINUTE_MS, step)
        .into_iter()
        .map(|(s, e)| {
            let (start, date) = local(s, &tz);
            Slot {
                start,
                end: local(e, &tz).0,
                date,
            }
        })
        .collect();
    Ok(Json(Slots {
        expert_id: id,
        time_zone: tz_name,
        duration,
        slots,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Feed {
    /// Subscribe to this in Google Calendar, Outlook or any iCalendar client.
    /// Whoever has it can read your bookings: rotate it if it leaks.
    pub url: String,
    /// The same, for clients that open `webcal:` links.
    pub webcal_url: String,
}

impl Feed {
    fn new(state: &AppState, token: &str) -> Self {
        let url = format!("{}/api/v1/calendar/{token}.ics", state.public_url);
        let webcal_url = format!(
            "webcal://{}",
            url.split_once("://").map_or(url.as_str(), |(_, rest)| rest)
        );
        Feed { url, webcal_url }
    }
}

/// Your private calendar feed's URL, made on first use.
#[utoipa::path(get, path = "/api/v1/calendar/feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = Feed), (status = 401, body = Problem)))]
pub async fn get_feed(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Feed>> {
    let mut tx = state.db.begin_write().await?;
    let token = match feed::current(&mut tx, &state.sealer, &caller.account_id).await? {
        Some(t) => t,
        None => feed::rotate(&mut tx, &state.sealer, &caller.account_id, state.now()).await?,
    };
    tx.commit().await?;
    Ok(Json(Feed::new(&state, &token)))
}

/// A new feed URL; the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/calendar/feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = Feed), (status = 401, body = Problem)))]
pub async fn rotate_feed(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Feed>> {
    let mut tx = state.db.begin_write().await?;
    let token = feed::rotate(&mut tx, &state.sealer, &caller.account_id, state.now()).await?;
    tx.commit().await?;
    Ok(Json(Feed::new(&state, &token)))
}

/// Revokes the feed: its URL stops working; `GET` makes a new one.
#[utoipa::path(delete, path = "/api/v1/calendar/feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn revoke_feed(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    let mut conn = state.db.pool().acquire().await?;
    feed::revoke(&mut conn, &caller.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The feed itself (`<token>.ics`): no sign-in, the token is the key.
#[utoipa::path(get, path = "/api/v1/calendar/{file}", tag = "calendar",
    params(("file" = String, Path, description = "`<token>.ics`")),
    responses((status = 200, content_type = "text/calendar"), (status = 404, body = Problem)))]
pub async fn feed_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let token = file
        .strip_suffix(".ics")
        .ok_or_else(|| ApiError::not_found("calendar"))?;
    let mut conn = state.db.pool().acquire().await?;
    let account = feed::owner(&mut conn, token)
        .await?
        .ok_or_else(|| ApiError::not_found("calendar"))?;
    let since = state.now() - FEED_PAST_DAYS * DAY_MS;
    let bookings = bookings_store::for_feed(&mut conn, &account, since, FEED_MAX_EVENTS).await?;
    let names = crate::bookings::ical::names(&mut conn, &bookings).await?;
    let events: Vec<ics::Event> = bookings
        .iter()
        .map(|b| crate::bookings::ical::event(b, &names, &account))
        .collect();
    let body = ics::calendar("DeepInfluence", ics::Method::Publish, &events);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}
