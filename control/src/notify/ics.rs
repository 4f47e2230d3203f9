//! The iCalendar object (RFC 5545) a booking's email carries, so the event
//! lands in Google Calendar, Outlook or any other calendar in one click. One
//! event per booking (its UID), updated by later emails with a higher
//! SEQUENCE: a move changes its time, a cancellation its STATUS. Published
//! (RFC 5546 `PUBLISH`), not a meeting request: we are not a participant
//! that could receive replies. Pure.

use super::event::{Booking, Event};

/// The calendar object for `event`, stamped at `now_ms`, if it is about a
/// booking's time.
pub fn for_event(event: &Event, now_ms: i64) -> Option<String> {
    let (booking, cancelled) = match event {
        Event::BookingConfirmed { booking }
        | Event::BookingReceived { booking }
        | Event::BookingChanged { booking, .. }
        | Event::MeetingInvitation { booking } => (booking, false),
        Event::BookingCancelled { booking, .. } => (booking, true),
        _ => return None,
    };
    Some(calendar(booking, cancelled, now_ms))
}

fn calendar(b: &Booking, cancelled: bool, now_ms: i64) -> String {
    let end = b.starts_at.saturating_add(b.minutes.saturating_mul(60_000));
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//DeepInfluence//Bookings//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:booking-{}@deepinfluence", text(&b.id)),
        // Minutes since 1970: grows with every email about the booking.
        format!("SEQUENCE:{}", now_ms.max(0) / 60_000),
        format!("DTSTAMP:{}", utc(now_ms)),
        format!("DTSTART:{}", utc(b.starts_at)),
        format!("DTEND:{}", utc(end)),
        format!(
            "SUMMARY:{}",
            text(&format!(
                "DeepInfluence: {} – {}",
                b.user_name, b.expert_name
            ))
        ),
        format!(
            "STATUS:{}",
            if cancelled { "CANCELLED" } else { "CONFIRMED" }
        ),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

/// A UTC date-time, `20250330T130000Z`.
fn utc(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| "19700101T000000Z".to_owned())
}

/// TEXT values escape backslashes, semicolons, commas and line breaks.
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// A content line ended by CRLF, folded to lines of at most 75 octets (a
/// continuation starts with a space), never inside a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking() -> Booking {
        Booking {
            id: "b1".into(),
            expert_name: "Sami Trabelsi".into(),
            user_name: "Amira, la curieuse; vraiment".into(),
            starts_at: 1_743_339_600_000,
            minutes: 30,
            time_zone: "Africa/Tunis".into(),
        }
    }

    #[test]
    fn a_confirmed_booking_is_one_utc_event() {
        let ics = for_event(
            &Event::BookingConfirmed { booking: booking() },
            1_743_000_000_000,
        )
        .unwrap();
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("\r\nDTSTART:20250330T130000Z\r\n"));
        assert!(ics.contains("\r\nDTEND:20250330T133000Z\r\n"));
        assert!(ics.contains("\r\nUID:booking-b1@deepinfluence\r\n"));
        assert!(ics.contains("SUMMARY:DeepInfluence: Amira\\, la curieuse\\; vraiment – Sami"));
        assert!(ics.contains("\r\nSTATUS:CONFIRMED\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn a_cancellation_cancels_the_same_event_later_in_sequence() {
        let confirmed = for_event(&Event::BookingConfirmed { booking: booking() }, 60_000).unwrap();
        let cancelled = for_event(
            &Event::BookingCancelled {
                booking: booking(),
                by: "Sami".into(),
                refunded_coins: 0,
            },
            120_000,
        )
        .unwrap();
        assert!(confirmed.contains("SEQUENCE:1\r\n") && cancelled.contains("SEQUENCE:2\r\n"));
        assert!(cancelled.contains("STATUS:CANCELLED"));
        assert!(for_event(&Event::ExpertApproved, 0).is_none());
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let folded = fold(&format!("SUMMARY:{}", "é".repeat(60)));
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{line}");
        }
        assert_eq!(
            folded.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "é".repeat(60))
        );
    }
}
