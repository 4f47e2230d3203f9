//! Calls through the signalling service over real WebSockets and real UDP:
//! Rust participants (simpeer) join with room tokens, negotiate through the
//! service and decode each other; room changes reach them as messages.

mod common;

use std::time::Duration;

use common::{join, Raw, Service};
use platform::bus::Bus;
use proto::sfu::{Role, Source};
use proto::signal::{
    CallEnd, CallStatus, CallStatusUpdate, ClientMessage, ClosedReason, LeftReason, ServerMessage,
    CALL_STATUS_TOPIC,
};
use simpeer::signal::Client;

const WAIT: Duration = Duration::from_secs(15);

fn decodes_video_from(client: &Client, owner_tracks: &[u32]) -> bool {
    client
        .peer
        .wait_for(WAIT, |s| {
            owner_tracks.iter().any(|t| {
                s.tracks
                    .get(t)
                    .is_some_and(|r| r.video_frames > 5 && r.decode_errors == 0)
            })
        })
        .is_ok()
}

/// The track `owner` publishes from `source`, from the welcome or as it is
/// announced (a track is published once its media flows).
async fn track_of(client: &Client, owner: &str, source: Source) -> u32 {
    if let Some(t) = client
        .welcome
        .tracks
        .iter()
        .find(|t| t.owner == owner && t.source == source)
    {
        return t.track;
    }
    match client
        .wait_for(WAIT, |m| {
            matches!(m, ServerMessage::TrackPublished { track } if track.owner == owner && track.source == source)
        })
        .await
    {
        Some(ServerMessage::TrackPublished { track }) => track.track,
        _ => panic!("{owner}'s {source:?} track is announced"),
    }
}

fn tracks_of(client: &Client, owner: &str) -> Vec<u32> {
    let mut tracks: Vec<u32> = client
        .welcome
        .tracks
        .iter()
        .filter(|t| t.owner == owner)
        .map(|t| t.track)
        .collect();
    for m in client.received() {
        if let ServerMessage::TrackPublished { track } = m {
            if track.owner == owner {
                tracks.push(track.track);
            }
        }
    }
    tracks
}

async fn a_two_party_call(service: &Service) {
    let room = format!("call-{}", common::rand_suffix());
    let alice = service.participant(&room, "alice", Role::Host).await;
    assert_eq!(alice.welcome.participant, "alice");
    assert_eq!(alice.welcome.role, Role::Host);
    assert_eq!(alice.welcome.call.as_deref(), Some("call-1"));
    assert!(!alice.welcome.resumed);
    let bob = service.participant(&room, "bob", Role::Participant).await;
    // Bob's welcome lists alice; alice hears of bob.
    assert!(bob
        .welcome
        .participants
        .iter()
        .any(|p| p.participant == "alice" && p.role == Role::Host));
    track_of(&bob, "alice", Source::Camera).await;
    alice
        .wait_for(WAIT, |m| {
            matches!(m, ServerMessage::ParticipantJoined { participant } if participant.participant == "bob")
        })
        .await
        .expect("alice hears bob joined");
    alice
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMessage::TrackPublished { track } if track.owner == "bob"),
        )
        .await
        .expect("alice hears of bob's tracks");
    assert!(
        decodes_video_from(&bob, &tracks_of(&bob, "alice")),
        "bob decodes alice"
    );
    assert!(
        decodes_video_from(&alice, &tracks_of(&alice, "bob")),
        "alice decodes bob"
    );
    let audio = bob
        .peer
        .wait_for(WAIT, |s| s.tracks.values().any(|r| r.audio_frames > 20));
    assert!(audio.is_ok(), "bob hears alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_participants_decode_each_other_through_signalling() {
    let service = Service::start().await;
    a_two_party_call(&service).await;
    assert!(service.metric("signalling_joins_total", "fresh") >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_the_sfu_across_the_bus() {
    let bus = Bus::connect(None, Duration::from_secs(5)).await.unwrap();
    let service = Service::with(Default::default(), common::media_config(), bus, true).await;
    a_two_party_call(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_the_sfu_across_redis() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let bus = Bus::connect(Some(&url), Duration::from_secs(5))
        .await
        .unwrap();
    let service = Service::with(Default::default(), common::media_config(), bus, true).await;
    a_two_party_call(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_mutes_and_removes_a_participant() {
    let service = Service::start().await;
    let room = "moderated";
    let host = service.participant(room, "host", Role::Host).await;
    let guest = service.participant(room, "guest", Role::Participant).await;
    let guest_track = host
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMessage::TrackPublished { track } if track.owner == "guest"),
        )
        .await
        .map(|m| match m {
            ServerMessage::TrackPublished { track } => track.track,
            _ => unreachable!(),
        })
        .unwrap();

    // A participant may not moderate the host.
    let host_track = track_of(&guest, "host", Source::Camera).await;
    guest.send(&ClientMessage::Mute {
        track: host_track,
        muted: true,
    });
    let refused = guest
        .wait_for(WAIT, |m| matches!(m, ServerMessage::Error(_)))
        .await
        .unwrap();
    let ServerMessage::Error(e) = refused else {
        unreachable!()
    };
    assert_eq!(e.code, proto::signal::ErrorCode::NotHost);
    assert!(!e.fatal);

    host.send(&ClientMessage::Mute {
        track: guest_track,
        muted: true,
    });
    guest
        .wait_for(WAIT, |m| {
            matches!(m, ServerMessage::TrackMuted { track, muted: true, by_host: true } if *track == guest_track)
        })
        .await
        .expect("the guest is told the host muted it");

    host.send(&ClientMessage::Remove {
        participant: "guest".into(),
    });
    guest
        .wait_for(WAIT, |m| {
            matches!(
                m,
                ServerMessage::Closed {
                    reason: ClosedReason::RemovedByHost
                }
            )
        })
        .await
        .expect("the guest is told it was removed");
    host.wait_for(WAIT, |m| {
        matches!(m, ServerMessage::ParticipantLeft { participant, reason: LeftReason::RemovedByHost } if participant == "guest")
    })
    .await
    .expect("the host sees the guest removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_status_from_the_control_plane_reaches_the_room_and_an_ended_call_closes_it() {
    let service = Service::start().await;
    let room = "billed";
    let user = service.participant(room, "user", Role::Participant).await;
    let expert = service.participant(room, "expert", Role::Host).await;
    let status = |ended| CallStatus {
        call: "call-1".into(),
        billed_seconds: 61,
        coins_used: 100,
        balance: 400,
        minutes_left: Some(4),
        ended,
    };
    // To one participant: only the user hears of its balance.
    let update = CallStatusUpdate {
        room: room.into(),
        participant: Some("user".into()),
        status: status(None),
    };
    service
        .bus
        .publish(CALL_STATUS_TOPIC, serde_json::to_vec(&update).unwrap())
        .await
        .unwrap();
    let got = user
        .wait_for(WAIT, |m| matches!(m, ServerMessage::CallStatus(_)))
        .await
        .expect("the user gets the status");
    assert_eq!(got, ServerMessage::CallStatus(status(None)));
    // Garbage on the topic is dropped; the next update still arrives.
    service
        .bus
        .publish(CALL_STATUS_TOPIC, &b"{oops"[..])
        .await
        .unwrap();
    let ended = CallStatusUpdate {
        room: room.into(),
        participant: None,
        status: status(Some(CallEnd::TimeUp)),
    };
    service
        .bus
        .publish(CALL_STATUS_TOPIC, serde_json::to_vec(&ended).unwrap())
        .await
        .unwrap();
    for client in [&user, &expert] {
        client
            .wait_for(
                WAIT,
                |m| matches!(m, ServerMessage::CallStatus(s) if s.ended == Some(CallEnd::TimeUp)),
            )
            .await
            .expect("everyone hears the call ended");
        client
            .wait_for(WAIT, |m| {
                matches!(
                    m,
                    ServerMessage::Closed {
                        reason: ClosedReason::CallEnded
                    }
                )
            })
            .await
            .expect("and is closed");
    }
    assert!(expert
        .received()
        .iter()
        .all(|m| !matches!(m, ServerMessage::CallStatus(s) if s.ended.is_none())));
    // Both left the room.
    let deadline = tokio::time::Instant::now() + WAIT;
    while service.node.counts().await.peers > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "peers left the node"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(service.signalling.counts(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_again_without_resuming_replaces_the_old_session() {
    let service = Service::start().await;
    let room = "twice";
    let token = service.token(room, "alice", Role::Participant);
    let mut first = Raw::connect(&service.url).await;
    first.send(&join(room, &token)).await;
    let ServerMessage::Welcome(w1) = first.next().await.unwrap() else {
        panic!("welcome")
    };
    let mut second = Raw::connect(&service.url).await;
    second.send(&join(room, &token)).await;
    assert_eq!(
        first
            .until(|m| matches!(m, ServerMessage::Closed { .. }))
            .await,
        ServerMessage::Closed {
            reason: ClosedReason::Replaced
        }
    );
    let ServerMessage::Welcome(w2) = second.next().await.unwrap() else {
        panic!("welcome")
    };
    assert_ne!(w1.session, w2.session);
    assert_eq!(service.signalling.counts(), (1, 1));
}
