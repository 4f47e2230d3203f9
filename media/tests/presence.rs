//! Presence over the bus: a participant connected for N seconds is reported
//! for N seconds, give or take one at the edges, although the consumer reads
//! some reports twice and is restarted half-way.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::test_config;
use media::node::relay::{Relay, PRESENCE_STREAM};
use media::node::Node;
use platform::bus::{Bus, ReadOptions};
use proto::sfu::{Join, Role, Sdp};
use proto::{PresenceReport, Seconds};
use simpeer::{Offerer, Options};

const REDELIVER: Duration = Duration::from_millis(400);

/// What a billing consumer keeps: seconds per (room, participant). Union
/// makes a report read twice harmless.
#[derive(Default)]
struct Ledger {
    seconds: HashMap<(String, String), Seconds>,
    deliveries: usize,
    reports: HashSet<u64>,
    last_seen: bool,
}

/// Reads as consumer `name` for `run_for`, acknowledging only every other
/// entry when `flaky` (a consumer that dies before acknowledging the rest).
async fn consume(
    bus: &Bus,
    group: &str,
    name: &str,
    room: &str,
    ledger: &mut Ledger,
    run_for: Duration,
    flaky: bool,
) {
    let end = tokio::time::Instant::now() + run_for;
    let mut n = 0;
    while tokio::time::Instant::now() < end {
        let opts = ReadOptions {
            group,
            consumer: name,
            max: 100,
            block: Duration::from_millis(100),
        };
        let entries = bus.read(PRESENCE_STREAM, opts).await.expect("read");
        let mut ack = Vec::new();
        for e in entries {
            let Ok(report) = serde_json::from_slice::<PresenceReport>(&e.payload) else {
                ack.push(e.id);
                continue;
            };
            if report.room != room {
                // Another run's report (Redis keeps the stream).
                ack.push(e.id);
                continue;
            }
            n += 1;
            ledger.deliveries += 1;
            ledger.reports.insert(report.seq);
            ledger.last_seen |= report.last && report.participant == "alice";
            ledger
                .seconds
                .entry((report.room, report.participant))
                .or_default()
                .union(&report.seconds);
            if !flaky || n % 2 == 0 {
                ack.push(e.id);
            }
        }
        bus.ack(PRESENCE_STREAM, group, &ack).await.expect("ack");
    }
}

async fn reported_seconds_match_connected_time(bus: Bus) {
    let registry = prometheus::Registry::new();
    let (node, rx) = Node::start(test_config(), &registry).expect("node");
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let relay = tokio::spawn(
        Relay {
            bus: bus.clone(),
            events,
            publish_events: false,
        }
        .run(rx),
    );
    let room = format!("presence-{}", uuid::Uuid::new_v4());
    let (offerer, offer, tracks) = Offerer::new(Options::default()).unwrap();
    let welcome = node
        .join(Join {
            room: room.clone(),
            participant: "alice".into(),
            role: Role::Host,
            may_publish: common::ALL.to_vec(),
            offer: Some(offer),
            tracks,
        })
        .await
        .unwrap();
    let Sdp::Answer(answer) = welcome.sdp else {
        panic!()
    };
    let alice = offerer.connect(&answer).unwrap();
    alice
        .wait_for(Duration::from_secs(10), |s| s.connected)
        .expect("connected");
    let connected_at = Instant::now();

    let group = format!("billing-{}", uuid::Uuid::new_v4());
    let mut ledger = Ledger::default();
    // A first consumer that acknowledges only half of what it reads, then
    // dies; a second one takes over and is handed the rest again.
    consume(
        &bus,
        &group,
        "first",
        &room,
        &mut ledger,
        Duration::from_millis(2_500),
        true,
    )
    .await;
    consume(
        &bus,
        &group,
        "second",
        &room,
        &mut ledger,
        Duration::from_millis(1_500),
        false,
    )
    .await;

    node.request(&room, "alice", proto::sfu::Request::Leave)
        .await
        .unwrap();
    let present_for = connected_at.elapsed().as_secs_f64();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ledger.last_seen && tokio::time::Instant::now() < deadline {
        consume(
            &bus,
            &group,
            "second",
            &room,
            &mut ledger,
            Duration::from_millis(300),
            false,
        )
        .await;
    }
    assert!(ledger.last_seen, "the final report arrives");
    let reported = ledger.seconds[&(room.clone(), "alice".to_owned())].len() as f64;
    assert!(
        (reported - present_for).abs() <= 1.0 + 0.1,
        "connected {present_for:.2}s, reported {reported}s"
    );
    assert!(
        ledger.deliveries > ledger.reports.len(),
        "some reports were read twice ({} deliveries of {} reports)",
        ledger.deliveries,
        ledger.reports.len()
    );
    drop(alice);
    drop(node);
    relay.await.expect("relay stops with the node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_on_the_in_process_bus() {
    reported_seconds_match_connected_time(Bus::connect(None, REDELIVER).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_on_redis() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    reported_seconds_match_connected_time(Bus::connect(Some(&url), REDELIVER).await.unwrap()).await;
}
