//! Presence accounting, second by second, as a deterministic state machine:
//! the driver feeds it events with their time and calls `tick`; it answers
//! with the reports to publish.
//!
//! # What "present" means
//!
//! A participant is *alive* from the moment their DTLS session is up until
//! it goes down, they leave, or `liveness` passes without a packet from them,
//! whichever comes first; a packet after such a silence makes them alive
//! again from that packet on. Second `s` (Unix time) counts as present when
//! the participant was alive at its midpoint, `s + 0.5`. So an alive span of
//! exactly N seconds, at any offset, covers exactly N seconds; a span of any
//! length L covers L rounded down or up, never off by more than one. A peer
//! that vanishes without closing DTLS is counted until `liveness` after its
//! last packet.
//!
//! A second is decided once its midpoint has passed; events must come in
//! time order, so nothing later can change a decided second.

use std::collections::HashMap;

use proto::{PresenceReport, Seconds};

#[derive(Debug)]
struct Peer {
    /// Alive spans whose seconds are not all decided yet, oldest first.
    /// `end: None` is the current span, alive until `last_heard + liveness`.
    spans: Vec<(i64, Option<i64>)>,
    last_heard: i64,
    /// The first second not decided yet.
    next_second: i64,
    /// Decided present, not yet reported.
    unreported: Seconds,
    left_at: Option<i64>,
}

pub struct Presence {
    node: String,
    liveness_ms: i64,
    next_seq: u64,
    /// By room, then participant: nested so that a lookup by `&str` (once
    /// per packet, in `heard`) allocates nothing.
    peers: HashMap<String, HashMap<String, Peer>>,
}

fn midpoint(second: i64) -> i64 {
    second * 1000 + 500
}

impl Peer {
    fn new(now: i64) -> Self {
        Peer {
            spans: Vec::new(),
            last_heard: now,
            next_second: now.div_euclid(1000),
            unreported: Seconds::new(),
            left_at: None,
        }
    }

    /// Closes the current span at `at`, or where it lapsed if that came first.
    fn close(&mut self, at: i64, liveness: i64) {
        if let Some((_, end @ None)) = self.spans.last_mut() {
            *end = Some(at.min(self.last_heard + liveness));
        }
    }

    fn alive_at(&self, t: i64, liveness: i64) -> bool {
        self.spans.iter().any(|&(start, end)| {
            let end = end.unwrap_or(self.last_heard + liveness);
            start <= t && t < end
        })
    }

    fn decide_until(&mut self, now: i64, liveness: i64) {
        while midpoint(self.next_second) < now {
            if self.alive_at(midpoint(self.next_second), liveness) {
                self.unreported.insert(self.next_second);
            }
            self.next_second += 1;
        }
        // Spans that ended before the next undecided midpoint cannot count again.
        let horizon = midpoint(self.next_second);
        self.spans
            .retain(|&(_, end)| end.is_none_or(|e| e > horizon));
    }
}

impl Presence {
    /// `node` names this SFU in its reports; `liveness_ms` is how long a
    /// silent peer still counts as present.
    pub fn new(node: impl Into<String>, liveness_ms: i64) -> Self {
        Presence {
            node: node.into(),
            liveness_ms,
            next_seq: 1,
            peers: HashMap::new(),
        }
    }

    fn peer(&mut self, room: &str, participant: &str, now: i64) -> &mut Peer {
        self.peers
            .entry(room.to_owned())
            .or_default()
            .entry(participant.to_owned())
            .or_insert_with(|| Peer::new(now))
    }

    fn existing(&mut self, room: &str, participant: &str) -> Option<&mut Peer> {
        self.peers.get_mut(room)?.get_mut(participant)
    }

    /// The participant's DTLS session is established (again, after an ICE restart).
    pub fn connected(&mut self, room: &str, participant: &str, now: i64) {
        let liveness = self.liveness_ms;
        let peer = self.peer(room, participant, now);
        // Back before their final report went out: they are simply present
        // again, and the seconds in between are decided as usual.
        peer.left_at = None;
        peer.close(now, liveness);
        peer.spans.push((now, None));
        peer.last_heard = now;
    }

    /// A valid packet arrived from the participant.
    pub fn heard(&mut self, room: &str, participant: &str, now: i64) {
        let liveness = self.liveness_ms;
        let Some(peer) = self.existing(room, participant) else {
            return;
        };
        match peer.spans.last() {
            Some((_, None)) if now < peer.last_heard + liveness => peer.last_heard = now,
            Some((_, None)) => {
                // The span lapsed in the silence; a new one starts with this packet.
                peer.close(now, liveness);
                peer.spans.push((now, None));
                peer.last_heard = now;
            }
            // Not connected: packets before DTLS is up do not make anyone present.
            _ => {}
        }
    }

    /// The participant's transport is gone (DTLS closed, ICE failed).
    pub fn disconnected(&mut self, room: &str, participant: &str, now: i64) {
        let liveness = self.liveness_ms;
        if let Some(peer) = self.existing(room, participant) {
            peer.close(now, liveness);
        }
    }

    /// The participant left the room. Their last report says so.
    pub fn left(&mut self, room: &str, participant: &str, now: i64) {
        let liveness = self.liveness_ms;
        let peer = self.peer(room, participant, now);
        peer.close(now, liveness);
        peer.left_at.get_or_insert(now);
    }

    /// Participants currently accounted for (including those whose final
    /// report is still to come).
    pub fn tracked(&self) -> usize {
        self.peers.values().map(HashMap::len).sum()
    }

    /// Decides every second whose midpoint is before `now` and returns one
    /// report per participant with newly decided seconds (and a final one for
    /// each participant who left and is fully decided).
    pub fn tick(&mut self, now: i64) -> Vec<PresenceReport> {
        let liveness = self.liveness_ms;
        let mut reports = Vec::new();
        let mut done = Vec::new();
        for (room, members) in self.peers.iter_mut() {
            for (participant, peer) in members.iter_mut() {
                peer.decide_until(now, liveness);
                let finished = peer
                    .left_at
                    .is_some_and(|left| midpoint(peer.next_second) >= left);
                if peer.unreported.is_empty() && !finished {
                    continue;
                }
                reports.push(PresenceReport {
                    node: self.node.clone(),
                    seq: 0,
                    room: room.clone(),
                    participant: participant.clone(),
                    seconds: std::mem::take(&mut peer.unreported),
                    last: finished,
                });
                if finished {
                    done.push((room.clone(), participant.clone()));
                }
            }
        }
        for (room, participant) in done {
            if let Some(members) = self.peers.get_mut(&room) {
                members.remove(&participant);
                if members.is_empty() {
                    self.peers.remove(&room);
                }
            }
        }
        // Deterministic order (the map's is not), then sequence numbers.
        reports.sort_by(|a, b| (&a.room, &a.participant).cmp(&(&b.room, &b.participant)));
        for r in &mut reports {
            r.seq = self.next_seq;
            self.next_seq += 1;
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const LIVENESS: i64 = 5_000;

    fn all_seconds(reports: &[PresenceReport], participant: &str) -> Seconds {
        let mut s = Seconds::new();
        for r in reports.iter().filter(|r| r.participant == participant) {
            s.union(&r.seconds);
        }
        s
    }

    /// Runs the accountant with a tick every second, packets every 200 ms.
    fn connected_for(start: i64, ms: i64) -> (Vec<PresenceReport>, Presence) {
        let mut p = Presence::new("node-a", LIVENESS);
        let mut reports = Vec::new();
        p.connected("r", "alice", start);
        let mut t = start;
        while t < start + ms {
            p.heard("r", "alice", t);
            if t % 1000 == 0 {
                reports.extend(p.tick(t));
            }
            t += 100;
        }
        p.disconnected("r", "alice", start + ms);
        p.left("r", "alice", start + ms + 10);
        reports.extend(p.tick(start + ms + 2_000));
        (reports, p)
    }

    #[test]
    fn exactly_n_seconds_of_connection_are_n_seconds_at_any_offset() {
        for offset in [0, 1, 250, 499, 500, 501, 999] {
            for n in [1, 2, 10, 61] {
                let start = 1_700_000_000_000 + offset;
                let (reports, p) = connected_for(start, n * 1000);
                assert_eq!(
                    all_seconds(&reports, "alice").len(),
                    n,
                    "offset {offset} ms, {n} s"
                );
                assert!(
                    reports.last().unwrap().last,
                    "the final report says the participant left"
                );
                assert_eq!(p.tracked(), 0, "nothing kept after the final report");
            }
        }
    }

    #[test]
    fn silence_counts_until_liveness_runs_out_and_packets_bring_presence_back() {
        let mut p = Presence::new("node-a", LIVENESS);
        p.connected("r", "bob", 0);
        p.heard("r", "bob", 1_000);
        // Silent from 1 s: alive until 6 s. Back at 20 s, for 3 s.
        p.heard("r", "bob", 20_000);
        p.heard("r", "bob", 22_999);
        p.disconnected("r", "bob", 23_000);
        let seconds = all_seconds(&p.tick(60_000), "bob");
        assert_eq!(seconds.ranges(), &[(0, 6), (20, 23)]);
    }

    #[test]
    fn leaving_and_rejoining_before_the_final_report_keeps_both_stays() {
        let mut p = Presence::new("node-a", LIVENESS);
        p.connected("r", "amel", 0);
        for t in (0..10_000).step_by(500) {
            p.heard("r", "amel", t);
        }
        p.left("r", "amel", 10_000);
        p.connected("r", "amel", 10_200);
        p.heard("r", "amel", 14_000);
        p.disconnected("r", "amel", 15_000);
        p.left("r", "amel", 15_000);
        let reports = p.tick(30_000);
        assert_eq!(all_seconds(&reports, "amel").ranges(), &[(0, 15)]);
        assert!(reports.last().unwrap().last);
        assert_eq!(p.tracked(), 0);
    }

    #[test]
    fn packets_before_dtls_is_up_do_not_count() {
        let mut p = Presence::new("node-a", LIVENESS);
        p.left("r", "eve", 0);
        p.heard("r", "eve", 100);
        let reports = p.tick(10_000);
        assert_eq!(reports.len(), 1);
        assert!(reports[0].seconds.is_empty() && reports[0].last);
    }

    #[test]
    fn reports_are_incremental_with_increasing_sequence_numbers() {
        let mut p = Presence::new("node-a", LIVENESS);
        p.connected("r", "a", 0);
        p.connected("r", "b", 0);
        let mut seen = Vec::new();
        for t in (1_000..=5_000).step_by(1_000) {
            p.heard("r", "a", t - 1);
            p.heard("r", "b", t - 1);
            seen.extend(p.tick(t));
        }
        let seqs: Vec<u64> = seen.iter().map(|r| r.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        for r in &seen {
            assert_eq!(r.seconds.len(), 1, "one new second per tick: {r:?}");
        }
        assert_eq!(all_seconds(&seen, "a").ranges(), &[(0, 5)]);
    }

    /// The reference: alive at a millisecond, by brute force over the event list.
    fn oracle(events: &[(i64, u8)], second: i64) -> bool {
        let t = midpoint(second);
        let (mut alive_from, mut last_heard, mut connected, mut gone) =
            (None::<i64>, 0, false, false);
        let mut alive_at_t = false;
        for &(at, kind) in events.iter().filter(|(at, _)| *at <= t) {
            if gone {
                break;
            }
            // Lapse between events.
            if connected && alive_from.is_some() && at >= last_heard + LIVENESS {
                alive_from = None;
            }
            match kind {
                0 => {
                    connected = true;
                    alive_from = Some(at);
                    last_heard = at;
                }
                1 if connected => {
                    if alive_from.is_none() {
                        alive_from = Some(at);
                    }
                    last_heard = at;
                }
                2 => {
                    connected = false;
                    alive_from = None;
                }
                3 => {
                    gone = true;
                    alive_from = None;
                }
                _ => {}
            }
        }
        if let (Some(from), true) = (alive_from, connected) {
            alive_at_t = from <= t && t < last_heard + LIVENESS;
        }
        alive_at_t
    }

    #[test]
    fn random_connection_histories_match_a_brute_force_reference() {
        for seed in 0..2_000u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut events = Vec::new();
            let mut t = rng.random_range(0..3_000);
            for _ in 0..rng.random_range(1..60) {
                let kind = match rng.random_range(0..20) {
                    0 => 0,
                    1 => 2,
                    _ => 1,
                };
                events.push((t, kind));
                let gap = if rng.random_bool(0.1) { 12_000 } else { 1_500 };
                t += rng.random_range(0..gap);
            }
            events.insert(0, (events[0].0, 0));
            events.push((t, 3));

            let mut p = Presence::new("n", LIVENESS);
            let mut reports = Vec::new();
            let mut next_tick = 0;
            for &(at, kind) in &events {
                while next_tick <= at {
                    reports.extend(p.tick(next_tick));
                    next_tick += rng.random_range(300..2_500);
                }
                match kind {
                    0 => p.connected("r", "x", at),
                    1 => p.heard("r", "x", at),
                    2 => p.disconnected("r", "x", at),
                    _ => p.left("r", "x", at),
                }
            }
            reports.extend(p.tick(t + 10_000));
            let got = all_seconds(&reports, "x");
            let mut want = Seconds::new();
            for s in -1..=(t / 1000 + 1) {
                if oracle(&events, s) {
                    want.insert(s);
                }
            }
            assert_eq!(got, want, "seed {seed}: events {events:?}");
            assert!(
                reports.last().is_some_and(|r| r.last),
                "seed {seed}: final report"
            );
        }
    }
}
