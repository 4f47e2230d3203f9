//! Calls over real UDP on loopback: simulated participants publish real
//! H.264 and Opus through the SFU and decode what they receive.

mod common;

use std::time::Duration;

use common::{eventually, Sfu};
use proto::sfu::{Role, Source};
use simpeer::{Options, Size};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_decode_each_others_video_and_audio() {
    let sfu = Sfu::start(1).await;
    let alice = sfu
        .join("r1", "alice", Role::Host, Options::default())
        .await;
    let bob = sfu
        .join("r1", "bob", Role::Participant, Options::default())
        .await;
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
}
