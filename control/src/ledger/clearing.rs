//! When captured earnings may be paid out, without I/O.
//!
//! A capture *clears* once the clearing delay (`control.payouts.clearing_delay`)
//! has passed since it: until then its client may still be refunded, so the
//! money is not offered for a payout. Exactly:
//!
//! - a capture made at `t` is cleared at `now` when `t <= now - delay`;
//! - an expert's *uncleared* earnings are, over their holds captured after
//!   `now - delay`, the expert's share of the capture less the expert's
//!   share of its refunds so far (`rules::split`, `rules::refund_split`);
//! - *available* is `max(0, earnings - uncleared)`, where `earnings` is the
//!   balance of `earnings:<expert>`.
//!
//! The balance is every capture's share, less every refund's share, less
//! every payout requested and not cancelled; take away the uncleared part
//! and what is left is the cleared captures less their refunds less the
//! payouts requested or paid: what the expert may still ask for. It is
//! below zero only when a cleared capture was refunded after its money was
//! paid out, so that the refund took uncleared money; nothing is available
//! then until enough clears.

use super::rules::{refund_split, split};

/// A captured hold as clearing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    /// When it was captured (Unix ms).
    pub at: i64,
    pub captured: i64,
    pub refunded: i64,
}

impl Capture {
    /// The expert's share of the capture still in their earnings.
    pub fn owed(&self) -> i64 {
        split(self.captured).expert - refund_split(0, self.refunded).expert
    }
}

/// Captures made after this instant are not cleared at `now`.
pub fn cutoff(now: i64, delay_ms: i64) -> i64 {
    now.saturating_sub(delay_ms)
}

/// What of the earnings is not yet cleared: the shares still owed of the
/// captures made after `cutoff`.
pub fn uncleared(captures: &[Capture], cutoff: i64) -> i64 {
    captures
        .iter()
        .filter(|c| c.at > cutoff)
        .map(Capture::owed)
        .sum()
}

/// What of the earnings may be paid out.
pub fn available(earnings: i64, uncleared: i64) -> i64 {
    (earnings - uncleared).max(0)
}

/// An expert's earnings as payouts see them, in millimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funds {
    /// The balance of the earnings account.
    pub earnings: i64,
    /// Within the clearing delay.
    pub uncleared: i64,
    pub available: i64,
    /// When the next uncleared capture clears (Unix ms).
    pub next_cleared_at: Option<i64>,
}

impl Funds {
    /// `captures`: the expert's captured holds, at least those made after
    /// `now - delay_ms`.
    pub fn new(earnings: i64, captures: &[Capture], now: i64, delay_ms: i64) -> Funds {
        let cutoff = cutoff(now, delay_ms);
        let uncleared = uncleared(captures, cutoff);
        Funds {
            earnings,
            uncleared,
            available: available(earnings, uncleared),
            next_cleared_at: captures
                .iter()
                .filter(|c| c.at > cutoff && c.owed() > 0)
                .map(|c| c.at.saturating_add(delay_ms))
                .min(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn capture(at: i64, captured: i64, refunded: i64) -> Capture {
        Capture {
            at,
            captured,
            refunded,
        }
    }

    #[test]
    fn what_is_owed_is_the_share_less_the_refunded_share() {
        assert_eq!(capture(0, 10_503, 0).owed(), 8_403);
        // 10,503 refunded in any pieces returns exactly the expert's 8,403.
        assert_eq!(capture(0, 10_503, 10_503).owed(), 0);
        assert_eq!(capture(0, 500, 7).owed(), 400 - (7 - 1));
    }

    #[test]
    fn a_capture_clears_exactly_when_the_delay_has_passed() {
        let now = 100 * DAY;
        let captures = [
            capture(now - 7 * DAY, 500, 0),
            capture(now - 7 * DAY + 1, 1_000, 0),
        ];
        let f = Funds::new(400 + 800, &captures, now, 7 * DAY);
        assert_eq!((f.uncleared, f.available), (800, 400));
        assert_eq!(f.next_cleared_at, Some(now + 1));
        let later = Funds::new(1_200, &captures, now + 1, 7 * DAY);
        assert_eq!(
            (later.uncleared, later.available, later.next_cleared_at),
            (0, 1_200, None)
        );
    }

    #[test]
    fn available_is_cleared_earnings_less_what_was_paid_out() {
        let now = 100 * DAY;
        // Cleared: 400 + 800; a payout of 300 took them down to 900;
        // a recent capture adds 4,000 not yet cleared.
        let captures = [
            capture(now - 30 * DAY, 500, 0),
            capture(now - 8 * DAY, 1_000, 0),
            capture(now - DAY, 5_000, 0),
        ];
        let f = Funds::new(400 + 800 - 300 + 4_000, &captures, now, 7 * DAY);
        assert_eq!(f.available, 900);
        // A refund of a cleared capture after its money was paid out takes
        // uncleared money: nothing is available, never less than nothing.
        let f = Funds::new(100 + 4_000 - 400, &captures, now, 7 * DAY);
        assert_eq!(f.available, 0);
    }

    #[test]
    fn a_fully_refunded_capture_does_not_delay_anything() {
        let now = 100 * DAY;
        let f = Funds::new(0, &[capture(now - DAY, 500, 500)], now, 7 * DAY);
        assert_eq!((f.uncleared, f.next_cleared_at), (0, None));
    }
}
