//! Per-key rate limiting with the generic cell rate algorithm (GCRA): one
//! timestamp per key, a steady rate with a burst allowance, and an exact
//! "retry after". Time is an input, so the limiter is deterministic.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    /// Milliseconds between two requests at the steady rate.
    interval_ms: i64,
    /// How far ahead of now a key's theoretical arrival time may run.
    tolerance_ms: i64,
    tat: Mutex<HashMap<String, i64>>,
}

/// Keys kept before stale ones are swept, bounding memory under a spray of
/// distinct addresses.
const SWEEP_AT: usize = 50_000;

impl RateLimiter {
    pub fn per_minute(rate: u32, burst: u32) -> Self {
        Self::every(60_000 / i64::from(rate.max(1)), burst)
    }

    /// One request per `interval_ms` at the steady rate, bursts of `burst`.
    pub fn every(interval_ms: i64, burst: u32) -> Self {
        RateLimiter {
            interval_ms,
            tolerance_ms: interval_ms * i64::from(burst.max(1) - 1),
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Admits a request for `key` at `now_ms`, or says how many milliseconds
    /// until one would be admitted.
    pub fn check(&self, key: &str, now_ms: i64) -> Result<(), i64> {
        let mut tat = self.tat.lock().expect("limiter lock");
        if tat.len() >= SWEEP_AT {
            tat.retain(|_, t| *t > now_ms);
        }
        let current = tat.get(key).copied().unwrap_or(now_ms).max(now_ms);
        let wait = current - self.tolerance_ms - now_ms;
        if wait > 0 {
            return Err(wait);
        }
        tat.insert(key.to_owned(), current + self.interval_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn allows_a_burst_then_the_steady_rate_and_keys_are_independent() {
        let l = RateLimiter::per_minute(6, 3); // one every 10 s, bursts of 3
        for _ in 0..3 {
            assert_eq!(l.check("ip", 0), Ok(()));
        }
        assert_eq!(l.check("ip", 0), Err(10_000));
        assert_eq!(l.check("other", 0), Ok(()));
        assert_eq!(l.check("ip", 9_999), Err(1));
        assert_eq!(l.check("ip", 10_000), Ok(()));
        assert_eq!(l.check("ip", 10_000), Err(10_000));
        // After a long quiet spell the full burst is back, not more.
        for _ in 0..3 {
            assert_eq!(l.check("ip", 1_000_000), Ok(()));
        }
        assert!(l.check("ip", 1_000_000).is_err());
    }
}
