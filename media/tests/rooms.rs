//! Room behaviour over real UDP: data channels and the whiteboard, moderation.

mod common;

use std::time::Duration;

use common::{eventually, test_config, Sfu};
use media::whiteboard::Limits;
use proto::sfu::{channels, Event, Join, Request, Role, SfuError, Source, Want};
use simpeer::Options;

const WAIT: Duration = Duration::from_secs(20);

fn with_channels() -> Options {
    Options {
        channels: true,
        camera: vec![],
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whiteboard_and_chat_are_relayed_and_a_late_joiner_gets_the_board() {
    let sfu = Sfu::with_config(media::node::Config {
        whiteboard: Limits {
            max_operation_bytes: 64,
            ..Limits::default()
        },
        ..test_config()
    })
    .await;
    let alice = sfu.join("wb", "alice", Role::Host, with_channels()).await;
    let bob = sfu
        .join("wb", "bob", Role::Participant, with_channels())
        .await;
    let ready = |p: &simpeer::Peer| p.stats().connected;
    eventually(WAIT, || (ready(&alice) && ready(&bob)).then_some(()))
        .await
        .expect("connected");
    // Channels open shortly after DTLS; resend until the first one lands.
    let first = br#"{"line":[0,0,10,10]}"#;
    eventually(WAIT, || {
        if bob.stats().messages.contains_key(channels::WHITEBOARD) {
            return Some(());
        }
        alice.send(channels::WHITEBOARD, b"clear");
        alice.send(channels::WHITEBOARD, first);
        None
    })
    .await
    .expect("bob receives drawing");
    let ops: Vec<Vec<u8>> = (1..=5)
        .map(|i| format!(r#"{{"dot":{i}}}"#).into_bytes())
        .collect();
    for op in &ops {
        alice.send(channels::WHITEBOARD, op);
    }
    alice.send(channels::CHAT, b"hello bob");
    let too_big = vec![b'x'; 100];
    alice.send(channels::WHITEBOARD, &too_big);
    let got = bob
        .wait_for(WAIT, |s| {
            s.messages
                .get(channels::WHITEBOARD)
                .is_some_and(|m| m.ends_with(&ops))
                && s.messages.contains_key(channels::CHAT)
        })
        .unwrap_or_else(|s| panic!("bob got {:?}", s.messages));
    assert_eq!(got.messages[channels::CHAT], vec![b"hello bob".to_vec()]);
    assert!(
        !alice.stats().messages.contains_key(channels::CHAT),
        "not echoed to the sender"
    );

    let refused = eventually(WAIT, || {
        sfu.room_events().into_iter().find_map(|e| match e {
            Event::Error {
                participant,
                error: SfuError::Whiteboard(why),
                ..
            } if participant == "alice" => Some(why),
            _ => None,
        })
    })
    .await
    .expect("the sender is told");
    assert!(refused.contains("100 bytes"), "{refused}");

    // A late joiner receives the board as it is: after the last clear, in order.
    let carol = sfu.watch("wb", "carol", Role::Viewer).await;
    let board = carol
        .wait_for(WAIT, |s| {
            s.messages
                .get(channels::WHITEBOARD)
                .is_some_and(|m| m.len() >= 6)
        })
        .unwrap_or_else(|s| panic!("carol got {:?}", s.messages));
    let mut expected = vec![first.to_vec()];
    expected.extend(ops.iter().cloned());
    assert_eq!(board.messages[channels::WHITEBOARD], expected);
    assert!(
        !bob.stats().messages[channels::WHITEBOARD].contains(&too_big),
        "refused op not relayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_mutes_and_removes_a_participant() {
    let sfu = Sfu::start(1).await;
    let host = sfu
        .join("mod", "host", Role::Host, Options::default())
        .await;
    let guest = sfu
        .join("mod", "guest", Role::Participant, Options::default())
        .await;
    let other = sfu
        .join("mod", "other", Role::Participant, Options::default())
        .await;
    let guest_cam = sfu.track_of("guest", Source::Camera).await;
    let host_cam = sfu.track_of("host", Source::Camera).await;
    host.wait_for(WAIT, |s| {
        s.tracks.get(&guest_cam).is_some_and(|r| r.video_frames > 5)
    })
    .expect("host sees the guest");

    // A participant may not moderate.
    let denied = sfu
        .request(
            "mod",
            "other",
            Request::Mute {
                track: host_cam,
                muted: true,
            },
        )
        .await;
    assert_eq!(denied, Err(SfuError::NotHost));
    let denied = sfu
        .request(
            "mod",
            "other",
            Request::Remove {
                target: "guest".into(),
            },
        )
        .await;
    assert_eq!(denied, Err(SfuError::NotHost));

    sfu.request(
        "mod",
        "host",
        Request::Mute {
            track: guest_cam,
            muted: true,
        },
    )
    .await
    .expect("host mutes");
    assert!(
        sfu.saw(&Event::Muted {
            room: "mod".into(),
            track: guest_cam,
            muted: true,
            by_host: true
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let frozen = host.stats().tracks[&guest_cam].video_frames;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        host.stats().tracks[&guest_cam].video_frames,
        frozen,
        "forwarding stopped"
    );
    // Only the owner may speak again; forwarding resumes at a keyframe.
    assert_eq!(
        sfu.request(
            "mod",
            "host",
            Request::Mute {
                track: guest_cam,
                muted: false
            }
        )
        .await,
        Err(SfuError::NotHost)
    );
    sfu.request(
        "mod",
        "guest",
        Request::Mute {
            track: guest_cam,
            muted: false,
        },
    )
    .await
    .expect("owner unmutes");
    let s = host
        .wait_for(WAIT, |s| s.tracks[&guest_cam].video_frames > frozen + 5)
        .expect("forwarding resumed");
    assert_eq!(s.tracks[&guest_cam].decode_errors, 0);

    sfu.request(
        "mod",
        "host",
        Request::Remove {
            target: "guest".into(),
        },
    )
    .await
    .expect("host removes");
    assert!(
        sfu.saw(&Event::Left {
            room: "mod".into(),
            participant: "guest".into(),
            removed_by_host: true
        })
        .await
    );
    assert!(
        sfu.saw(&Event::Unpublished {
            room: "mod".into(),
            track: guest_cam
        })
        .await
    );
    let after = other.stats().tracks[&guest_cam].video_frames;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        other.stats().tracks[&guest_cam].video_frames <= after + 1,
        "nothing more from the removed guest"
    );
    assert_eq!(
        sfu.request("mod", "guest", Request::Leave).await,
        Err(SfuError::UnknownParticipant("guest".into()))
    );
    drop(guest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lossy_channel_is_relayed() {
    let sfu = Sfu::start(1).await;
    let alice = sfu
        .join("lossy", "alice", Role::Host, with_channels())
        .await;
    let bob = sfu
        .join("lossy", "bob", Role::Participant, with_channels())
        .await;
    let got = eventually(WAIT, || {
        if bob.stats().messages.contains_key(channels::LOSSY) {
            return Some(());
        }
        alice.send(channels::LOSSY, b"cursor 10 20");
        None
    })
    .await;
    assert!(got.is_some(), "bob got {:?}", bob.stats().messages);
    assert!(bob.stats().messages[channels::LOSSY]
        .iter()
        .all(|m| m == b"cursor 10 20"));
}

/// A join as the signalling service would send it, with a made-up offer.
fn join(room: &str, name: &str, role: Role, offer: Option<&str>) -> Join {
    Join {
        room: room.into(),
        participant: name.into(),
        role,
        may_publish: common::ALL.to_vec(),
        offer: offer.map(str::to_owned),
        tracks: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors_and_change_nothing() {
    let sfu = Sfu::with_config(media::node::Config {
        room_capacity: 2,
        ..test_config()
    })
    .await;
    let node = &sfu.node;
    let invalid = |r: Result<proto::sfu::Welcome, SfuError>| matches!(r, Err(SfuError::Invalid(_)));
    assert!(
        invalid(node.join(join("", "a", Role::Host, None)).await),
        "empty room"
    );
    assert!(
        invalid(node.join(join("r", "", Role::Host, None)).await),
        "empty name"
    );
    assert!(
        invalid(node.join(join("r", "a\u{0}b", Role::Host, None)).await),
        "control character"
    );
    assert!(
        invalid(
            node.join(join("r", &"x".repeat(129), Role::Host, None))
                .await
        ),
        "too long"
    );
    assert!(matches!(
        node.join(join("r", "a", Role::Host, Some("v=0 garbage")))
            .await,
        Err(SfuError::BadSdp(_))
    ));
    assert_eq!(
        node.counts().await,
        media::node::Counts::default(),
        "nothing was created"
    );

    let _host = sfu.watch("r", "host", Role::Host).await;
    assert_eq!(
        node.join(join("r", "host", Role::Participant, None))
            .await
            .map(|_| ()),
        Err(SfuError::AlreadyJoined("host".into()))
    );
    let _guest = sfu.watch("r", "guest", Role::Participant).await;
    assert_eq!(
        node.join(join("r", "third", Role::Participant, None))
            .await
            .map(|_| ()),
        Err(SfuError::RoomFull(2))
    );
    let sfu = &sfu;
    let ask = |name: &'static str, request: Request| sfu.request("r", name, request);
    assert_eq!(
        ask("nobody", Request::Leave).await,
        Err(SfuError::UnknownParticipant("nobody".into()))
    );
    assert!(matches!(
        ask("host", Request::Answer { sdp: "v=0".into() }).await,
        Err(SfuError::BadSdp(_))
    ));
    assert_eq!(
        ask(
            "host",
            Request::Want {
                track: 999,
                want: Want::Paused
            }
        )
        .await,
        Err(SfuError::UnknownTrack(999))
    );
    assert_eq!(
        ask(
            "host",
            Request::Mute {
                track: 999,
                muted: true
            }
        )
        .await,
        Err(SfuError::UnknownTrack(999))
    );
    assert_eq!(
        ask(
            "guest",
            Request::Remove {
                target: "host".into()
            }
        )
        .await,
        Err(SfuError::NotHost)
    );
    assert!(matches!(
        ask(
            "host",
            Request::Offer {
                sdp: "nonsense".into(),
                tracks: vec![]
            }
        )
        .await,
        Err(SfuError::BadSdp(_))
    ));
    let counts = node.counts().await;
    assert_eq!(
        (counts.rooms, counts.peers),
        (1, 2),
        "the room is as it was"
    );

    // A viewer's camera is refused, and the viewer is told.
    let _viewer = sfu
        .join("v", "viewer", Role::Viewer, Options::default())
        .await;
    let refused = Event::Error {
        room: "v".into(),
        participant: "viewer".into(),
        error: SfuError::PublishDenied(Source::Camera),
    };
    assert!(sfu.saw(&refused).await);
    assert!(!sfu
        .room_events()
        .iter()
        .any(|e| matches!(e, Event::Published { room, .. } if room == "v")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sfus_offer_tags_the_bundle_with_the_data_channels() {
    // A browser tears its shared transport down (SCTP included) when the
    // m-line tagging the BUNDLE group is stopped; the first m-line of the
    // SFU's first offer is stopped when its track's owner leaves, so it
    // must be the data channels' one.
    let sfu = Sfu::start(1).await;
    let _alice = sfu
        .join("bundle", "alice", Role::Host, Options::default())
        .await;
    sfu.track_of("alice", Source::Camera).await;
    let welcome = sfu
        .node
        .join(Join {
            room: "bundle".into(),
            participant: "bob".into(),
            role: Role::Participant,
            may_publish: vec![],
            offer: None,
            tracks: vec![],
        })
        .await
        .unwrap();
    let proto::sfu::Sdp::Offer(sdp) = welcome.sdp else {
        panic!("the SFU offers")
    };
    let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert!(
        m_lines.len() >= 3,
        "alice's tracks are offered: {m_lines:?}"
    );
    assert!(
        m_lines[0].starts_with("m=application"),
        "first m-line: {}\n{sdp}",
        m_lines[0]
    );
    let bundle = sdp
        .lines()
        .find(|l| l.starts_with("a=group:BUNDLE"))
        .unwrap();
    let first_mid = sdp
        .lines()
        .find(|l| l.starts_with("a=mid:"))
        .unwrap()
        .trim_start_matches("a=mid:");
    assert_eq!(bundle.split(' ').nth(1), Some(first_mid));
}
