//! Deterministic simulation of billing: for many seeds, a call's true
//! presence (joins, leaves, reconnects, no-shows, short and long calls, a
//! balance that runs out) is reported the way the SFU reports it, delivered
//! with duplicates, reordering, loss followed by resend and consumer
//! restarts, merged, and settled by two racing replicas that retry. The
//! charge must be the one the true presence gives, the ledger must sum to
//! zero and the call must settle once.
//!
//! `CALLS_SIM_SEED=<n>` replays one seed; `CALLS_SIM_SEEDS=<n>` runs more.

use std::collections::{BTreeMap, HashSet};

use proto::signal::CallEnd;
use proto::Seconds;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::billing::{self, Attendance, Decision, Moment, Presence, Rules, Terms};
use crate::ledger::{split, MILLIMES_PER_COIN};

const EXPERT: &str = "expert";
const USER: &str = "user";
const GUEST: &str = "guest";
/// Unacknowledged entries are handed out again after this long.
const REDELIVER: i64 = 4;
/// A node reports a participant's seconds at least this often. With the
/// outbox's delays and one redelivery, every second is merged within
/// `report_lag` (30 s) of its end, which is what the lag promises.
const REPORT_EVERY: i64 = 5;

struct Report {
    participant: &'static str,
    seq: i64,
    seconds: Seconds,
    last: bool,
}

/// An entry of the durable stream.
struct Entry {
    report: usize,
    visible_at: i64,
    acked: bool,
    /// Handed to a consumer at this time, not yet acknowledged.
    delivered_at: Option<i64>,
}

/// From, to, millimes.
type Move = (&'static str, &'static str, i64);

/// The ledger, as far as one call moves it: balances by account and the
/// idempotency keys already used.
#[derive(Default)]
struct Book {
    balances: BTreeMap<&'static str, i64>,
    keys: HashSet<String>,
}

impl Book {
    fn apply(&mut self, key: String, moves: &[Move]) {
        if !self.keys.insert(key) {
            return;
        }
        for &(from, to, amount) in moves {
            *self.balances.entry(from).or_default() -= amount;
            *self.balances.entry(to).or_default() += amount;
        }
    }

    fn get(&self, account: &str) -> i64 {
        self.balances.get(account).copied().unwrap_or(0)
    }
}

/// The database: merged presence, and the booking row whose state change
/// (compare-and-set under the expert's lock) makes settlement happen once.
#[derive(Default)]
struct Db {
    presence: Presence,
    settled: Option<(Decision, i64)>,
    ledger_done: bool,
}

fn sessions(rng: &mut StdRng, from: i64, to: i64) -> Seconds {
    let mut set = Seconds::new();
    if rng.random_bool(0.1) {
        return set;
    }
    for _ in 0..rng.random_range(1..=4) {
        let start = rng.random_range(from..to);
        let long = if rng.random_bool(0.3) { 3000 } else { 700 };
        set.insert_range(start, start + rng.random_range(1..long));
    }
    set
}

/// Reports as a node sends them, numbered in order: each session in
/// chunks, the last chunk of a session marked as such, or followed by a
/// report of the leave alone.
fn reports_of(rng: &mut StdRng, participant: &'static str, truth: &Seconds, out: &mut Vec<Report>) {
    for &(s, e) in truth.ranges() {
        let mut at = s;
        let alone = rng.random_bool(0.5);
        while at < e {
            let next = (at + rng.random_range(1..=REPORT_EVERY)).min(e);
            let mut seconds = Seconds::new();
            seconds.insert_range(at, next);
            out.push(Report {
                participant,
                seq: out.len() as i64,
                seconds,
                last: next == e && !alone,
            });
            at = next;
        }
        if alone {
            out.push(Report {
                participant,
                seq: out.len() as i64,
                seconds: Seconds::new(),
                last: true,
            });
        }
    }
}

/// What settling moves, by idempotency key: the booking's hold captures
/// what it covers and returns the rest; an overrun beyond it is held from
/// the wallet and captured.
fn settle_moves(d: &Decision, held: i64) -> Vec<(String, Vec<Move>)> {
    let hold = split(d.from_hold);
    let mut out = vec![(
        "booking:settle".to_owned(),
        vec![
            ("held", "earnings", hold.expert),
            ("held", "revenue", hold.platform),
            ("held", "wallet", held - d.from_hold),
        ],
    )];
    if d.extra > 0 {
        let extra = split(d.extra);
        out.push(("call:extra:hold".into(), vec![("wallet", "held", d.extra)]));
        out.push((
            "call:extra:capture".into(),
            vec![
                ("held", "earnings", extra.expert),
                ("held", "revenue", extra.platform),
            ],
        ));
    }
    out
}

/// Runs one seed; an error says what went wrong.
fn run(seed: u64) -> Result<Decision, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let rate = rng.random_range(1..=4);
    let minutes = rng.random_range(10..=40);
    let start = 1_000_000;
    let terms = Terms {
        rate,
        held: rate * minutes * MILLIMES_PER_COIN,
        start,
        end: start + minutes * 60,
    };
    let rules = Rules {
        min_minutes: 10,
        overrun: rng.random_range(0..=900),
        warn_minutes: 2,
        no_show_minutes: rng.random_range(0..=10),
        empty_grace: 120,
        report_lag: 30,
    };
    let deadline = terms.end + rules.overrun;
    let wallet0 = if rng.random_bool(0.3) {
        rng.random_range(0..=3) * terms.minute_price() + rng.random_range(0..terms.minute_price())
    } else {
        rng.random_range(0..=60) * terms.minute_price()
    };
    let mut book = Book::default();
    book.balances.insert("clearing", -(wallet0 + terms.held));
    book.balances.insert("wallet", wallet0);
    book.balances.insert("held", terms.held);

    let truth: Presence = [EXPERT, USER, GUEST]
        .into_iter()
        .map(|p| {
            let seconds = sessions(&mut rng, start - 600, deadline + 300);
            (
                p.to_owned(),
                Attendance {
                    seconds,
                    ..Attendance::default()
                },
            )
        })
        .collect();
    let mut reports = Vec::new();
    for (p, a) in &truth {
        let name = [EXPERT, USER, GUEST].into_iter().find(|n| n == p).unwrap();
        reports_of(&mut rng, name, &a.seconds, &mut reports);
    }
    // The outbox: each report reaches the stream a little after its last
    // second, sometimes twice, sometimes only on a resend.
    let mut stream = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let end = match r.seconds.ranges().last() {
            Some(&(_, end)) => end,
            // A leave alone goes right after the session's last seconds.
            None => reports[i - 1].seconds.ranges().last().map_or(0, |r| r.1),
        };
        let mut at = end + rng.random_range(0..=4);
        if rng.random_bool(0.1) {
            at += rng.random_range(1..=10);
        }
        let copies = if rng.random_bool(0.1) { 2 } else { 1 };
        for _ in 0..copies {
            stream.push(Entry {
                report: i,
                visible_at: at + rng.random_range(0..=2),
                acked: false,
                delivered_at: None,
            });
        }
    }
    let mut db = Db::default();
    let mut wins = 0;
    let horizon = deadline + rules.report_lag + rules.empty_grace + 60;
    let mut now = start - 700;
    let mut crashed_once = HashSet::new();
    let mut order: Vec<usize> = (0..stream.len()).collect();
    order.sort_by_key(|&i| stream[i].visible_at);
    let (mut next, mut inflight): (usize, Vec<usize>) = (0, Vec::new());
    while now <= horizon || !db.ledger_done || next < order.len() || !inflight.is_empty() {
        // The consumer reads what is visible (and what timed out), in any
        // order, merges each in its own transaction, then acknowledges.
        let mut batch = Vec::new();
        while next < order.len() && stream[order[next]].visible_at <= now {
            batch.push(order[next]);
            next += 1;
        }
        inflight.retain(|&i| {
            let e = &stream[i];
            let again = !e.acked && e.delivered_at.is_some_and(|at| now - at >= REDELIVER);
            if again {
                batch.push(i);
            }
            !e.acked && !again
        });
        batch.shuffle(&mut rng);
        for &i in &batch {
            stream[i].delivered_at = Some(now);
            let crash = !crashed_once.contains(&i) && rng.random_bool(0.03);
            if crash {
                crashed_once.insert(i);
                if rng.random_bool(0.5) {
                    // Died before committing: nothing merged, redelivered later.
                    continue;
                }
            }
            let r = &reports[stream[i].report];
            db.presence
                .entry(r.participant.to_owned())
                .or_default()
                .merge(&r.seconds, r.last, r.seq);
            if !crash {
                stream[i].acked = true;
            }
        }
        for &i in &batch {
            if !stream[i].acked {
                inflight.push(i);
            }
        }
        // Two replicas tick: each may decide and settle; the state change
        // is a compare-and-set, the ledger requests carry idempotency keys,
        // and a replica may die after the state change (the sweep retries).
        for _ in 0..2 {
            if !rng.random_bool(0.4) {
                continue;
            }
            let wallet = book.get("wallet");
            let moment = Moment {
                now,
                expert: EXPERT,
                user: USER,
                host_ended: None,
                wallet,
            };
            let snapshot = db.settled.map(|(d, _)| d);
            let decided = match snapshot {
                Some(d) => Some(d),
                None => billing::decide(&terms, &rules, &db.presence, &moment),
            };
            let Some(d) = decided else { continue };
            if snapshot.is_none() {
                if db.settled.is_some() {
                    continue;
                }
                db.settled = Some((d, now));
                wins += 1;
            }
            if rng.random_bool(0.2) {
                continue; // died before telling the ledger
            }
            for (key, moves) in settle_moves(&d, terms.held) {
                book.apply(key.clone(), &moves);
                if rng.random_bool(0.1) {
                    book.apply(key, &moves); // a retry
                }
            }
            db.ledger_done = true;
        }
        now += rng.random_range(1..=3);
        if now > horizon + 20_000 {
            return Err("never settled".into());
        }
    }

    // Every report was merged: presence equals the truth, whatever the order.
    for (p, a) in &truth {
        let got = db
            .presence
            .get(p)
            .map(|a| a.seconds.clone())
            .unwrap_or_default();
        if got != a.seconds {
            return Err(format!(
                "{p}'s presence {got:?} is not the truth {:?}",
                a.seconds
            ));
        }
    }
    if wins != 1 {
        return Err(format!("settled {wins} times"));
    }
    let (d, settled_at) = db.settled.unwrap();
    // The charge the true presence gives for the same cutoff.
    let paid_seconds = billing::affordable_minutes(&terms, wallet0) * 60;
    let true_overlap = billing::before(&billing::overlap(&truth, EXPERT, USER), d.cutoff)
        .len()
        .min(paid_seconds);
    let expert_came = !billing::before(&truth[EXPERT].seconds, d.cutoff).is_empty();
    let expected = if !expert_came {
        0
    } else if true_overlap == 0 {
        (rules.no_show_minutes * terms.minute_price()).min(terms.held)
    } else {
        let minutes = billing::minutes_charged(true_overlap, rules.min_minutes);
        minutes.min(billing::affordable_minutes(&terms, wallet0)) * terms.minute_price()
    };
    if d.owed != expected || d.billed_seconds != true_overlap {
        return Err(format!(
            "charged {} for {} s ({:?}), the true presence owes {expected} for {true_overlap} s",
            d.owed, d.billed_seconds, d.end
        ));
    }
    // The cutoff is where the call really ended.
    let everyone = truth.values().fold(Seconds::new(), |mut all, a| {
        all.union(&a.seconds);
        all
    });
    let after_cutoff = |to: i64| {
        let mut w = Seconds::new();
        w.insert_range(d.cutoff, to);
        !everyone.intersection(&w).is_empty()
    };
    match d.end {
        CallEnd::TimeUp if d.cutoff != deadline => return Err("time up before the deadline".into()),
        CallEnd::Completed if after_cutoff(settled_at - rules.report_lag) => {
            return Err(format!("completed at {} while someone was there", d.cutoff))
        }
        CallEnd::BalanceExhausted if true_overlap < paid_seconds => {
            return Err("exhausted with time left".into())
        }
        _ => {}
    }
    // The ledger sums to zero and the shares are 80/20 of what was owed.
    let total: i64 = book.balances.values().sum();
    let shares = (
        split(d.from_hold).expert + split(d.extra).expert,
        split(d.from_hold).platform + split(d.extra).platform,
    );
    if total != 0
        || book.get("earnings") != shares.0
        || book.get("revenue") != shares.1
        || book.get("earnings") + book.get("revenue") != d.owed
    {
        return Err(format!("ledger {:?} for owed {}", book.balances, d.owed));
    }
    if book.get("held") != 0 || book.get("wallet") != wallet0 + terms.held - d.owed {
        return Err(format!("wallet or hold wrong: {:?}", book.balances));
    }
    Ok(d)
}

#[test]
fn billing_matches_true_presence_whatever_the_delivery() {
    if let Ok(seed) = std::env::var("CALLS_SIM_SEED") {
        let seed: u64 = seed.parse().expect("CALLS_SIM_SEED is a number");
        if let Err(e) = run(seed) {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    let seeds: u64 = std::env::var("CALLS_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut seen = BTreeMap::new();
    for seed in 0..seeds {
        match run(seed) {
            Ok(d) => {
                let kind = match d.no_show {
                    Some(n) => format!("{n:?} no-show"),
                    None if d.extra > 0 => format!("{:?} beyond the hold", d.end),
                    None => format!("{:?}", d.end),
                };
                *seen.entry(kind).or_insert(0) += 1;
            }
            Err(e) => panic!("seed {seed} failed (replay: CALLS_SIM_SEED={seed}): {e}"),
        }
    }
    // The seeds cover every way a call ends.
    for kind in [
        "Expert no-show",
        "User no-show",
        "Completed",
        "TimeUp",
        "TimeUp beyond the hold",
        "BalanceExhausted",
        "BalanceExhausted beyond the hold",
    ] {
        if seeds >= 10_000 {
            assert!(seen.contains_key(kind), "no seed ended as {kind}: {seen:?}");
        }
    }
}
