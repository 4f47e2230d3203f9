//! The presence outbox: reports wait here until the bus has taken them, and
//! are sent again if it has not confirmed within `resend_after`. A newer
//! report for the same participant absorbs an unconfirmed older one (presence
//! merges by set union, so nothing is lost), which bounds the outbox by the
//! number of participants however long the bus is away.

use std::collections::HashMap;

use proto::PresenceReport;

pub struct Outbox {
    resend_after_ms: i64,
    /// By (room, participant): the report and when it was last handed out.
    waiting: HashMap<(String, String), (PresenceReport, Option<i64>)>,
}

impl Outbox {
    pub fn new(resend_after_ms: i64) -> Self {
        Outbox {
            resend_after_ms,
            waiting: HashMap::new(),
        }
    }

    pub fn push(&mut self, report: PresenceReport) {
        let key = (report.room.clone(), report.participant.clone());
        let merged = match self.waiting.remove(&key) {
            Some((mut older, _)) => {
                older.seconds.union(&report.seconds);
                PresenceReport {
                    seconds: older.seconds,
                    ..report
                }
            }
            None => report,
        };
        self.waiting.insert(key, (merged, None));
    }

    /// Reports to send now: never sent, or unconfirmed for `resend_after`.
    /// They count as sent at `now`.
    pub fn due(&mut self, now: i64) -> Vec<PresenceReport> {
        let mut out: Vec<PresenceReport> = self
            .waiting
            .values_mut()
            .filter(|(_, sent)| sent.is_none_or(|at| now - at >= self.resend_after_ms))
            .map(|(report, sent)| {
                *sent = Some(now);
                report.clone()
            })
            .collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// The bus confirmed report `seq`. A confirmation for a report that has
    /// since been absorbed into a newer one is ignored: the newer one still
    /// carries the seconds and goes out.
    pub fn confirm(&mut self, room: &str, participant: &str, seq: u64) {
        let key = (room.to_owned(), participant.to_owned());
        if self.waiting.get(&key).is_some_and(|(r, _)| r.seq == seq) {
            self.waiting.remove(&key);
        }
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proto::Seconds;

    use super::*;

    fn report(seq: u64, participant: &str, seconds: &[(i64, i64)]) -> PresenceReport {
        PresenceReport {
            node: "n".into(),
            seq,
            room: "r".into(),
            participant: participant.into(),
            seconds: Seconds::try_from(seconds.to_vec()).unwrap(),
            last: false,
        }
    }

    #[test]
    fn unconfirmed_reports_are_resent_and_confirmed_ones_are_not() {
        let mut o = Outbox::new(1_000);
        o.push(report(1, "a", &[(0, 1)]));
        assert_eq!(o.due(0).len(), 1);
        assert!(o.due(999).is_empty(), "not yet due again");
        assert_eq!(o.due(1_000).len(), 1, "resent after resend_after");
        o.confirm("r", "a", 1);
        assert!(o.due(5_000).is_empty());
        assert!(o.is_empty());
    }

    #[test]
    fn a_newer_report_absorbs_an_unconfirmed_one_and_a_stale_confirmation_keeps_it() {
        let mut o = Outbox::new(1_000);
        o.push(report(1, "a", &[(0, 1)]));
        o.push(report(1, "b", &[(0, 1)]));
        assert_eq!(o.due(0).len(), 2);
        o.push(report(3, "a", &[(1, 2)]));
        assert_eq!(o.len(), 2, "bounded by participants");
        o.confirm("r", "a", 1);
        let due = o.due(10);
        assert_eq!(due.len(), 1, "the merged report is new, so due at once");
        assert_eq!(due[0].seq, 3);
        assert_eq!(
            due[0].seconds.ranges(),
            &[(0, 2)],
            "the absorbed seconds travel with it"
        );
    }
}
