//! A short run of each scenario against a real server (in this process),
//! checking that the report's numbers are consistent with each other and
//! with what was asked: nothing lost, every receiver's first frames, sizes
//! as asked, received no more than sent. Speed is not checked.

mod common;

use std::sync::Arc;
use std::time::Duration;

use loadtest::deepinfluence::{AdminAuth, DeepInfluence};
use loadtest::janus::{JanusServer, JanusTarget};
use loadtest::layout::Layout;
use loadtest::report::{ParticipantReport, Report};
use loadtest::scenario::{run, Plan, Scenario};
use loadtest::slo::Slo;

use common::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn target(server: &Server) -> Arc<DeepInfluence> {
    let auth = AdminAuth::Password {
        email: ADMIN_EMAIL.to_owned(),
        password: ADMIN_PASSWORD.to_owned(),
    };
    // Our own process: its CPU and memory are the server's plus ours.
    Arc::new(
        DeepInfluence::connect(&server.url, auth, Some(std::process::id()))
            .await
            .expect("the administrator logs in"),
    )
}

fn plan(scenario: Scenario) -> Plan {
    Plan {
        scenario,
        join_rate: 20.0,
        duration: Duration::from_secs(2),
        decode_sample: 1.0,
        fps: 15,
        keyframe_every: Duration::from_secs(2),
        settle: Duration::from_secs(20),
        // A debug build sharing two cores with other tests can stall a few
        // hundred milliseconds; a picture stopped for two seconds is a lost
        // keyframe or stream, which is what this checks.
        freeze_after: Duration::from_secs(2),
        progress: false,
        slo: Slo {
            max_loss: Some(0.0),
            max_freezes: Some(0),
            max_latency: None,
        },
    }
}

/// What every run must show, whatever the scenario.
fn consistent(r: &Report) {
    assert!(r.join_failures.is_empty(), "{:?}", r.join_failures);
    assert_eq!(r.joined, r.parameters.participants);
    assert!(r.slo.missed.is_empty(), "{:?}\n{r}", r.slo.missed);
    let m = &r.media;
    assert_eq!(m.lost_packets, 0, "{r}");
    assert_eq!(m.freezes, 0, "{r}");
    assert!(m.freezes_measuring <= m.freezes);
    assert_eq!(m.without_first_frame, 0, "{r}");
    assert!(m.received_packets > 0 && m.video_frames > 0 && m.audio_frames > 0);
    let latency = m.latency_ms.expect("abs-capture-time crosses the SFU");
    assert!(latency.samples > 0 && latency.p50 <= latency.max);
    let receivers = r
        .participants
        .iter()
        .filter(|p| p.expected_video_tracks > 0);
    let totals: u64 = r.participants.iter().map(|p| p.received_packets).sum();
    assert_eq!(
        totals, m.received_packets,
        "the totals are the participants' sums"
    );
    for p in receivers {
        assert_eq!(p.video_tracks, p.expected_video_tracks, "{p:?}");
        assert_eq!(p.audio_tracks, p.expected_video_tracks, "{p:?}");
        assert!(p.first_frame_ms.is_some(), "{p:?}");
        assert_eq!(p.decode_errors, 0, "{p:?}");
        assert!(
            p.sizes.len() >= p.video_tracks,
            "everyone decodes here: {p:?}"
        );
        let sent: u64 = r
            .participants
            .iter()
            .filter(|o| o.room == p.room && o.publishes && o.name != p.name)
            .map(|o| o.sent_packets)
            .sum();
        assert!(
            p.received_packets <= sent,
            "{} received {} packets of the {sent} its publishers sent",
            p.name,
            p.received_packets
        );
    }
    let s = &r.server;
    assert!(s.forwarded_packets.is_some_and(|f| f > 0.0), "{s:?}");
    assert!(
        s.cpu_us_per_forwarded_packet.is_some_and(|c| c > 0.0),
        "{s:?}"
    );
    assert!(s.rss_per_participant_kb.is_some(), "{s:?}");
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["media"]["lost_packets"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consultations_deliver_both_ways_in_every_room() {
    let server = Server::start(50).await;
    let r = run(
        target(&server).await,
        &plan(Scenario::Consultations { rooms: 2 }),
    )
    .await
    .unwrap();
    consistent(&r);
    assert_eq!(r.parameters.rooms, 2);
    assert!(r
        .participants
        .iter()
        .all(|p| p.publishes && p.sent_packets > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_delivers_everyone_to_everyone() {
    let server = Server::start(50).await;
    let r = run(
        target(&server).await,
        &plan(Scenario::Meeting { publishers: 3 }),
    )
    .await
    .unwrap();
    consistent(&r);
    assert!(r.participants.iter().all(|p| p.video_tracks == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_subscribers_get_the_sizes_they_asked_for() {
    let server = Server::start(50).await;
    let layout = Layout::parse("q=1,h=1,f=1").unwrap();
    let r = run(target(&server).await, &plan(Scenario::Fanout { layout }))
        .await
        .unwrap();
    consistent(&r);
    let subscribers: Vec<&ParticipantReport> =
        r.participants.iter().filter(|p| !p.publishes).collect();
    assert_eq!(subscribers.len(), 3);
    // The size asked for was reached; the bandwidth estimate of a loaded
    // machine may move it down and up again afterwards.
    for s in subscribers {
        assert!(s.sizes.contains(&s.asked.unwrap()), "{s:?}");
        assert_eq!(s.sent_packets, 0);
    }
}

/// The same fan-out against Janus (`--target janus`): the scenario drives a
/// real Janus through its HTTP API, every subscriber decodes the layer
/// that fits, nothing is lost, and Janus's CPU is read per packet received
/// (it exports no forwarded count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_through_janus_delivers_and_measures_janus() {
    let janus = JanusServer::start().await.expect("janus starts");
    let target = JanusTarget::connect(janus.url(), Some(janus.pid()))
        .await
        .expect("connect");
    let layout = Layout::parse("q=1,f=1").unwrap();
    let r = run(Arc::new(target), &plan(Scenario::Fanout { layout }))
        .await
        .unwrap();
    assert_eq!(r.target, "janus");
    assert!(r.join_failures.is_empty(), "{:?}", r.join_failures);
    assert_eq!(r.joined, 3);
    assert!(r.slo.missed.is_empty(), "{:?}\n{r}", r.slo.missed);
    assert_eq!(r.media.lost_packets, 0, "{r}");
    assert_eq!(r.media.without_first_frame, 0, "{r}");
    let sent: u64 = r.participants.iter().map(|p| p.sent_packets).sum();
    for s in r.participants.iter().filter(|p| !p.publishes) {
        assert!(s.sizes.contains(&s.asked.unwrap()), "{s:?}");
        assert_eq!(s.decode_errors, 0, "{s:?}");
        assert!(
            s.received_packets > 0 && s.received_packets <= sent,
            "{s:?}"
        );
    }
    let server = &r.server;
    assert_eq!(server.forwarded_packets, None, "Janus exports no count");
    assert!(server.received_packets > 0, "{server:?}");
    assert!(
        server.cpu_us_per_received_packet.is_some_and(|c| c > 0.0),
        "{server:?}"
    );
}

/// The binary: a missed objective is a non-zero exit naming it, and the
/// JSON is written all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_non_zero_naming_the_missed_slo() {
    let server = Server::start(50).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_deepinfluence-loadtest"))
        .args([
            "fanout",
            "--subscribers",
            "1",
            "--duration",
            "1s",
            "--quiet",
        ])
        // No latency is that small: this objective is missed for sure.
        .args(["--max-latency-ms", "0", "--max-loss", "100%"])
        .arg("--json")
        .arg(&json)
        .env("DI_LOADTEST_URL", &server.url)
        .env("DI_LOADTEST_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("DI_LOADTEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("SLO missed: latency: p99"), "{stderr}");
    assert!(!stderr.contains("loss:"), "loss was within 100%: {stderr}");
    assert!(stdout.contains("SLO MISSED  latency"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["scenario"], "fanout");
    assert_eq!(report["joined"], 2);
    assert_eq!(report["slo"]["missed"].as_array().unwrap().len(), 1);
}
