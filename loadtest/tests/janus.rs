//! The Janus target against a real Janus (Debian's `janus`, which
//! `scripts/test` installs), started by the test on loopback.

use std::time::Duration;

use loadtest::janus::{Janus, JanusError, JanusServer, RoomConfig, NO_SUCH_ROOM};
use simpeer::{Options, Size, Stats, SIMULCAST};

const SMALL: Size = Size {
    width: 200,
    height: 120,
};
const LARGE: Size = Size {
    width: 1280,
    height: 720,
};

/// Decoded video frames and Opus frames on the tracks of `stats`.
fn frames(stats: &Stats) -> (u64, u64) {
    stats
        .tracks
        .values()
        .fold((0, 0), |(v, a), r| (v + r.video_frames, a + r.audio_frames))
}

fn video_size(stats: &Stats) -> Option<Size> {
    stats.tracks.values().find_map(|r| r.size)
}

/// A Janus of our own, connected, with a room for one publisher.
async fn janus_with_room() -> (JanusServer, Janus, u64) {
    let server = JanusServer::start().await.expect("janus starts");
    let janus = Janus::connect(server.url()).await.expect("connect");
    let room = janus
        .create_room(RoomConfig { publishers: 1 })
        .await
        .expect("room");
    (server, janus, room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_decode_the_simulcast_layer_that_fits_and_hear_opus() {
    let (_server, janus, room) = janus_with_room().await;
    let options = Options {
        camera: SIMULCAST.to_vec(),
        microphone: true,
        ..Options::default()
    };
    let publisher = janus
        .publish(room, "publisher", options)
        .await
        .expect("publish");
    let feed = publisher.feed().expect("a publisher has a feed").clone();
    let small = janus
        .subscribe(room, &feed, SMALL, Options::default())
        .await
        .expect("small subscriber");
    let large = janus
        .subscribe(room, &feed, LARGE, Options::default())
        .await
        .expect("large subscriber");

    // Enough frames that the layer is the one forwarded, not a switch.
    let enough = |s: &Stats| {
        let (video, audio) = frames(s);
        video >= 10 && audio >= 10
    };
    for (who, subscriber, expected) in [
        ("small", &small, SIMULCAST[0].1),
        ("large", &large, SIMULCAST[2].1),
    ] {
        let stats = subscriber
            .peer()
            .wait_for(Duration::from_secs(10), enough)
            .unwrap_or_else(|s| panic!("{who} subscriber got too little: {s:?}"));
        assert_eq!(video_size(&stats), Some(expected), "{who}: {stats:?}");
        let decode_errors: u64 = stats.tracks.values().map(|r| r.decode_errors).sum();
        assert_eq!(decode_errors, 0, "{who}: {stats:?}");
        let samples: u64 = stats.tracks.values().map(|r| r.audio_samples).sum();
        assert!(samples > 0, "{who} decoded no Opus samples: {stats:?}");
    }
    small.leave().await.expect("leave");
    large.leave().await.expect("leave");
    publisher.leave().await.expect("leave");
    janus.destroy_room(room).await.expect("destroy room");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_room_that_does_not_exist_names_janus_error_code() {
    let (_server, janus, room) = janus_with_room().await;
    janus.destroy_room(room).await.expect("destroy room");
    let refused = janus.publish(room, "late", Options::default()).await;
    match refused {
        Err(JanusError::Refused {
            code, ref request, ..
        }) => {
            assert_eq!(code, NO_SUCH_ROOM);
            assert_eq!(request, "join");
        }
        Err(e) => panic!("expected Janus's refusal, got {e}"),
        Ok(_) => panic!("joined a destroyed room"),
    }
}
