//! Session life: refusals of bad tokens and bad messages, resuming after a
//! broken socket, and the end of the grace period.

mod common;

use std::time::Duration;

use common::{join, Raw, Service};
use platform::bus::Bus;
use proto::sfu::{Role, Sdp};
use proto::signal::{ClientMessage, ClosedReason, ErrorCode, LeftReason, ServerMessage};
use signalling::Settings;
use simpeer::{Options, Peer};

const WAIT: Duration = Duration::from_secs(15);

async fn refused(service: &Service, message: &ClientMessage) -> (ErrorCode, bool) {
    let mut raw = Raw::connect(&service.url).await;
    raw.send(message).await;
    let e = match raw.next().await {
        Some(ServerMessage::Error(e)) => e,
        other => panic!("an error, not {other:?}"),
    };
    if e.fatal {
        assert_eq!(
            raw.next().await,
            Some(ServerMessage::Closed {
                reason: ClosedReason::Error
            })
        );
        assert_eq!(raw.next().await, None, "the socket is closed");
    }
    (e.code, e.fatal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_their_code_and_nothing_joins() {
    let service = Service::start().await;
    let expired = service.token_with("r", "alice", Role::Host, -1);
    assert_eq!(
        refused(&service, &join("r", &expired)).await,
        (ErrorCode::TokenExpired, true)
    );
    let other_room = service.token("another-room", "alice", Role::Host);
    assert_eq!(
        refused(&service, &join("r", &other_room)).await,
        (ErrorCode::TokenWrongRoom, true)
    );
    assert_eq!(
        refused(&service, &join("r", "not.a.token")).await,
        (ErrorCode::TokenInvalid, true)
    );
    // Signed with another secret.
    let forged = platform::room_token::RoomTokens::new(b"some other secret, 32 characters!!").mint(
        &proto::room_token::RoomClaims {
            sub: "mallory".into(),
            room: "r".into(),
            role: Role::Host,
            publish: vec![],
            call: None,
            iat: 0,
            exp: i64::MAX / 2,
        },
    );
    assert_eq!(
        refused(&service, &join("r", &forged)).await,
        (ErrorCode::TokenInvalid, true)
    );
    assert_eq!(service.node.counts().await.peers, 0);
    assert_eq!(service.signalling.counts(), (0, 0));
    assert_eq!(
        service.metric("signalling_errors_total", "token_expired"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_an_error_and_the_socket_stays_usable() {
    let service = Service::start().await;
    let mut raw = Raw::connect(&service.url).await;
    for bad in ["{not json", r#"{"type":"dance"}"#, r#"{"type":"join"}"#] {
        raw.send_text(bad).await;
        let Some(ServerMessage::Error(e)) = raw.next().await else {
            panic!("an error for {bad}")
        };
        assert_eq!((e.code, e.fatal), (ErrorCode::BadMessage, false), "{bad}");
    }
    raw.send_binary(&[0, 1, 2]).await;
    assert!(
        matches!(raw.next().await, Some(ServerMessage::Error(e)) if e.code == ErrorCode::BadMessage)
    );
    raw.send(&ClientMessage::Ping { id: 1 }).await;
    assert!(
        matches!(raw.next().await, Some(ServerMessage::Error(e)) if e.code == ErrorCode::NotJoined && !e.fatal)
    );
    // The same socket then joins.
    raw.send(&join("r", &service.token("r", "alice", Role::Host)))
        .await;
    let Some(ServerMessage::Welcome(w)) = raw.next().await else {
        panic!("welcome")
    };
    assert!(matches!(w.sdp, Some(Sdp::Offer(_))));
    raw.send(&ClientMessage::Ping { id: 7 }).await;
    assert_eq!(
        raw.until(|m| matches!(m, ServerMessage::Pong { .. })).await,
        ServerMessage::Pong { id: 7 }
    );
    raw.send(&join("r", &service.token("r", "alice", Role::Host)))
        .await;
    assert!(matches!(
        raw.until(|m| matches!(m, ServerMessage::Error(_))).await,
        ServerMessage::Error(e) if e.code == ErrorCode::AlreadyJoined && !e.fatal
    ));
    raw.send(&ClientMessage::Answer {
        sdp: "v=0 garbage".into(),
    })
    .await;
    assert!(matches!(
        raw.until(|m| matches!(m, ServerMessage::Error(_))).await,
        ServerMessage::Error(e) if e.code == ErrorCode::BadSdp && !e.fatal
    ));
    raw.send(&ClientMessage::Subscribe {
        track: 999,
        want: proto::sfu::Want::Paused,
    })
    .await;
    assert!(matches!(
        raw.until(|m| matches!(m, ServerMessage::Error(_))).await,
        ServerMessage::Error(e) if e.code == ErrorCode::UnknownTrack
    ));
    raw.send(&ClientMessage::Leave).await;
    assert_eq!(
        raw.until(|m| matches!(m, ServerMessage::Closed { .. }))
            .await,
        ServerMessage::Closed {
            reason: ClosedReason::Left
        }
    );
    assert_eq!(service.signalling.counts(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_room_and_a_viewer_publishing_are_refused() {
    let config = media::node::Config {
        room_capacity: 1,
        ..common::media_config()
    };
    let bus = Bus::connect(None, Duration::from_secs(5)).await.unwrap();
    let service = Service::with(Settings::default(), config, bus, false).await;
    let mut first = Raw::connect(&service.url).await;
    first
        .send(&join("small", &service.token("small", "a", Role::Host)))
        .await;
    assert!(matches!(
        first.next().await,
        Some(ServerMessage::Welcome(_))
    ));
    assert_eq!(
        refused(
            &service,
            &join("small", &service.token("small", "b", Role::Participant))
        )
        .await,
        (ErrorCode::RoomFull, true)
    );

    let viewer = service.token("watch", "v", Role::Viewer);
    let (offerer, offer, tracks) = simpeer::Offerer::new(Options::default()).unwrap();
    let mut raw = Raw::connect(&service.url).await;
    raw.send(&ClientMessage::Join {
        room: "watch".into(),
        token: viewer,
        resume: None,
        offer: Some(offer),
        tracks,
    })
    .await;
    // The viewer is in (to watch), and told its camera is refused once
    // its media arrives.
    let Some(ServerMessage::Welcome(w)) = raw.next().await else {
        panic!("welcome")
    };
    let Some(Sdp::Answer(answer)) = &w.sdp else {
        panic!("an answer")
    };
    let _viewer = offerer.connect(answer).unwrap();
    assert!(matches!(
        raw.until(|m| matches!(m, ServerMessage::Error(_))).await,
        ServerMessage::Error(e) if e.code == ErrorCode::PublishDenied && !e.fatal
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_socket_resumes_its_session_and_its_media() {
    let service = Service::start().await;
    let room = "resume";
    let watcher = service.participant(room, "watcher", Role::Host).await;
    // Alice joins by hand, so the test owns her socket and can break it.
    let token = service.token(room, "alice", Role::Participant);
    let (offerer, offer, tracks) = simpeer::Offerer::new(Options::default()).unwrap();
    let mut raw = Raw::connect(&service.url).await;
    raw.send(&ClientMessage::Join {
        room: room.into(),
        token: token.clone(),
        resume: None,
        offer: Some(offer),
        tracks: tracks.clone(),
    })
    .await;
    let Some(ServerMessage::Welcome(welcome)) = raw.next().await else {
        panic!("welcome")
    };
    let Some(Sdp::Answer(answer)) = &welcome.sdp else {
        panic!("an answer")
    };
    let alice: Peer = offerer.connect(answer).unwrap();
    watcher
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMessage::TrackPublished { track } if track.owner == "alice"),
        )
        .await
        .expect("the watcher hears of alice's tracks");
    drop(raw); // the socket breaks: no leave

    // Within the grace period, a new socket takes the session over.
    let mut again = Raw::connect(&service.url).await;
    again
        .send(&ClientMessage::Join {
            room: room.into(),
            token: token.clone(),
            resume: Some(welcome.session.clone()),
            offer: None,
            tracks: vec![],
        })
        .await;
    let Some(ServerMessage::Welcome(resumed)) = again.next().await else {
        panic!("welcome on resume")
    };
    assert!(resumed.resumed);
    assert_eq!(resumed.session, welcome.session);
    assert_eq!(resumed.sdp, None);
    assert!(resumed
        .participants
        .iter()
        .any(|p| p.participant == "watcher"));
    assert!(resumed.tracks.iter().any(|t| t.owner == "alice"));
    // The SFU's offers (the watcher's tracks) went to the broken socket and
    // were never answered: the resumed session gets the pending one again,
    // and alice answers until she receives the watcher's media.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = alice.stats();
        let video = s.tracks.values().any(|r| r.video_frames > 0);
        if video && s.tracks.values().any(|r| r.audio_frames > 0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice receives the watcher"
        );
        if let Some(ServerMessage::Offer { sdp }) = again.try_next(Duration::from_millis(200)).await
        {
            again
                .send(&ClientMessage::Answer {
                    sdp: alice.answer(&sdp).unwrap(),
                })
                .await;
        }
    }
    // ICE restart through the resumed session.
    let restart = alice.restart_ice().unwrap();
    again
        .send(&ClientMessage::Offer {
            sdp: restart,
            tracks,
        })
        .await;
    let ServerMessage::Answer { sdp } = again
        .until(|m| matches!(m, ServerMessage::Answer { .. }))
        .await
    else {
        unreachable!()
    };
    alice.accept_answer(&sdp).unwrap();
    // Media keeps flowing to the watcher after the restart.
    let before = watcher
        .peer
        .stats()
        .tracks
        .values()
        .map(|r| r.video_frames)
        .sum::<u64>();
    assert!(watcher
        .peer
        .wait_for(WAIT, |s| s
            .tracks
            .values()
            .map(|r| r.video_frames)
            .sum::<u64>()
            > before + 10)
        .is_ok());
    // The watcher never saw alice leave.
    assert!(!watcher
        .received()
        .iter()
        .any(|m| matches!(m, ServerMessage::ParticipantLeft { .. })));
    assert_eq!(service.metric("signalling_joins_total", "resumed"), 1.0);

    // A session id is no key to someone else's session.
    let bob = service.token(room, "bob", Role::Participant);
    assert_eq!(
        refused(
            &service,
            &ClientMessage::Join {
                room: room.into(),
                token: bob,
                resume: Some(welcome.session.clone()),
                offer: None,
                tracks: vec![],
            }
        )
        .await,
        (ErrorCode::ResumeRefused, true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_grace_period_the_participant_is_gone_and_cannot_resume() {
    let settings = Settings {
        resume_grace: Duration::from_millis(500),
        ..Settings::default()
    };
    let bus = Bus::connect(None, Duration::from_secs(5)).await.unwrap();
    let service = Service::with(settings, common::media_config(), bus, false).await;
    let room = "grace";
    let watcher = service.participant(room, "watcher", Role::Host).await;
    let token = service.token(room, "alice", Role::Participant);
    let mut raw = Raw::connect(&service.url).await;
    raw.send(&join(room, &token)).await;
    let Some(ServerMessage::Welcome(welcome)) = raw.next().await else {
        panic!("welcome")
    };
    drop(raw);
    watcher
        .wait_for(WAIT, |m| {
            matches!(m, ServerMessage::ParticipantLeft { participant, reason: LeftReason::Disconnected } if participant == "alice")
        })
        .await
        .expect("the watcher sees alice disconnected");
    assert_eq!(
        refused(
            &service,
            &ClientMessage::Join {
                room: room.into(),
                token,
                resume: Some(welcome.session),
                offer: None,
                tracks: vec![],
            }
        )
        .await,
        (ErrorCode::ResumeRefused, true)
    );
    assert_eq!(service.signalling.counts(), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_taken_as_broken() {
    let settings = Settings {
        idle_timeout: Duration::from_millis(300),
        resume_grace: Duration::from_millis(300),
        ..Settings::default()
    };
    let bus = Bus::connect(None, Duration::from_secs(5)).await.unwrap();
    let service = Service::with(settings, common::media_config(), bus, false).await;
    let mut raw = Raw::connect(&service.url).await;
    raw.send(&join("quiet", &service.token("quiet", "a", Role::Host)))
        .await;
    assert!(matches!(raw.next().await, Some(ServerMessage::Welcome(_))));
    // Say nothing: the service lets the session go after idle + grace.
    let deadline = tokio::time::Instant::now() + WAIT;
    while service.signalling.counts() != (0, 0) {
        assert!(tokio::time::Instant::now() < deadline, "the session ends");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_socket_path_gets_a_problem() {
    let service = Service::start().await;
    let http = service.url.replacen("ws://", "http://", 1);
    let r = reqwest::get(&http).await.unwrap();
    assert_eq!(r.status().as_u16(), 426);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "websocket_required");
}
