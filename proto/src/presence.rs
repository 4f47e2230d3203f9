//! Presence: which whole Unix seconds a participant was connected to a room.
//! The SFU reports them; the control plane merges reports by set union, so a
//! report delivered twice, late or out of order changes nothing, and billing
//! reads the overlap of two participants' sets.

use serde::{Deserialize, Serialize};

/// A set of whole seconds, kept as sorted, disjoint, non-adjacent half-open
/// ranges `[start, end)`. Serialises as `[[start, end], ...]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<(i64, i64)>", into = "Vec<(i64, i64)>")]
pub struct Seconds(Vec<(i64, i64)>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid second range [{0}, {1}): start must be below end, both within 0..=2^40")]
pub struct InvalidRange(pub i64, pub i64);

/// Far beyond any real Unix time (year 36812), far from overflow.
pub const MAX_SECOND: i64 = 1 << 40;

impl Seconds {
    pub fn new() -> Self {
        Seconds(Vec::new())
    }

    pub fn ranges(&self) -> &[(i64, i64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many seconds the set holds.
    pub fn len(&self) -> i64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    pub fn contains(&self, second: i64) -> bool {
        let i = self.0.partition_point(|(_, end)| *end <= second);
        self.0.get(i).is_some_and(|(start, _)| *start <= second)
    }

    pub fn insert(&mut self, second: i64) {
        self.insert_range(second, second + 1);
    }

    /// Adds `[start, end)`, clamped to `0..=MAX_SECOND`; an empty or
    /// inverted range adds nothing.
    pub fn insert_range(&mut self, start: i64, end: i64) {
        let (start, end) = (start.clamp(0, MAX_SECOND), end.clamp(0, MAX_SECOND));
        if start >= end {
            return;
        }
        // Ranges that overlap or touch the new one merge with it.
        let first = self.0.partition_point(|(_, e)| *e < start);
        let last = self.0.partition_point(|(s, _)| *s <= end);
        let (mut lo, mut hi) = (start, end);
        if first < last {
            lo = lo.min(self.0[first].0);
            hi = hi.max(self.0[last - 1].1);
        }
        self.0.splice(first..last, [(lo, hi)]);
    }

    /// Set union, in place.
    pub fn union(&mut self, other: &Seconds) {
        for &(s, e) in &other.0 {
            self.insert_range(s, e);
        }
    }

    /// The seconds in both sets.
    pub fn intersection(&self, other: &Seconds) -> Seconds {
        let (mut i, mut j, mut out) = (0, 0, Vec::new());
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
            if lo < hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Seconds(out)
    }
}

impl TryFrom<Vec<(i64, i64)>> for Seconds {
    type Error = InvalidRange;

    /// Accepts ranges in any order, overlapping or not; refuses inverted or
    /// empty ones, so a malformed report is an error rather than silently empty.
    fn try_from(ranges: Vec<(i64, i64)>) -> Result<Self, InvalidRange> {
        let mut set = Seconds::new();
        for (s, e) in ranges {
            if s >= e || s < 0 || e > MAX_SECOND {
                return Err(InvalidRange(s, e));
            }
            set.insert_range(s, e);
        }
        Ok(set)
    }
}

impl From<Seconds> for Vec<(i64, i64)> {
    fn from(s: Seconds) -> Self {
        s.0
    }
}

/// What one SFU node says about one participant of one room: the seconds
/// decided since its previous report for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceReport {
    /// The SFU node that observed the participant.
    pub node: String,
    /// Per node, increasing with every report; identifies a report in the
    /// node's outbox for acknowledgement.
    pub seq: u64,
    pub room: String,
    pub participant: String,
    pub seconds: Seconds,
    /// The participant left; no more reports for them from this node.
    pub last: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[(i64, i64)]) -> Seconds {
        Seconds::try_from(ranges.to_vec()).unwrap()
    }

    #[test]
    fn inserting_merges_overlapping_and_touching_ranges() {
        let mut s = Seconds::new();
        s.insert(5);
        s.insert(7);
        assert_eq!(s.ranges(), &[(5, 6), (7, 8)]);
        s.insert(6);
        assert_eq!(s.ranges(), &[(5, 8)]);
        s.insert_range(1, 3);
        s.insert_range(10, 12);
        s.insert_range(2, 11);
        assert_eq!(s.ranges(), &[(1, 12)]);
        s.insert_range(4, 4);
        assert_eq!(s.len(), 11);
        assert!(s.contains(1) && s.contains(11) && !s.contains(12) && !s.contains(0));
    }

    #[test]
    fn union_is_idempotent_commutative_and_order_free() {
        let a = set(&[(0, 10), (20, 25)]);
        let b = set(&[(8, 21), (30, 31)]);
        let mut ab = a.clone();
        ab.union(&b);
        let mut ba = b.clone();
        ba.union(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.ranges(), &[(0, 25), (30, 31)]);
        let mut again = ab.clone();
        again.union(&b);
        again.union(&a);
        assert_eq!(again, ab, "merging a report twice changes nothing");
    }

    #[test]
    fn intersection_is_the_overlap() {
        let expert = set(&[(0, 100), (200, 300)]);
        let user = set(&[(50, 250), (290, 400)]);
        assert_eq!(
            expert.intersection(&user).ranges(),
            &[(50, 100), (200, 250), (290, 300)]
        );
        assert_eq!(expert.intersection(&user).len(), 50 + 50 + 10);
        assert!(expert.intersection(&Seconds::new()).is_empty());
    }

    #[test]
    fn wire_form_is_a_list_of_ranges_and_bad_ranges_are_refused() {
        let json = serde_json::to_string(&set(&[(3, 5), (1, 2)])).unwrap();
        assert_eq!(json, "[[1,2],[3,5]]");
        let back: Seconds = serde_json::from_str("[[3,5],[1,2],[4,6]]").unwrap();
        assert_eq!(back.ranges(), &[(1, 2), (3, 6)]);
        assert!(serde_json::from_str::<Seconds>("[[5,5]]").is_err());
        assert!(serde_json::from_str::<Seconds>("[[6,5]]").is_err());
        assert!(
            serde_json::from_str::<Seconds>("[[0,9223372036854775807]]").is_err(),
            "no overflow later"
        );
        assert!(serde_json::from_str::<Seconds>("[[-5,2]]").is_err());
    }
}
