//! iCalendar (RFC 5545) text, without I/O: the feeds calendar applications
//! subscribe to, and the single-event invitations attached to emails.
//! Times are UTC (`...Z`), so no VTIMEZONE is needed; each booking keeps one
//! UID and a SEQUENCE that grows with every change, which is how calendar
//! applications know an event moved or was cancelled.

use jiff::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Tentative,
    Confirmed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Tentative => "TENTATIVE",
            Status::Confirmed => "CONFIRMED",
            Status::Cancelled => "CANCELLED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    /// Unique and stable across changes, e.g. `booking-<id>@deepinfluence`.
    pub uid: String,
    pub start: i64,
    pub end: i64,
    /// When it last changed (DTSTAMP).
    pub stamp: i64,
    pub sequence: i64,
    pub status: Status,
    pub summary: String,
    pub description: String,
}

/// How the calendar is meant: a subscribed feed publishes; an emailed
/// invitation requests (or cancels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Publish,
    Request,
    Cancel,
}

fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| "19700101T000000Z".to_owned())
}

/// TEXT values escape backslashes, semicolons, commas and newlines.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded to 75 octets (never inside a character)
/// with CRLF and a space, as RFC 5545 requires.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A VCALENDAR of `events`, named `name` in the subscriber's application.
pub fn calendar(name: &str, method: Method, events: &[Event]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//DeepInfluence//Bookings//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    let method = match method {
        Method::Publish => "PUBLISH",
        Method::Request => "REQUEST",
        Method::Cancel => "CANCEL",
    };
    line(&mut out, &format!("METHOD:{method}"));
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", text(&e.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc(e.stamp)));
        line(&mut out, &format!("DTSTART:{}", utc(e.start)));
        line(&mut out, &format!("DTEND:{}", utc(e.end)));
        line(&mut out, &format!("SEQUENCE:{}", e.sequence));
        line(&mut out, &format!("STATUS:{}", e.status.as_str()));
        line(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
        if !e.description.is_empty() {
            line(&mut out, &format!("DESCRIPTION:{}", text(&e.description)));
        }
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            uid: "booking-1@deepinfluence".into(),
            start: 1_780_000_000_000,
            end: 1_780_001_800_000,
            stamp: 1_779_000_000_000,
            sequence: 2,
            status: Status::Confirmed,
            summary: "Appel vidéo, avec Amira; 30 min".into(),
            description: "ligne 1\nligne 2".into(),
        }
    }

    #[test]
    fn events_are_utc_escaped_and_lines_end_in_crlf() {
        let ics = calendar("Mes rendez-vous", Method::Publish, &[event()]);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("DTSTART:20260528T202640Z\r\n"));
        assert!(ics.contains("DTEND:20260528T205640Z\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\nSTATUS:CONFIRMED\r\n"));
        assert!(ics.contains("SUMMARY:Appel vidéo\\, avec Amira\\; 30 min\r\n"));
        assert!(ics.contains("DESCRIPTION:ligne 1\\nligne 2\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut e = event();
        e.summary = "é".repeat(100);
        let ics = calendar("x", Method::Request, &[e]);
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}", "é".repeat(100))));
    }
}
