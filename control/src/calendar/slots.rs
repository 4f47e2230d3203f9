//! Free time, without I/O: an expert's weekly hours and exceptions, read as
//! wall-clock times in their own zone, become instants day by day (so a rule
//! "Sunday 09:00-12:00" stays at 09:00 local across a daylight-saving
//! change), minus their bookings widened by the buffer, within the minimum
//! notice and the horizon. Everything after the zone conversion is spans of
//! Unix milliseconds, half-open.
//!
//! A local time that does not exist (inside a spring-forward gap) is read
//! with the offset before the gap, i.e. moved forward by the gap, as RFC 5545
//! reads such times; a repeated one (autumn) is its first occurrence.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::{Availability, ExceptionKind, MINUTES_PER_DAY, MINUTE_MS};

/// `[start, end)` in Unix milliseconds.
pub type Span = (i64, i64);

pub const DAY_MS: i64 = MINUTES_PER_DAY * MINUTE_MS;

/// The instant of `minute` (0 to 1440) on local `day` in `tz`.
fn instant(tz: &TimeZone, day: Date, minute: i64) -> Option<i64> {
    let (day, minute) = if minute >= MINUTES_PER_DAY {
        (day.tomorrow().ok()?, 0)
    } else {
        (day, minute)
    };
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    let zoned = tz.to_zoned_datetime(day.to_datetime(time)).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The local date at instant `at` in `tz`.
pub fn local_date(tz: &TimeZone, at: i64) -> Option<Date> {
    Some(
        Timestamp::from_millisecond(at)
            .ok()?
            .to_zoned_datetime(tz.clone())
            .date(),
    )
}

/// Sorts spans and joins those that overlap or touch.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|(s, e)| s < e);
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `open` minus `blocked`, both sorted and disjoint.
fn subtract(open: &[Span], blocked: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(mut s, e) in open {
        for &(bs, be) in blocked {
            if be <= s || bs >= e {
                continue;
            }
            if bs > s {
                out.push((s, bs));
            }
            s = s.max(be);
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

/// The expert's working hours overlapping `[from, to)`, as merged spans.
pub fn open_windows(a: &Availability, from: i64, to: i64) -> Vec<Span> {
    let tz = &a.time_zone;
    let (Some(mut day), Some(last)) = (local_date(tz, from), local_date(tz, to)) else {
        return Vec::new();
    };
    if from >= to {
        return Vec::new();
    }
    let mut spans = Vec::new();
    loop {
        let on_day = |kind| {
            a.exceptions
                .iter()
                .filter(move |x| x.day == day && x.kind == kind)
        };
        let off = on_day(ExceptionKind::DayOff).next().is_some();
        let weekday = day.weekday().to_monday_one_offset();
        let weekly = a
            .rules
            .iter()
            .filter(|r| !off && r.weekday == weekday)
            .map(|r| (r.start_minute, r.end_minute));
        let extra = on_day(ExceptionKind::Extra).map(|x| (x.start_minute, x.end_minute));
        for (start, end) in weekly.chain(extra) {
            if let (Some(s), Some(e)) = (instant(tz, day, start), instant(tz, day, end)) {
                spans.push((s.max(from), e.min(to)));
            }
        }
        if day >= last {
            break;
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    merge(spans)
}

/// Free time in `[from, to)` at `now`: working hours from the minimum notice
/// to the horizon, minus `busy` (bookings) widened by the buffer each side.
pub fn free(a: &Availability, busy: &[Span], now: i64, from: i64, to: i64) -> Vec<Span> {
    let from = from.max(now.saturating_add(a.min_notice_minutes.saturating_mul(MINUTE_MS)));
    let to = to.min(now.saturating_add(a.horizon_days.saturating_mul(DAY_MS)));
    if from >= to {
        return Vec::new();
    }
    let open = open_windows(a, from, to);
    let buffer = a.buffer_minutes.saturating_mul(MINUTE_MS);
    let blocked = merge(
        busy.iter()
            .map(|&(s, e)| (s.saturating_sub(buffer), e.saturating_add(buffer)))
            .collect(),
    );
    subtract(&open, &blocked)
}

/// Slots of `duration` starting every `step` from the start of each free
/// span, as long as they fit in it.
pub fn slots(free: &[Span], duration: i64, step: i64) -> Vec<Span> {
    let mut out = Vec::new();
    if duration <= 0 || step <= 0 {
        return out;
    }
    for &(s, e) in free {
        let mut t = s;
        while t.saturating_add(duration) <= e {
            out.push((t, t + duration));
            t += step;
        }
    }
    out
}

/// Whether `span` lies inside one free span.
pub fn fits(free: &[Span], span: Span) -> bool {
    free.iter().any(|&(s, e)| s <= span.0 && span.1 <= e)
}

/// Whether some free span is at least `duration` long.
pub fn has_room(free: &[Span], duration: i64) -> bool {
    free.iter().any(|&(s, e)| e - s >= duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{zone, Exception, Rule};

    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn rule(weekday: i8, start: &str, end: &str) -> Rule {
        Rule {
            weekday,
            start_minute: crate::calendar::parse_hhmm(start).unwrap(),
            end_minute: crate::calendar::parse_hhmm(end).unwrap(),
        }
    }

    fn availability(tz: &str, rules: Vec<Rule>) -> Availability {
        Availability {
            time_zone: zone(tz).unwrap(),
            rules,
            exceptions: Vec::new(),
            buffer_minutes: 0,
            min_notice_minutes: 0,
            horizon_days: 365,
        }
    }

    fn spans(list: &[(&str, &str)]) -> Vec<Span> {
        list.iter().map(|(s, e)| (at(s), at(e))).collect()
    }

    #[test]
    fn weekly_hours_keep_their_local_time_across_the_spring_change_in_paris() {
        // Saturday and Sunday 09:00-12:00 in Paris; clocks go forward on
        // Sunday 29 March 2026 at 02:00 (UTC+1 to UTC+2).
        let a = availability(
            "Europe/Paris",
            vec![rule(6, "09:00", "12:00"), rule(7, "09:00", "12:00")],
        );
        let now = at("2026-03-01T00:00:00Z");
        let free = free(
            &a,
            &[],
            now,
            at("2026-03-28T00:00:00Z"),
            at("2026-03-30T00:00:00Z"),
        );
        assert_eq!(
            free,
            spans(&[
                ("2026-03-28T08:00:00Z", "2026-03-28T11:00:00Z"),
                ("2026-03-29T07:00:00Z", "2026-03-29T10:00:00Z"),
            ])
        );
    }

    #[test]
    fn hours_spanning_the_change_are_as_long_as_the_clock_says() {
        // 01:00-04:00 local: two real hours the night clocks go forward, four
        // the night they go back.
        let mut a = availability("Europe/Paris", vec![rule(7, "01:00", "04:00")]);
        a.horizon_days = 366;
        let now = at("2026-03-01T00:00:00Z");
        let spring = free(
            &a,
            &[],
            now,
            at("2026-03-29T00:00:00Z"),
            at("2026-03-30T00:00:00Z"),
        );
        assert_eq!(
            spring,
            spans(&[("2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z")])
        );
        let autumn = free(
            &a,
            &[],
            now,
            at("2026-10-24T12:00:00Z"),
            at("2026-10-26T00:00:00Z"),
        );
        assert_eq!(
            autumn,
            spans(&[("2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z")])
        );
        // 02:30 does not exist in spring: read as 03:30 (RFC 5545).
        let gap = availability("Europe/Paris", vec![rule(7, "02:30", "05:00")]);
        let w = open_windows(&gap, at("2026-03-29T00:00:00Z"), at("2026-03-30T00:00:00Z"));
        assert_eq!(
            w,
            spans(&[("2026-03-29T01:30:00Z", "2026-03-29T03:00:00Z")])
        );
    }

    #[test]
    fn new_york_hours_move_in_utc_when_clocks_fall_back() {
        // Weekdays 09:00-17:00; New York leaves daylight time on Sunday
        // 1 November 2026 (UTC-4 to UTC-5).
        let a = availability(
            "America/New_York",
            (1..=5).map(|d| rule(d, "09:00", "17:00")).collect(),
        );
        let now = at("2026-10-01T00:00:00Z");
        let free = free(
            &a,
            &[],
            now,
            at("2026-10-30T00:00:00Z"),
            at("2026-11-03T00:00:00Z"),
        );
        assert_eq!(
            free,
            spans(&[
                ("2026-10-30T13:00:00Z", "2026-10-30T21:00:00Z"),
                ("2026-11-02T14:00:00Z", "2026-11-02T22:00:00Z"),
            ])
        );
    }

    #[test]
    fn days_off_remove_weekly_hours_and_extra_hours_add_to_them() {
        let mut a = availability("Africa/Tunis", vec![rule(1, "09:00", "12:00")]);
        a.exceptions = vec![
            Exception {
                day: date("2026-06-01"),
                kind: ExceptionKind::DayOff,
                start_minute: 0,
                end_minute: 1440,
            },
            Exception {
                day: date("2026-06-01"),
                kind: ExceptionKind::Extra,
                start_minute: 20 * 60,
                end_minute: 1440,
            },
            Exception {
                day: date("2026-06-08"),
                kind: ExceptionKind::Extra,
                start_minute: 11 * 60,
                end_minute: 14 * 60,
            },
        ];
        let now = at("2026-05-01T00:00:00Z");
        let free = free(
            &a,
            &[],
            now,
            at("2026-06-01T00:00:00Z"),
            at("2026-06-09T00:00:00Z"),
        );
        // Tunis is UTC+1 all year; overlapping hours merge; 24:00 is midnight.
        assert_eq!(
            free,
            spans(&[
                ("2026-06-01T19:00:00Z", "2026-06-01T23:00:00Z"),
                ("2026-06-08T08:00:00Z", "2026-06-08T13:00:00Z"),
            ])
        );
    }

    #[test]
    fn bookings_with_their_buffer_notice_and_horizon_narrow_free_time() {
        let mut a = availability("UTC", (1..=7).map(|d| rule(d, "08:00", "18:00")).collect());
        a.buffer_minutes = 15;
        a.min_notice_minutes = 120;
        a.horizon_days = 2;
        let now = at("2026-06-01T07:00:00Z");
        let busy = spans(&[("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z")]);
        let free = free(
            &a,
            &busy,
            now,
            at("2026-06-01T00:00:00Z"),
            at("2026-06-10T00:00:00Z"),
        );
        assert_eq!(
            free,
            spans(&[
                ("2026-06-01T09:00:00Z", "2026-06-01T11:45:00Z"),
                ("2026-06-01T13:15:00Z", "2026-06-01T18:00:00Z"),
                // The horizon ends on 3 June at 07:00, before its hours.
                ("2026-06-02T08:00:00Z", "2026-06-02T18:00:00Z"),
            ])
        );
        assert!(fits(
            &free,
            (at("2026-06-01T13:15:00Z"), at("2026-06-01T14:00:00Z"))
        ));
        assert!(!fits(
            &free,
            (at("2026-06-01T11:30:00Z"), at("2026-06-01T12:00:00Z"))
        ));
        assert!(has_room(&free, 60 * MINUTE_MS));
        assert!(!has_room(&free[..1], 166 * MINUTE_MS));
    }

    #[test]
    fn slots_step_through_each_free_span_and_fit_in_it() {
        let free = spans(&[
            ("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z"),
            ("2026-06-01T11:10:00Z", "2026-06-01T11:30:00Z"),
        ]);
        let s = slots(&free, 30 * MINUTE_MS, 15 * MINUTE_MS);
        assert_eq!(
            s,
            spans(&[
                ("2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z"),
                ("2026-06-01T09:15:00Z", "2026-06-01T09:45:00Z"),
                ("2026-06-01T09:30:00Z", "2026-06-01T10:00:00Z"),
            ])
        );
        assert_eq!(slots(&free, 20 * MINUTE_MS, 15 * MINUTE_MS).len(), 4);
        assert!(slots(&free, 0, 1).is_empty());
    }

    #[test]
    fn empty_or_reversed_ranges_have_no_free_time() {
        let a = availability("UTC", vec![rule(1, "00:00", "24:00")]);
        let t = at("2026-06-01T00:00:00Z");
        assert!(free(&a, &[], t, t + DAY_MS, t).is_empty());
        assert!(open_windows(&a, t, t).is_empty());
    }
}
