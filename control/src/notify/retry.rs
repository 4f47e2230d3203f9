//! What happens to a job that did not complete: tried again later, with a
//! wait doubling from `first_ms` up to `max_ms`, until `max_attempts`; a
//! failure that would repeat itself is final at once. Pure.

/// Why a job did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Worth another try later: a service down or slow, a lost connection.
    #[error("{0}")]
    Transient(String),
    /// Another try would fail the same way: a refused number, a job that
    /// cannot be read.
    #[error("{0}")]
    Permanent(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_attempts: i64,
    pub first_ms: i64,
    pub max_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Retry { at: i64 },
    Fail,
}

/// After `attempts` tries (the failed one included) failed with `failure` at `now`.
pub fn next(policy: &Policy, failure: &Failure, attempts: i64, now: i64) -> Next {
    if matches!(failure, Failure::Permanent(_)) || attempts >= policy.max_attempts {
        return Next::Fail;
    }
    let doublings = u32::try_from((attempts - 1).clamp(0, 62)).unwrap_or(62);
    let wait = policy
        .first_ms
        .saturating_mul(1_i64.checked_shl(doublings).unwrap_or(i64::MAX))
        .min(policy.max_ms);
    Next::Retry {
        at: now.saturating_add(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        max_attempts: 5,
        first_ms: 1_000,
        max_ms: 5_000,
    };

    fn transient() -> Failure {
        Failure::Transient("down".into())
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let at = |attempts| match next(&POLICY, &transient(), attempts, 100) {
            Next::Retry { at } => at - 100,
            Next::Fail => -1,
        };
        assert_eq!([at(1), at(2), at(3), at(4)], [1_000, 2_000, 4_000, 5_000]);
        assert_eq!(at(5), -1, "out of attempts");
    }

    #[test]
    fn permanent_failures_are_final() {
        assert_eq!(
            next(&POLICY, &Failure::Permanent("no".into()), 1, 0),
            Next::Fail
        );
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let policy = Policy {
            max_attempts: i64::MAX,
            ..POLICY
        };
        assert_eq!(
            next(&policy, &transient(), 10_000, i64::MAX - 1),
            Next::Retry { at: i64::MAX }
        );
    }
}
