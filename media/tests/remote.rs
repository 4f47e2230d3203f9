//! The internal API over the bus, as a signalling service in another process
//! uses it: joins and renegotiation by request stream and reply topic, room
//! events by topic; on the in-process bus and on Redis.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use media::node::relay::Relay;
use media::node::remote::{request_stream, serve, RemoteNode};
use media::node::Node;
use platform::bus::Bus;
use proto::sfu::{Event, Join, Request, Role, Sdp, SfuError, Source};
use simpeer::{Offerer, Options, Peer};

async fn a_call_through_the_bus(bus: Bus) {
    let name = format!("node-{}", uuid::Uuid::new_v4());
    let registry = prometheus::Registry::new();
    let config = media::node::Config {
        node: name.clone(),
        ..common::test_config()
    };
    let (node, reports) = Node::start(config, &registry).unwrap();
    let node = Arc::new(node);
    let (events, _) = tokio::sync::broadcast::channel(64);
    tokio::spawn(
        Relay {
            bus: bus.clone(),
            events,
            publish_events: true,
        }
        .run(reports),
    );
    tokio::spawn(serve(bus.clone(), node.clone(), name.clone()));
    // A malformed call is dropped without stopping the node.
    bus.append(&request_stream(&name), &b"{not json"[..])
        .await
        .unwrap();

    let remote = RemoteNode::connect(bus.clone(), &name).await.unwrap();
    let mut room_events = remote.events().await.unwrap();
    let room = format!("remote-{}", uuid::Uuid::new_v4());

    let (offerer, offer, tracks) = Offerer::new(Options::default()).unwrap();
    let welcome = remote
        .join(Join {
            room: room.clone(),
            participant: "alice".into(),
            role: Role::Host,
            may_publish: vec![Source::Camera, Source::Microphone],
            offer: Some(offer),
            tracks,
        })
        .await
        .expect("join over the bus");
    let Sdp::Answer(answer) = welcome.sdp else {
        panic!("an answer")
    };
    let _alice = offerer.connect(&answer).unwrap();

    let welcome = remote
        .join(Join {
            room: room.clone(),
            participant: "bob".into(),
            role: Role::Viewer,
            may_publish: vec![],
            offer: None,
            tracks: vec![],
        })
        .await
        .expect("join without an offer");
    let Sdp::Offer(offer) = welcome.sdp else {
        panic!("an offer")
    };
    assert_eq!(welcome.participants.len(), 1, "alice is there");
    let (bob, answer) = Peer::accept(&offer).unwrap();
    remote
        .request(&room, "bob", Request::Answer { sdp: answer })
        .await
        .expect("answer");

    // Renegotiation offers arrive as events and are answered by request.
    let mut camera = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(cam) = camera {
            let got = bob.stats().tracks.get(&cam).map_or(0, |r| r.video_frames);
            if got >= 10 {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob decodes alice's camera in time"
        );
        let Ok(event) = tokio::time::timeout(Duration::from_millis(200), room_events.next()).await
        else {
            continue;
        };
        let event = event.expect("event stream open");
        match event {
            Event::Renegotiate {
                room: r,
                participant,
                offer,
            } if r == room && participant == "bob" => {
                let answer = bob.answer(&offer).unwrap();
                remote
                    .request(&room, "bob", Request::Answer { sdp: answer })
                    .await
                    .unwrap();
            }
            Event::Published { room: r, track } if r == room && track.source == Source::Camera => {
                camera = Some(track.track);
            }
            _ => {}
        }
    }
    let err = remote.request(&room, "nobody", Request::Leave).await;
    assert_eq!(
        err,
        Err(SfuError::UnknownParticipant("nobody".into())),
        "typed errors cross the bus"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_in_process_bus() {
    a_call_through_the_bus(Bus::connect(None, Duration::from_secs(5)).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    a_call_through_the_bus(
        Bus::connect(Some(&url), Duration::from_secs(5))
            .await
            .unwrap(),
    )
    .await;
}
