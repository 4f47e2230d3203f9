//! Hostile input at the media port during a live call: random bytes, and
//! random and mutated STUN, DTLS, RTP and RTCP, some of it from an address
//! the demultiplexer has learnt for a real participant (so it reaches that
//! participant's str0m session). The call keeps flowing, every datagram the
//! demultiplexer refuses is counted by reason, and the node still admits
//! newcomers afterwards.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::Sfu;
use proto::sfu::{Role, Source};
use rand::{Rng, RngCore, SeedableRng};
use simpeer::Options;

/// Enough to run for several seconds against a debug build; raise with
/// HOSTILE_DATAGRAMS for a longer soak.
const DEFAULT_DATAGRAMS: usize = 1_000_000;

fn binding_request(username: &str, rng: &mut impl RngCore) -> Vec<u8> {
    let mut attrs = vec![0x00, 0x06];
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    // MESSAGE-INTEGRITY with a made-up HMAC.
    attrs.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    let mut mac = [0u8; 20];
    rng.fill_bytes(&mut mac);
    attrs.extend_from_slice(&mac);
    let mut d = vec![0x00, 0x01];
    d.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    d.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
    let mut tid = [0u8; 12];
    rng.fill_bytes(&mut tid);
    d.extend_from_slice(&tid);
    d.extend_from_slice(&attrs);
    d
}

fn hostile(kind: u32, ufrag: &str, rng: &mut impl RngCore) -> Vec<u8> {
    let len = rng.random_range(0..1400);
    let mut d = vec![0u8; len];
    rng.fill_bytes(&mut d);
    match kind % 6 {
        // Anything at all.
        0 => d,
        // A binding request for the participant, mutated.
        1 => {
            let mut m = binding_request(&format!("{ufrag}:evil"), rng);
            for _ in 0..rng.random_range(0..4) {
                let i = rng.random_range(0..m.len());
                m[i] ^= 1 << rng.random_range(0..8);
            }
            m.truncate(rng.random_range(0..=m.len()));
            m
        }
        // DTLS records: content types 20 to 23, versions, lengths.
        2 => {
            d.splice(0..0, [rng.random_range(20..=25), 0xfe, 0xfd]);
            d
        }
        // RTP, version 2, any payload type.
        3 => {
            d.splice(0..0, [0x80 | rng.random_range(0..0x40u8), rng.random()]);
            d
        }
        // RTCP: SR, RR, SDES, BYE, APP, feedback.
        4 => {
            d.splice(
                0..0,
                [
                    0x80 | rng.random_range(0..0x20u8),
                    rng.random_range(200..=206),
                    0,
                    rng.random(),
                ],
            );
            d
        }
        // STUN-looking headers with random bodies.
        _ => {
            d.splice(
                0..0,
                [
                    0x00,
                    rng.random_range(0..4),
                    0,
                    0x10,
                    0x21,
                    0x12,
                    0xa4,
                    0x42,
                ],
            );
            d
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_call_survives_a_flood_of_hostile_datagrams() {
    let sfu = Sfu::start(1).await;
    let alice = sfu
        .join(
            "flood",
            "alice",
            Role::Host,
            Options {
                fps: 10,
                ..Options::default()
            },
        )
        .await;
    let bob = sfu
        .join(
            "flood",
            "bob",
            Role::Participant,
            Options {
                fps: 10,
                ..Options::default()
            },
        )
        .await;
    let bob_cam = sfu.track_of("bob", Source::Camera).await;
    let frames = |s: &simpeer::Stats| s.tracks.get(&bob_cam).map_or(0, |r| r.video_frames);
    alice
        .wait_for(Duration::from_secs(20), |s| frames(s) > 10)
        .expect("call up");
    let ufrag = bob.sfu_ufrag.clone().expect("bob's ufrag");
    let target = sfu.node.addresses()[0];
    let total: usize = std::env::var("HOSTILE_DATAGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DATAGRAMS);

    let flood = std::thread::spawn(move || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let sockets: Vec<UdpSocket> = (0..4)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        // Teach the demultiplexer the first socket's address as bob's.
        sockets[0]
            .send_to(&binding_request(&format!("{ufrag}:evil"), &mut rng), target)
            .unwrap();
        let start = Instant::now();
        for i in 0..total {
            let d = hostile(rng.random(), &ufrag, &mut rng);
            let _ = sockets[i % sockets.len()].send_to(&d, target);
            if i % 2_000 == 0 {
                // Keep the kernel queue from being the only thing tested.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        start.elapsed()
    });
    // Frames keep arriving while the flood lasts.
    let mut during = Vec::new();
    while !flood.is_finished() {
        let before = frames(&alice.stats());
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        during.push(frames(&alice.stats()) - before);
    }
    let took = flood.join().unwrap();
    println!("{total} datagrams in {took:?}; frames per second during: {during:?}");
    assert!(!during.is_empty());
    assert!(
        during.iter().all(|&n| n > 0),
        "the call stalled: {during:?}"
    );
    let before = frames(&alice.stats());
    alice
        .wait_for(Duration::from_secs(10), |s| frames(s) > before + 10)
        .expect("still flowing afterwards");

    let dropped = sfu.metric("sfu_dropped_datagrams_total");
    println!(
        "dropped: not_webrtc {}, bad_stun {}, bad_stun_auth {}, unknown_ufrag {}, unknown_source {}, peer_rejected {}",
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "not_webrtc"),
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "bad_stun"),
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "bad_stun_auth"),
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "unknown_ufrag"),
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "unknown_source"),
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "peer_rejected"),
    );
    assert!(dropped > 0.0);
    for reason in ["not_webrtc", "bad_stun", "bad_stun_auth", "unknown_source"] {
        assert!(
            sfu.metric_with("sfu_dropped_datagrams_total", "reason", reason) > 0.0,
            "{reason} counted"
        );
    }
    // The node still takes newcomers.
    let carol = sfu
        .join(
            "flood",
            "carol",
            Role::Participant,
            Options {
                fps: 10,
                ..Options::default()
            },
        )
        .await;
    carol
        .wait_for(Duration::from_secs(20), |s| frames(s) > 5)
        .expect("a newcomer gets the call");
}
