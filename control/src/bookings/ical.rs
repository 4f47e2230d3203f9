//! Bookings as iCalendar events: the same event, one UID per booking, in
//! the subscribed feeds and in the invitations attached to emails.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::{Booking, State};
use crate::calendar::ics::{self, Event, Method, Status};

/// Account id to full name.
pub type Names = HashMap<String, String>;

/// The names of everyone on `bookings`.
pub async fn names(conn: &mut AnyConnection, bookings: &[Booking]) -> Result<Names, sqlx::Error> {
    let mut ids: Vec<&str> = bookings
        .iter()
        .flat_map(|b| [b.user_id.as_str(), b.expert_id.as_str()])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = Names::new();
    // A page of a few hundred names at a time keeps within any bind limit.
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, first_name, last_name FROM accounts WHERE id IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for (id, first, last) in q.fetch_all(&mut *conn).await? {
            names.insert(id, format!("{first} {last}"));
        }
    }
    Ok(names)
}

fn status(state: State) -> Status {
    match state {
        State::Confirmed | State::Completed => Status::Confirmed,
        State::Reserving | State::Requested | State::Proposed => Status::Tentative,
        State::Declined | State::Expired | State::Cancelled | State::Failed => Status::Cancelled,
    }
}

/// `b` as `viewer` sees it in their calendar: named after the other side.
pub fn event(b: &Booking, names: &Names, viewer: &str) -> Event {
    let other = if viewer == b.expert_id {
        &b.user_id
    } else {
        &b.expert_id
    };
    let name = names.get(other).map_or("DeepInfluence", String::as_str);
    Event {
        uid: format!("booking-{}@deepinfluence", b.id),
        start: b.start_at,
        end: b.end_at,
        stamp: b.updated_at,
        sequence: b.sequence,
        status: status(b.state),
        summary: format!("Video call with {name}"),
        description: format!(
            "{} min video call on DeepInfluence (booking {}).",
            b.minutes, b.id
        ),
    }
}

/// The `.ics` attachment of a booking email to `viewer`: a request to add
/// (or update) the event, or to cancel it once the booking ended unheld.
pub fn invitation(b: &Booking, names: &Names, viewer: &str) -> String {
    let e = event(b, names, viewer);
    let method = match e.status {
        Status::Cancelled => Method::Cancel,
        Status::Confirmed | Status::Tentative => Method::Request,
    };
    ics::calendar("DeepInfluence", method, &[e])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::policy::tests::booking;

    #[test]
    fn invitations_request_live_bookings_and_cancel_ended_ones() {
        let names: Names = [("u", "Amira Ben Salah"), ("e", "Karim Haddad")]
            .into_iter()
            .map(|(id, name)| (id.to_owned(), name.to_owned()))
            .collect();
        let b = booking(State::Confirmed, 1_780_000_000_000, 15_000);
        let to_user = invitation(&b, &names, "u");
        assert!(to_user.contains("METHOD:REQUEST\r\n"));
        assert!(to_user.contains("SUMMARY:Video call with Karim Haddad\r\n"));
        assert!(to_user.contains("UID:booking-b@deepinfluence\r\n"));
        let to_expert = invitation(&b, &names, "e");
        assert!(to_expert.contains("SUMMARY:Video call with Amira Ben Salah\r\n"));
        let cancelled = Booking {
            state: State::Cancelled,
            sequence: 3,
            ..b
        };
        let ics = invitation(&cancelled, &names, "u");
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(
            ics.contains("STATUS:CANCELLED\r\nSEQUENCE:3")
                || ics.contains("SEQUENCE:3\r\nSTATUS:CANCELLED")
        );
    }
}
