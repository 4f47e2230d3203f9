//! What a call costs, without I/O: presence merged by set union, the billed
//! overlap of the expert's and the paying user's seconds, the status pushed
//! during the call, and when and how a call settles.
//!
//! Times here are whole Unix seconds; money is millimes (`MILLIMES_PER_COIN`).

use std::collections::BTreeMap;

use proto::signal::CallEnd;
use proto::Seconds;

use crate::ledger::MILLIMES_PER_COIN;

/// The rules in force (`control.calls`), in seconds and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The shortest call charged, in minutes (10).
    pub min_minutes: i64,
    /// How long a call may run past its booked end.
    pub overrun: i64,
    /// The user is warned when the balance covers at most this many minutes.
    pub warn_minutes: i64,
    /// What a user who never joined is charged, in minutes (capped by the
    /// booked price).
    pub no_show_minutes: i64,
    /// After everyone left, how long before the call is over (a reconnect
    /// within it continues the call).
    pub empty_grace: i64,
    /// How late a presence report may arrive: a call ended by time or by the
    /// host is settled this long after its cutoff.
    pub report_lag: i64,
}

/// A booking's terms, fixed at booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Coins per minute.
    pub rate: i64,
    /// Millimes held at booking.
    pub held: i64,
    pub start: i64,
    pub end: i64,
}

impl Terms {
    pub fn minute_price(&self) -> i64 {
        self.rate * MILLIMES_PER_COIN
    }
}

/// One participant's presence as merged from reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub seconds: Seconds,
    /// The highest report sequence merged (-1: none).
    pub newest: i64,
    /// The highest sequence of a report saying the participant left (-1:
    /// none). They are gone when no report came after it. (A node numbers
    /// its reports in order; a call's room lives on one node.)
    pub left: i64,
}

impl Default for Attendance {
    fn default() -> Self {
        Attendance {
            seconds: Seconds::new(),
            newest: -1,
            left: -1,
        }
    }
}

impl Attendance {
    /// Merges report `seq`: set union, and maxima of the sequences.
    /// Order-free and idempotent.
    pub fn merge(&mut self, seconds: &Seconds, last: bool, seq: i64) {
        self.seconds.union(seconds);
        self.newest = self.newest.max(seq);
        if last {
            self.left = self.left.max(seq);
        }
    }

    /// One past the last second seen (0 when none).
    pub fn seen_until(&self) -> i64 {
        self.seconds.ranges().last().map_or(0, |r| r.1)
    }

    pub fn gone(&self) -> bool {
        !self.seconds.is_empty() && self.left >= self.newest
    }
}

/// Everyone's presence in one call, by participant.
pub type Presence = BTreeMap<String, Attendance>;

/// The seconds of `set` before `cutoff`.
pub fn before(set: &Seconds, cutoff: i64) -> Seconds {
    let mut window = Seconds::new();
    window.insert_range(0, cutoff);
    set.intersection(&window)
}

/// The instant right after the `n`th second of `set` (`None` if it holds
/// fewer).
pub fn instant_after(set: &Seconds, n: i64) -> Option<i64> {
    let mut left = n;
    for &(s, e) in set.ranges() {
        if e - s >= left {
            return Some(s + left);
        }
        left -= e - s;
    }
    None
}

/// Minutes charged for `overlap` seconds together: started minutes, at
/// least the minimum.
pub fn minutes_charged(overlap: i64, min_minutes: i64) -> i64 {
    ((overlap + 59) / 60).max(min_minutes)
}

/// How many whole minutes `held + wallet` pays for.
pub fn affordable_minutes(terms: &Terms, wallet: i64) -> i64 {
    (terms.held + wallet.max(0)) / terms.minute_price()
}

/// What the user owes for `overlap` seconds: never more than the hold and
/// the wallet can pay.
pub fn owed(terms: &Terms, rules: &Rules, overlap: i64, wallet: i64) -> i64 {
    let minutes = minutes_charged(overlap, rules.min_minutes);
    minutes.min(affordable_minutes(terms, wallet).max(0)) * terms.minute_price()
}

/// The seconds both were present.
pub fn overlap(presence: &Presence, expert: &str, user: &str) -> Seconds {
    match (presence.get(expert), presence.get(user)) {
        (Some(e), Some(u)) => e.seconds.intersection(&u.seconds),
        _ => Seconds::new(),
    }
}

/// What the paying user sees during the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub billed_seconds: i64,
    /// Coins owed so far, the minimum included once they overlapped.
    pub coins_used: i64,
    /// Minutes the hold and wallet still pay for, when at most the warning
    /// threshold.
    pub minutes_left: Option<i64>,
    /// The paid-for time is used up.
    pub exhausted: bool,
}

pub fn status(terms: &Terms, rules: &Rules, billed_seconds: i64, wallet: i64) -> Status {
    let coins_used = if billed_seconds == 0 {
        0
    } else {
        minutes_charged(billed_seconds, rules.min_minutes) * terms.rate
    };
    let paid_seconds = affordable_minutes(terms, wallet) * 60;
    let remaining = (paid_seconds - billed_seconds).max(0);
    let minutes_left = (remaining <= rules.warn_minutes * 60).then_some((remaining + 59) / 60);
    Status {
        billed_seconds,
        coins_used,
        minutes_left,
        exhausted: billed_seconds > 0 && remaining == 0,
    }
}

/// Who missed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoShow {
    /// The expert never joined: everything is refunded.
    Expert,
    /// The expert was there, the user never was (or never at the same
    /// time): the no-show minutes are charged.
    User,
}

/// How a call settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub end: CallEnd,
    /// Seconds after this do not count.
    pub cutoff: i64,
    pub billed_seconds: i64,
    pub no_show: Option<NoShow>,
    /// Millimes captured: first from the hold, the rest from the wallet.
    pub owed: i64,
    pub from_hold: i64,
    pub extra: i64,
}

/// What is known when deciding.
#[derive(Debug, Clone, Copy)]
pub struct Moment<'a> {
    pub now: i64,
    pub expert: &'a str,
    pub user: &'a str,
    /// When the host ended the call, if they did.
    pub host_ended: Option<i64>,
    /// The user's spendable balance now.
    pub wallet: i64,
}

/// Whether the call is over at `m.now`, and what it owes then. `None`:
/// not yet (reports may still be on their way).
pub fn decide(
    terms: &Terms,
    rules: &Rules,
    presence: &Presence,
    m: &Moment<'_>,
) -> Option<Decision> {
    let deadline = terms.end + rules.overrun;
    let both = overlap(presence, m.expert, m.user);
    let exhausted = {
        let seen = before(&both, deadline.min(m.host_ended.unwrap_or(i64::MAX)));
        status(terms, rules, seen.len(), m.wallet).exhausted
    };
    let present = |who: &str| presence.get(who).is_some_and(|a| !a.seconds.is_empty());
    let seen_until = presence
        .values()
        .map(Attendance::seen_until)
        .max()
        .unwrap_or(0);
    let all_gone = present(m.expert)
        && present(m.user)
        && presence.values().all(|a| a.seconds.is_empty() || a.gone());
    let paid_seconds = affordable_minutes(terms, m.wallet) * 60;
    let (end, cutoff) = if exhausted {
        let used_up = instant_after(&both, paid_seconds).unwrap_or(deadline);
        (CallEnd::BalanceExhausted, used_up.min(deadline))
    } else if let Some(at) = m.host_ended.filter(|at| m.now >= at + rules.report_lag) {
        (CallEnd::HostEnded, at.min(deadline))
    } else if m.now >= deadline + rules.report_lag {
        (CallEnd::TimeUp, deadline)
    } else if all_gone && m.now >= seen_until + rules.empty_grace.max(rules.report_lag) {
        (CallEnd::Completed, seen_until.min(deadline))
    } else {
        return None;
    };
    let billed = before(&both, cutoff).len().min(paid_seconds);
    let expert_came = presence
        .get(m.expert)
        .is_some_and(|a| !before(&a.seconds, cutoff).is_empty());
    let (no_show, owed) = if !expert_came {
        (Some(NoShow::Expert), 0)
    } else if billed == 0 {
        let minutes = rules.no_show_minutes.max(0);
        (
            Some(NoShow::User),
            (minutes * terms.minute_price()).min(terms.held),
        )
    } else {
        (None, owed(terms, rules, billed, m.wallet))
    };
    let from_hold = owed.min(terms.held);
    Some(Decision {
        end,
        cutoff,
        billed_seconds: billed,
        no_show,
        owed,
        from_hold,
        extra: owed - from_hold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        min_minutes: 10,
        overrun: 600,
        warn_minutes: 2,
        no_show_minutes: 10,
        empty_grace: 120,
        report_lag: 30,
    };

    fn terms(rate: i64, minutes: i64) -> Terms {
        Terms {
            rate,
            held: rate * minutes * MILLIMES_PER_COIN,
            start: 10_000,
            end: 10_000 + minutes * 60,
        }
    }

    fn att(ranges: &[(i64, i64)], left: bool) -> Attendance {
        let seconds = Seconds::try_from(ranges.to_vec()).unwrap();
        let mut a = Attendance::default();
        a.merge(&seconds, false, 1);
        if left {
            // The leave comes in a report of its own, without seconds.
            a.merge(&Seconds::new(), true, 2);
        }
        a
    }

    #[test]
    fn a_participant_is_gone_once_no_report_followed_their_leave() {
        let mut a = Attendance::default();
        let s = |from, to| Seconds::try_from(vec![(from, to)]).unwrap();
        a.merge(&Seconds::new(), true, 3);
        a.merge(&s(0, 10), false, 1);
        assert!(a.gone(), "the leave arrived first");
        a.merge(&s(20, 30), false, 4);
        assert!(!a.gone(), "came back");
        a.merge(&s(0, 10), false, 1);
        a.merge(&s(30, 31), true, 5);
        assert!(a.gone());
        assert_eq!(a.seconds.len(), 21);
    }

    fn moment(now: i64, wallet: i64) -> Moment<'static> {
        Moment {
            now,
            expert: "e",
            user: "u",
            host_ended: None,
            wallet,
        }
    }

    #[test]
    fn the_minimum_then_started_minutes() {
        assert_eq!(minutes_charged(1, 10), 10);
        assert_eq!(minutes_charged(600, 10), 10);
        assert_eq!(minutes_charged(601, 10), 11);
        assert_eq!(minutes_charged(20 * 60, 10), 20);
    }

    #[test]
    fn a_short_call_costs_the_minimum_once_everyone_left() {
        let t = terms(2, 30);
        let p: Presence = [
            ("e".into(), att(&[(10_000, 10_020)], true)),
            ("u".into(), att(&[(10_001, 10_021)], true)),
        ]
        .into();
        assert_eq!(decide(&t, &RULES, &p, &moment(10_100, 0)), None, "grace");
        let d = decide(&t, &RULES, &p, &moment(10_141, 0)).unwrap();
        assert_eq!((d.end, d.billed_seconds), (CallEnd::Completed, 19));
        assert_eq!((d.owed, d.from_hold, d.extra), (10_000, 10_000, 0));
    }

    #[test]
    fn no_shows() {
        let t = terms(2, 30);
        let after = t.end + RULES.overrun + RULES.report_lag;
        let only_user: Presence = [("u".into(), att(&[(10_000, 10_500)], true))].into();
        let d = decide(&t, &RULES, &only_user, &moment(after, 0)).unwrap();
        assert_eq!(
            (d.no_show, d.owed, d.end),
            (Some(NoShow::Expert), 0, CallEnd::TimeUp)
        );
        let only_expert: Presence = [("e".into(), att(&[(10_000, 10_500)], true))].into();
        let d = decide(&t, &RULES, &only_expert, &moment(after, 0)).unwrap();
        assert_eq!((d.no_show, d.owed), (Some(NoShow::User), 10_000));
        assert_eq!(
            decide(&t, &RULES, &only_expert, &moment(after - 1, 0)),
            None
        );
    }

    #[test]
    fn the_balance_runs_out_in_the_overrun() {
        let t = terms(1, 10);
        // Held 10 minutes, one more in the wallet: 11 minutes in all.
        let p: Presence = [
            ("e".into(), att(&[(10_000, 10_700)], false)),
            ("u".into(), att(&[(10_000, 10_700)], false)),
        ]
        .into();
        let s = status(&t, &RULES, 600, 500);
        assert_eq!(
            (s.minutes_left, s.exhausted, s.coins_used),
            (Some(1), false, 10)
        );
        let d = decide(&t, &RULES, &p, &moment(10_700, 500)).unwrap();
        assert_eq!(d.end, CallEnd::BalanceExhausted);
        assert_eq!((d.owed, d.from_hold, d.extra), (5_500, 5_000, 500));
    }

    #[test]
    fn the_host_ending_cuts_off_what_follows() {
        let t = terms(1, 30);
        let p: Presence = [
            ("e".into(), att(&[(10_000, 11_000)], false)),
            ("u".into(), att(&[(10_000, 11_000)], false)),
        ]
        .into();
        let mut m = moment(10_900, 0);
        m.host_ended = Some(10_900);
        assert_eq!(decide(&t, &RULES, &p, &m), None, "reports may be late");
        m.now = 10_930;
        let d = decide(&t, &RULES, &p, &m).unwrap();
        assert_eq!(
            (d.end, d.billed_seconds, d.owed),
            (CallEnd::HostEnded, 900, 7_500)
        );
    }
}
