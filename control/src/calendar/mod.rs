//! Experts' calendars: when they work (weekly hours and dated exceptions in
//! their own time zone, a buffer between sessions, a minimum notice and a
//! booking horizon), which slots are free, and the iCalendar feeds people
//! subscribe to from Google Calendar or Outlook.
//!
//! `slots` decides free time without I/O; `store` loads what it needs;
//! `ics` writes iCalendar; `feed` keeps the feeds' secret tokens.

pub mod feed;
pub mod ics;
pub mod slots;
pub mod store;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use proto::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;

pub const MINUTES_PER_DAY: i64 = 1440;
pub const MINUTE_MS: i64 = 60_000;
const MAX_RULES: usize = 70;
const MAX_EXCEPTIONS: usize = 400;
pub(crate) const MAX_BUFFER_MINUTES: i64 = 240;
const MAX_NOTICE_MINUTES: i64 = 30 * MINUTES_PER_DAY;
const MAX_HORIZON_DAYS: i64 = 366;

/// Weekly hours on one ISO weekday (Monday 1 ... Sunday 7), local minutes
/// of the day, end exclusive (1440: the day's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub weekday: i8,
    pub start_minute: i64,
    pub end_minute: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// No weekly hours that day (extra hours still count).
    DayOff,
    /// Hours added that day.
    Extra,
}

text_enum!(ExceptionKind { DayOff = "day_off", Extra = "extra" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// A date in the expert's time zone.
    pub day: Date,
    pub kind: ExceptionKind,
    pub start_minute: i64,
    pub end_minute: i64,
}

/// What decides an expert's free time, apart from their bookings.
#[derive(Debug, Clone)]
pub struct Availability {
    pub time_zone: TimeZone,
    pub rules: Vec<Rule>,
    pub exceptions: Vec<Exception>,
    /// Kept free before and after every booking.
    pub buffer_minutes: i64,
    /// No booking may start sooner than this after now.
    pub min_notice_minutes: i64,
    /// Nor later than this many days after now.
    pub horizon_days: i64,
}

/// A time zone by IANA name; `None` for a name the database does not know.
pub fn zone(name: &str) -> Option<TimeZone> {
    // The empty name would be the system's zone; only explicit names count.
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

/// `HH:MM` (24:00 allowed as an end) to minutes of the day.
pub fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let minute = h * 60 + m;
    ((0..24).contains(&h) && (0..60).contains(&m) || minute == MINUTES_PER_DAY).then_some(minute)
}

pub fn format_hhmm(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Checks limits that span fields; `field` prefixes name each offender.
pub fn check(a: &Availability) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if a.rules.len() > MAX_RULES {
        errors.push(FieldError::new(
            "rules",
            "too_many",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    if a.exceptions.len() > MAX_EXCEPTIONS {
        errors.push(FieldError::new(
            "exceptions",
            "too_many",
            format!("at most {MAX_EXCEPTIONS} exceptions"),
        ));
    }
    for (field, value, max) in [
        ("buffer_minutes", a.buffer_minutes, MAX_BUFFER_MINUTES),
        (
            "min_notice_minutes",
            a.min_notice_minutes,
            MAX_NOTICE_MINUTES,
        ),
        ("horizon_days", a.horizon_days, MAX_HORIZON_DAYS),
    ] {
        let min = i64::from(field == "horizon_days");
        if !(min..=max).contains(&value) {
            errors.push(FieldError::new(
                field,
                "out_of_range",
                format!("must be between {min} and {max}"),
            ));
        }
    }
    errors
}
