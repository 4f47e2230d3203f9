//! Calls over real UDP on loopback: simulated participants publish real
//! H.264 and Opus through the SFU and decode what they receive.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Sfu};
use proto::sfu::{Request, Role, Sdp, Source, Want};
use simpeer::{Options, Size};

const WAIT: Duration = Duration::from_secs(20);

/// `participant` of room `sim` renders `track` at this size.
async fn want_size(sfu: &Sfu, participant: &str, track: u32, width: u32, height: u32) {
    let want = Want::Size { width, height };
    sfu.request("sim", participant, Request::Want { track, want })
        .await
        .expect("want");
}

/// A node with an expert publishing the camera at the three simulcast sizes.
async fn simulcast_publisher(room: &str) -> (Sfu, Arc<simpeer::Peer>) {
    let sfu = Sfu::start(1).await;
    let publisher = Options {
        camera: simpeer::SIMULCAST.to_vec(),
        microphone: false,
        ..Options::default()
    };
    let expert = sfu.join(room, "expert", Role::Host, publisher).await;
    (sfu, expert)
}

/// A node with alice (host) and bob in `room`, each with camera and microphone.
async fn two_parties(room: &str) -> (Sfu, Arc<simpeer::Peer>, Arc<simpeer::Peer>) {
    let sfu = Sfu::start(1).await;
    let alice = sfu
        .join(room, "alice", Role::Host, Options::default())
        .await;
    let bob = sfu
        .join(room, "bob", Role::Participant, Options::default())
        .await;
    (sfu, alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_decode_each_others_video_and_audio() {
    let (sfu, alice, bob) = two_parties("r1").await;
    let alice_cam = sfu.track_of("alice", Source::Camera).await;
    let alice_mic = sfu.track_of("alice", Source::Microphone).await;
    let bob_cam = sfu.track_of("bob", Source::Camera).await;
    let bob_mic = sfu.track_of("bob", Source::Microphone).await;
    let size = Size {
        width: 320,
        height: 180,
    };
    for (who, peer, cam, mic) in [
        ("alice", &alice, bob_cam, bob_mic),
        ("bob", &bob, alice_cam, alice_mic),
    ] {
        let got = eventually(WAIT, || {
            let s = peer.stats();
            let v = s.tracks.get(&cam)?;
            let a = s.tracks.get(&mic)?;
            (v.video_frames >= 20 && a.audio_frames >= 50).then_some((v.clone(), a.clone()))
        })
        .await;
        let (video, audio) = got.unwrap_or_else(|| panic!("{who} got {:?}", peer.stats()));
        assert_eq!(video.size, Some(size), "{who} decodes full frames");
        assert_eq!(video.sizes, vec![size], "{who} never saw another size");
        assert_eq!(video.decode_errors, 0, "{who} decoded every frame");
        assert_eq!(
            audio.audio_samples,
            audio.audio_frames * 960,
            "{who}: 20 ms Opus frames"
        );
    }
    assert!(sfu.metric("sfu_forwarded_packets_total") > 0.0);
    assert!(sfu.metric_with("sfu_packets_total", "kind", "rtp") > 0.0);
    assert!(sfu.observations("sfu_forwarding_latency_microseconds") > 0);
    // Both send a loud tone: both are active speakers.
    let speakers = common::eventually(WAIT, || {
        sfu.room_events().into_iter().find_map(|e| match e {
            proto::sfu::Event::Speakers { participants, .. } if participants.len() == 2 => {
                Some(participants)
            }
            _ => None,
        })
    })
    .await
    .expect("speakers reported");
    assert!(speakers.contains(&"alice".to_owned()) && speakers.contains(&"bob".to_owned()));
}

fn camera_and_mic() -> Options {
    Options::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_parties_each_decode_the_three_others() {
    let sfu = Sfu::start(1).await;
    let names = ["p1", "p2", "p3", "p4"];
    let mut peers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let role = if i == 0 {
            Role::Host
        } else {
            Role::Participant
        };
        let options = Options {
            fps: 10,
            ..camera_and_mic()
        };
        peers.push(sfu.join("four", name, role, options).await);
    }
    let mut cameras = Vec::new();
    for name in names {
        cameras.push(sfu.track_of(name, Source::Camera).await);
    }
    for (i, peer) in peers.iter().enumerate() {
        let others: Vec<u32> = cameras
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, t)| *t)
            .collect();
        let stats = peer
            .wait_for(WAIT, |s| {
                others
                    .iter()
                    .all(|t| s.tracks.get(t).is_some_and(|r| r.video_frames >= 10))
            })
            .unwrap_or_else(|s| panic!("{} got {:?}", names[i], s.tracks));
        assert!(
            !stats.tracks.contains_key(&cameras[i]),
            "{} does not get its own camera back",
            names[i]
        );
        for t in &others {
            assert_eq!(stats.tracks[t].decode_errors, 0);
            assert_eq!(
                stats.tracks[t].size,
                Some(Size {
                    width: 320,
                    height: 180
                })
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_subscribers_get_the_layer_for_their_size_and_switch_cleanly() {
    let (sfu, _expert) = simulcast_publisher("sim").await;
    let watcher = Options {
        camera: vec![],
        microphone: false,
        ..Options::default()
    };
    let small = sfu
        .join("sim", "small", Role::Participant, watcher.clone())
        .await;
    let large = sfu.join("sim", "large", Role::Participant, watcher).await;
    let cam = sfu.track_of("expert", Source::Camera).await;
    want_size(&sfu, "small", cam, 160, 90).await;
    let q = Size {
        width: 160,
        height: 90,
    };
    let f = Size {
        width: 640,
        height: 360,
    };
    // Layers start one by one and the request races the first packets:
    // wait for the small layer to settle.
    let got = small
        .wait_for(WAIT, |s| {
            s.tracks
                .get(&cam)
                .is_some_and(|r| r.size == Some(q) && r.video_frames >= 15)
        })
        .unwrap_or_else(|s| panic!("small got {:?}", s.tracks));
    let (settled, errors) = (got.tracks[&cam].sizes.len(), got.tracks[&cam].decode_errors);
    assert_eq!(
        got.tracks[&cam].size,
        Some(q),
        "the small layer for a small element"
    );
    // The default size wants the full layer, once the bandwidth estimate
    // (which a loaded machine makes wobble) allows it.
    large
        .wait_for(WAIT, |s| {
            s.tracks
                .get(&cam)
                .is_some_and(|r| r.size == Some(f) && r.video_frames >= 15)
        })
        .unwrap_or_else(|s| panic!("large never got the full layer: {:?}", s.tracks));

    // Dynacast: nobody would watch the middle layer, and the publisher is told.
    let latest_layers = || {
        sfu.room_events().into_iter().rev().find_map(|e| match e {
            proto::sfu::Event::Layers { track, rids, .. } if track == cam => Some(rids),
            _ => None,
        })
    };
    let expected = vec!["q".to_owned(), "f".to_owned()];
    let told = eventually(WAIT, || (latest_layers()? == expected).then_some(())).await;
    assert!(told.is_some(), "last told {:?}", latest_layers());

    // The small window grows: the stream moves up at a keyframe, one SSRC,
    // and every frame still decodes.
    want_size(&sfu, "small", cam, 640, 360).await;
    let got = small
        .wait_for(WAIT, |s| {
            s.tracks.get(&cam).is_some_and(|r| r.size == Some(f))
        })
        .unwrap_or_else(|s| panic!("small never moved up: {:?}", s.tracks));
    let before = got.tracks[&cam].video_frames;
    let got = small
        .wait_for(WAIT, |s| s.tracks[&cam].video_frames >= before + 10)
        .unwrap();
    // Up to the asked size, through the middle layer if the bandwidth
    // estimate is still growing (or dipping, on a loaded machine); every
    // switch as clean.
    let moves = &got.tracks[&cam].sizes[settled..];
    assert!(moves.contains(&f), "{moves:?}");
    assert_eq!(
        got.tracks[&cam].decode_errors, errors,
        "continuous across the switch"
    );

    // Hidden: nothing more arrives.
    sfu.request(
        "sim",
        "small",
        Request::Want {
            track: cam,
            want: Want::Paused,
        },
    )
    .await
    .expect("pause");
    // Frames already on their way still land (a loaded machine may take a
    // while); then a whole second passes without one.
    let mut quiet = false;
    for _ in 0..8 {
        let at = small.stats().tracks[&cam].video_frames;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if small.stats().tracks[&cam].video_frames == at {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "frames kept coming after the pause");
    assert!(sfu.metric("sfu_layer_switches_total") >= 3.0);
    // Switching up asked the publisher for keyframes.
    assert!(sfu.metric_with("sfu_feedback_total", "kind", "pli") > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_share_arrives_next_to_the_camera() {
    let sfu = Sfu::start(1).await;
    let screen = Size {
        width: 480,
        height: 270,
    };
    let _expert = sfu
        .join(
            "screen",
            "expert",
            Role::Host,
            Options {
                screen: Some(screen),
                microphone: false,
                ..Options::default()
            },
        )
        .await;
    let client = sfu
        .join(
            "screen",
            "client",
            Role::Participant,
            Options {
                camera: vec![],
                microphone: false,
                ..Options::default()
            },
        )
        .await;
    let cam = sfu.track_of("expert", Source::Camera).await;
    let shared = sfu.track_of("expert", Source::Screen).await;
    assert_ne!(cam, shared);
    let got = client
        .wait_for(WAIT, |s| {
            [cam, shared]
                .iter()
                .all(|t| s.tracks.get(t).is_some_and(|r| r.video_frames >= 10))
        })
        .unwrap_or_else(|s| panic!("client got {:?}", s.tracks));
    assert_eq!(
        got.tracks[&cam].size,
        Some(Size {
            width: 320,
            height: 180
        })
    );
    assert_eq!(got.tracks[&shared].size, Some(screen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_whose_bandwidth_is_cut_moves_down_and_back_up() {
    let (sfu, _expert) = simulcast_publisher("bw").await;
    let viewer = sfu.watch("bw", "viewer", Role::Participant).await;
    let cam = sfu.track_of("expert", Source::Camera).await;
    let f = Size {
        width: 640,
        height: 360,
    };
    viewer
        .wait_for(WAIT, |s| {
            s.tracks
                .get(&cam)
                .is_some_and(|r| r.size == Some(f) && r.video_frames > 10)
        })
        .unwrap_or_else(|s| panic!("viewer got {:?}", s.tracks));
    viewer.limit_bandwidth(Some(150_000));
    let down = viewer
        .wait_for(Duration::from_secs(30), |s| {
            s.tracks[&cam].size.is_some_and(|z| z.width < f.width)
        })
        .unwrap_or_else(|s| panic!("never moved down: {:?}", s.tracks[&cam]));
    let low = down.tracks[&cam].size.unwrap();
    viewer.limit_bandwidth(None);
    let up = viewer
        .wait_for(Duration::from_secs(40), |s| s.tracks[&cam].size == Some(f))
        .unwrap_or_else(|s| panic!("never moved back up: {:?}", s.tracks[&cam]));
    let sizes = &up.tracks[&cam].sizes;
    let cut = down.tracks[&cam].sizes.len();
    assert_eq!(sizes[cut - 2..cut], [f, low], "down from the full layer");
    assert_eq!(sizes.last(), Some(&f));
    let errors = up.tracks[&cam].decode_errors;
    let frames = up.tracks[&cam].video_frames;
    let after = viewer
        .wait_for(WAIT, |s| s.tracks[&cam].video_frames >= frames + 15)
        .unwrap();
    assert_eq!(
        after.tracks[&cam].decode_errors, errors,
        "clean once back up"
    );
    // The losses on the capped link were asked for again, and counted.
    assert!(sfu.metric_with("sfu_feedback_total", "kind", "nack") > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_the_call_and_its_tracks() {
    let (sfu, alice, bob) = two_parties("restart").await;
    let bob_cam = sfu.track_of("bob", Source::Camera).await;
    let frames = |s: &simpeer::Stats| s.tracks.get(&bob_cam).map_or(0, |r| r.video_frames);
    alice.wait_for(WAIT, |s| frames(s) > 10).expect("call up");
    let old = bob.sfu_ufrag.clone().unwrap();

    let offer = bob.restart_ice().expect("restart offer");
    let Some(Sdp::Answer(answer)) = sfu
        .request(
            "restart",
            "bob",
            Request::Offer {
                sdp: offer,
                tracks: vec![],
            },
        )
        .await
        .expect("the SFU answers a restart")
    else {
        panic!("an answer");
    };
    assert!(
        !answer.contains(&format!("a=ice-ufrag:{old}")),
        "new credentials"
    );
    bob.accept_answer(&answer).expect("answer applies");
    // Connectivity checks now use the new credentials: none is refused,
    // and bob's camera keeps reaching alice on the same track.
    let at = frames(&alice.stats());
    alice
        .wait_for(WAIT, |s| frames(s) > at + 30)
        .expect("media after the restart");
    assert_eq!(
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "unknown_ufrag"),
        0.0
    );
    assert_eq!(
        sfu.metric_with("sfu_dropped_datagrams_total", "reason", "bad_stun_auth"),
        0.0
    );
    assert_eq!(alice.stats().tracks[&bob_cam].decode_errors, 0);
}

/// Load generation sends a loop encoded once: the loop must decode across
/// its wrap-around, and a late subscriber's keyframe request must restart
/// it rather than wait for the next pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prerecorded_loop_decodes_across_its_wrap_and_restarts_for_a_keyframe() {
    let sfu = Sfu::start(1).await;
    let looped = Options {
        microphone: false,
        fps: 30,
        // Thirty seconds a pass: a late joiner that waited for the loop's
        // own keyframe would see nothing within the test's wait.
        prerecorded: Some(900),
        ..Options::default()
    };
    let _expert = sfu.join("loop", "expert", Role::Host, looped).await;
    let cam = sfu.track_of("expert", Source::Camera).await;
    let early = sfu.watch("loop", "early", Role::Viewer).await;
    early
        .wait_for(WAIT, |s| {
            s.tracks.get(&cam).is_some_and(|t| t.video_frames >= 30)
        })
        .expect("the first subscriber decodes the loop");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late = sfu.watch("loop", "late", Role::Viewer).await;
    let got = late
        .wait_for(Duration::from_secs(5), |s| {
            s.tracks.get(&cam).is_some_and(|t| t.video_frames >= 10)
        })
        .unwrap_or_else(|s| panic!("the late subscriber got a keyframe at once: {s:?}"));
    assert_eq!(got.tracks[&cam].decode_errors, 0);
    let short = Options {
        microphone: false,
        fps: 30,
        prerecorded: Some(20),
        ..Options::default()
    };
    let _short = sfu.join("wrap", "speaker", Role::Host, short).await;
    let cam = sfu.track_of("speaker", Source::Camera).await;
    let viewer = sfu.watch("wrap", "viewer", Role::Viewer).await;
    let got = viewer
        .wait_for(WAIT, |s| {
            s.tracks.get(&cam).is_some_and(|t| t.video_frames >= 70)
        })
        .unwrap_or_else(|s| panic!("three passes of a 20-frame loop: {s:?}"));
    assert_eq!(
        got.tracks[&cam].decode_errors, 0,
        "the wrap decodes cleanly"
    );
}
