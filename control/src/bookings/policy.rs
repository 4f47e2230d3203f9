//! What cancelling or moving a booking costs, without I/O. The user cancels
//! for free until `free_before` the start (and any booking the expert has
//! not confirmed); later, a share of the price goes to the expert. An
//! expert's cancellation always refunds in full. Users reschedule only while
//! cancelling would be free; experts until the start.

use super::{Booking, BookingError, Settlement, Side, State};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Milliseconds before the start.
    pub free_before: i64,
    /// Basis points of the price a late cancellation pays.
    pub late_charge_bp: i64,
}

impl Policy {
    pub fn cancellation(&self, b: &Booking, side: Side, now: i64) -> Settlement {
        let late = now >= b.start_at.saturating_sub(self.free_before);
        match side {
            Side::User if b.state == State::Confirmed && late => {
                let bp = self.late_charge_bp.clamp(0, 10_000);
                // i128: a price times basis points stays exact.
                let charge = (i128::from(b.price) * i128::from(bp) / 10_000) as i64;
                if charge > 0 {
                    Settlement::Capture(charge)
                } else {
                    Settlement::Release
                }
            }
            _ => Settlement::Release,
        }
    }

    pub fn may_reschedule(&self, b: &Booking, side: Side, now: i64) -> Result<(), BookingError> {
        if now >= b.start_at {
            return Err(BookingError::TooLate("the booking has started"));
        }
        if side == Side::User && now >= b.start_at.saturating_sub(self.free_before) {
            return Err(BookingError::TooLate(
                "users reschedule only while cancelling is free",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    pub(crate) fn booking(state: State, start_at: i64, price: i64) -> Booking {
        Booking {
            id: "b".into(),
            user_id: "u".into(),
            expert_id: "e".into(),
            start_at,
            end_at: start_at + HOUR / 2,
            minutes: 30,
            rate: price / 500 / 30,
            price,
            instant: false,
            user_time_zone: "Africa/Tunis".into(),
            state,
            respond_by: None,
            hold_id: Some("h".into()),
            settlement: None,
            settled_at: None,
            ended_by: None,
            reason: None,
            sequence: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    const POLICY: Policy = Policy {
        free_before: 24 * HOUR,
        late_charge_bp: 5000,
    };

    #[test]
    fn users_cancel_free_until_the_window_then_pay_the_share() {
        let b = booking(State::Confirmed, 100 * HOUR, 15_001);
        assert_eq!(
            POLICY.cancellation(&b, Side::User, 75 * HOUR),
            Settlement::Release
        );
        assert_eq!(
            POLICY.cancellation(&b, Side::User, 76 * HOUR),
            Settlement::Capture(7_500)
        );
        assert_eq!(
            POLICY.cancellation(&b, Side::User, 101 * HOUR),
            Settlement::Capture(7_500)
        );
        let all = Policy {
            late_charge_bp: 10_000,
            ..POLICY
        };
        assert_eq!(
            all.cancellation(&b, Side::User, 99 * HOUR),
            Settlement::Capture(15_001)
        );
        let none = Policy {
            late_charge_bp: 0,
            ..POLICY
        };
        assert_eq!(
            none.cancellation(&b, Side::User, 99 * HOUR),
            Settlement::Release
        );
    }

    #[test]
    fn experts_and_unconfirmed_bookings_always_refund_in_full() {
        let b = booking(State::Confirmed, 100 * HOUR, 15_000);
        assert_eq!(
            POLICY.cancellation(&b, Side::Expert, 99 * HOUR),
            Settlement::Release
        );
        let r = booking(State::Requested, 100 * HOUR, 15_000);
        assert_eq!(
            POLICY.cancellation(&r, Side::User, 99 * HOUR),
            Settlement::Release
        );
    }

    #[test]
    fn users_reschedule_while_free_experts_until_the_start() {
        let b = booking(State::Confirmed, 100 * HOUR, 15_000);
        assert!(POLICY.may_reschedule(&b, Side::User, 75 * HOUR).is_ok());
        assert!(matches!(
            POLICY.may_reschedule(&b, Side::User, 77 * HOUR),
            Err(BookingError::TooLate(_))
        ));
        assert!(POLICY.may_reschedule(&b, Side::Expert, 99 * HOUR).is_ok());
        assert!(POLICY.may_reschedule(&b, Side::Expert, 100 * HOUR).is_err());
    }
}
