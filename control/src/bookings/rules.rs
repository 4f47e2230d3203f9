//! Who may do what to a booking in which state, and what follows, without
//! I/O. The service applies a `Change` under the expert's lock: it checks a
//! new time is free, writes the state, and settles the hold after commit.

use super::policy::Policy;
use super::{Booking, BookingError, Settlement, Side, State};
use crate::calendar::slots::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Decline,
    /// The expert offers this time instead.
    Propose(Span),
    /// The user takes the proposed time.
    Accept,
    Cancel,
    Reschedule(Span),
    /// A request or proposal nobody answered in time.
    Expire,
    /// A confirmed booking's call ended; calls decided what its hold owes
    /// from the presence of both sides.
    Settle(Settlement),
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Confirm => "confirmed",
            Action::Decline => "declined",
            Action::Propose(_) => "answered with another time",
            Action::Accept => "accepted",
            Action::Cancel => "cancelled",
            Action::Reschedule(_) => "rescheduled",
            Action::Expire => "expired",
            Action::Settle(_) => "settled",
        }
    }
}

/// Deadlines and policy in force.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now: i64,
    pub policy: Policy,
    /// How long the other side has to answer a request or a proposal.
    pub respond_within: i64,
}

impl Context {
    /// When an answer is due for a booking starting at `start`: never after
    /// the start itself.
    pub fn deadline(&self, start: i64) -> i64 {
        self.now.saturating_add(self.respond_within).min(start)
    }
}

/// What an action does to a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub state: State,
    /// The booking moves here; the time must be free.
    pub time: Option<Span>,
    pub respond_by: Option<i64>,
    pub settlement: Option<Settlement>,
    pub ended_by: Option<Side>,
    /// Calendar clients must see it (iCalendar SEQUENCE).
    pub bump: bool,
}

pub fn decide(
    b: &Booking,
    side: Side,
    action: Action,
    cx: &Context,
) -> Result<Change, BookingError> {
    use State::*;
    let keep = Change {
        state: b.state,
        time: None,
        respond_by: b.respond_by,
        settlement: None,
        ended_by: None,
        bump: true,
    };
    let end = |state, settlement, by| Change {
        state,
        respond_by: None,
        settlement: Some(settlement),
        ended_by: Some(by),
        ..keep.clone()
    };
    let future = |span: Span| {
        if span.0 <= cx.now {
            Err(BookingError::invalid("start", "must be in the future"))
        } else {
            Ok(())
        }
    };
    match (b.state, side, action) {
        (Requested, Side::Expert, Action::Confirm) | (Proposed, Side::User, Action::Accept) => {
            Ok(Change {
                state: Confirmed,
                respond_by: None,
                ..keep
            })
        }
        (Requested, Side::Expert, Action::Decline) => Ok(end(Declined, Settlement::Release, side)),
        (Requested, Side::Expert, Action::Propose(span)) => {
            future(span)?;
            Ok(Change {
                state: Proposed,
                time: Some(span),
                respond_by: Some(cx.deadline(span.0)),
                ..keep
            })
        }
        (Requested | Proposed | Confirmed, Side::User | Side::Expert, Action::Cancel) => Ok(end(
            Cancelled,
            cx.policy.cancellation(b, side, cx.now),
            side,
        )),
        (Requested | Confirmed, Side::User | Side::Expert, Action::Reschedule(span)) => {
            future(span)?;
            cx.policy.may_reschedule(b, side, cx.now)?;
            Ok(Change {
                time: Some(span),
                // A request keeps its deadline, unless the new start is sooner.
                respond_by: b.respond_by.map(|d| d.min(span.0)),
                ..keep
            })
        }
        (Requested | Proposed, Side::System, Action::Expire)
            if b.respond_by.is_some_and(|d| d <= cx.now) =>
        {
            Ok(end(Expired, Settlement::Release, side))
        }
        (Confirmed, Side::System, Action::Settle(settlement)) => Ok(Change {
            bump: false,
            ..end(Completed, settlement, side)
        }),
        (state, side, action) => Err(BookingError::NotAllowed {
            state,
            side,
            action: action.name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::policy::tests::booking;

    const HOUR: i64 = 3_600_000;

    fn cx(now: i64) -> Context {
        Context {
            now,
            policy: Policy {
                free_before: 24 * HOUR,
                late_charge_bp: 5000,
            },
            respond_within: 24 * HOUR,
        }
    }

    #[test]
    fn a_request_is_confirmed_declined_or_answered_by_the_expert_only() {
        let b = booking(State::Requested, 100 * HOUR, 10_000);
        let c = decide(&b, Side::Expert, Action::Confirm, &cx(0)).unwrap();
        assert_eq!(
            (c.state, c.settlement, c.bump),
            (State::Confirmed, None, true)
        );
        assert!(matches!(
            decide(&b, Side::User, Action::Confirm, &cx(0)),
            Err(BookingError::NotAllowed { .. })
        ));
        let d = decide(&b, Side::Expert, Action::Decline, &cx(0)).unwrap();
        assert_eq!(
            (d.state, d.settlement),
            (State::Declined, Some(Settlement::Release))
        );
        let span = (200 * HOUR, 200 * HOUR + HOUR / 2);
        let p = decide(&b, Side::Expert, Action::Propose(span), &cx(10 * HOUR)).unwrap();
        assert_eq!(
            (p.state, p.time, p.respond_by),
            (State::Proposed, Some(span), Some(34 * HOUR))
        );
        let proposed = Booking {
            state: State::Proposed,
            ..b.clone()
        };
        let a = decide(&proposed, Side::User, Action::Accept, &cx(11 * HOUR)).unwrap();
        assert_eq!(a.state, State::Confirmed);
        assert!(decide(&proposed, Side::Expert, Action::Accept, &cx(0)).is_err());
    }

    #[test]
    fn only_lapsed_answers_expire_and_only_past_bookings_complete() {
        let mut b = booking(State::Requested, 100 * HOUR, 10_000);
        b.respond_by = Some(24 * HOUR);
        assert!(decide(&b, Side::System, Action::Expire, &cx(23 * HOUR)).is_err());
        let e = decide(&b, Side::System, Action::Expire, &cx(24 * HOUR)).unwrap();
        assert_eq!(
            (e.state, e.settlement),
            (State::Expired, Some(Settlement::Release))
        );
        let c = booking(State::Confirmed, 100 * HOUR, 10_000);
        let owed = Action::Settle(Settlement::Capture(5_000));
        let done = decide(&c, Side::System, owed, &cx(101 * HOUR)).unwrap();
        assert_eq!(
            (done.state, done.settlement),
            (State::Completed, Some(Settlement::Capture(5_000)))
        );
        assert!(decide(&c, Side::User, owed, &cx(200 * HOUR)).is_err());
        let settled = booking(State::Completed, 100 * HOUR, 10_000);
        assert!(
            decide(&settled, Side::System, owed, &cx(200 * HOUR)).is_err(),
            "settles once"
        );
    }

    #[test]
    fn ended_bookings_accept_nothing_and_new_times_must_be_ahead() {
        for state in [
            State::Declined,
            State::Cancelled,
            State::Expired,
            State::Completed,
            State::Failed,
        ] {
            let b = booking(state, 100 * HOUR, 10_000);
            assert!(decide(&b, Side::User, Action::Cancel, &cx(0)).is_err());
        }
        let b = booking(State::Confirmed, 100 * HOUR, 10_000);
        let past = (5 * HOUR, 6 * HOUR);
        assert!(matches!(
            decide(&b, Side::Expert, Action::Reschedule(past), &cx(10 * HOUR)),
            Err(BookingError::Invalid { .. })
        ));
        let moved = decide(
            &b,
            Side::User,
            Action::Reschedule((200 * HOUR, 201 * HOUR)),
            &cx(0),
        )
        .unwrap();
        assert_eq!((moved.state, moved.bump), (State::Confirmed, true));
        let late = decide(&b, Side::User, Action::Cancel, &cx(90 * HOUR)).unwrap();
        assert_eq!(late.settlement, Some(Settlement::Capture(5_000)));
    }
}
