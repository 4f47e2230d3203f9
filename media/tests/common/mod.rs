//! A media node on loopback and simulated participants that join it through
//! the internal API, the way the signalling service does: the SFU's offers
//! (renegotiation) are passed to the right participant and answered.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media::node::{Config, Node, NodeEvent};
use proto::sfu::{Event, Join, Request, Role, Sdp, Source};
use simpeer::{Offerer, Options, Peer};

type Peers = Arc<Mutex<HashMap<(String, String), Arc<Peer>>>>;

pub struct Sfu {
    pub node: Arc<Node>,
    pub registry: prometheus::Registry,
    events: Arc<Mutex<Vec<NodeEvent>>>,
    peers: Peers,
}

pub const ALL: &[Source] = &[Source::Camera, Source::Microphone, Source::Screen];

impl Sfu {
    pub async fn start(workers: usize) -> Sfu {
        Sfu::with_config(Config {
            workers,
            ..test_config()
        })
        .await
    }

    pub async fn with_config(config: Config) -> Sfu {
        let registry = prometheus::Registry::new();
        let (node, mut rx) = Node::start(config, &registry).expect("node starts");
        let node = Arc::new(node);
        let events = Arc::new(Mutex::new(Vec::new()));
        let peers: Peers = Arc::default();
        let (n, e, p) = (node.clone(), events.clone(), peers.clone());
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                match event {
                    // Offers are handled, not kept: a long test would
                    // hold every SDP it ever saw.
                    NodeEvent::Room(Event::Renegotiate {
                        room,
                        participant,
                        offer,
                    }) => {
                        let (n, p) = (n.clone(), p.clone());
                        tokio::spawn(
                            async move { renegotiate(n, p, room, participant, offer).await },
                        );
                    }
                    event => e.lock().unwrap().push(event),
                }
            }
        });
        Sfu {
            node,
            registry,
            events,
            peers,
        }
    }

    /// Joins with an offer built from `options`; returns the running peer.
    pub async fn join(&self, room: &str, name: &str, role: Role, options: Options) -> Arc<Peer> {
        if options.camera.is_empty() && !options.microphone && options.screen.is_none() {
            return self.watch(room, name, role).await;
        }
        let (offerer, offer, tracks) = Offerer::new(options).expect("offer");
        let Sdp::Answer(answer) = self.enter(room, name, role, Some(offer), tracks).await else {
            panic!("an offer gets an answer");
        };
        self.register(
            room,
            name,
            offerer.connect(&answer).expect("answer applies"),
        )
    }

    async fn enter(
        &self,
        room: &str,
        name: &str,
        role: Role,
        offer: Option<String>,
        tracks: Vec<proto::sfu::TrackSpec>,
    ) -> Sdp {
        let join = Join {
            room: room.into(),
            participant: name.into(),
            role,
            may_publish: ALL.to_vec(),
            offer,
            tracks,
        };
        self.node.join(join).await.expect("join").sdp
    }

    fn register(&self, room: &str, name: &str, peer: Peer) -> Arc<Peer> {
        let peer = Arc::new(peer);
        self.peers
            .lock()
            .unwrap()
            .insert((room.into(), name.into()), peer.clone());
        peer
    }

    /// Joins without an offer: the SFU offers what the room has, plus the
    /// data channels, and the participant answers.
    pub async fn watch(&self, room: &str, name: &str, role: Role) -> Arc<Peer> {
        self.watch_with(room, name, role, Options::default()).await
    }

    /// As `watch`, with the receiving option of `options` (load generation
    /// only counts what arrives).
    pub async fn watch_with(
        &self,
        room: &str,
        name: &str,
        role: Role,
        options: Options,
    ) -> Arc<Peer> {
        let Sdp::Offer(offer) = self.enter(room, name, role, None, Vec::new()).await else {
            panic!("a join without an offer gets one");
        };
        let (peer, answer) =
            Peer::accept_with(&offer, options).expect("the SFU's offer is accepted");
        let peer = self.register(room, name, peer);
        self.node
            .request(room, name, Request::Answer { sdp: answer })
            .await
            .expect("answer");
        peer
    }

    pub async fn request(
        &self,
        room: &str,
        name: &str,
        request: Request,
    ) -> Result<Option<Sdp>, proto::sfu::SfuError> {
        self.node.request(room, name, request).await
    }

    pub async fn leave(&self, room: &str, name: &str) {
        self.node
            .request(room, name, Request::Leave)
            .await
            .expect("leave");
        self.peers
            .lock()
            .unwrap()
            .remove(&(room.into(), name.into()));
    }

    pub fn events(&self) -> Vec<NodeEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Room events so far, without presence reports.
    pub fn room_events(&self) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                NodeEvent::Room(e) => Some(e),
                NodeEvent::Presence(_) => None,
            })
            .collect()
    }

    /// Waits for a room event (the relay delivers them asynchronously).
    pub async fn saw(&self, event: &Event) -> bool {
        eventually(Duration::from_secs(5), || {
            self.room_events().contains(event).then_some(())
        })
        .await
        .is_some()
    }

    /// The track number `owner` published from `source`, once announced.
    pub async fn track_of(&self, owner: &str, source: Source) -> u32 {
        for _ in 0..250 {
            let found = self.room_events().into_iter().find_map(|e| match e {
                Event::Published { track, .. }
                    if track.owner == owner && track.source == source =>
                {
                    Some(track.track)
                }
                _ => None,
            });
            if let Some(t) = found {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{owner} never published {source:?}");
    }

    /// The series of one metric family, those with `label` if given.
    fn series(&self, name: &str, label: Option<(&str, &str)>) -> Vec<prometheus::proto::Metric> {
        self.registry
            .gather()
            .iter()
            .filter(|f| f.name() == name)
            .flat_map(|f| f.get_metric().to_vec())
            .filter(|m| {
                label.is_none_or(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == k && l.value() == v)
                })
            })
            .collect()
    }

    /// The value of a metric family summed over its series.
    pub fn metric(&self, name: &str) -> f64 {
        self.series(name, None)
            .iter()
            // A series is a counter or a gauge; the other reads 0.
            .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
            .sum()
    }

    /// How many observations a histogram has.
    pub fn observations(&self, name: &str) -> u64 {
        self.series(name, None)
            .iter()
            .map(|m| m.get_histogram().get_sample_count())
            .sum()
    }

    /// The value of the series of a counter that carry one label value.
    pub fn metric_with(&self, name: &str, label: &str, value: &str) -> f64 {
        self.series(name, Some((label, value)))
            .iter()
            .map(|m| m.get_counter().get_value())
            .sum()
    }
}

pub fn test_config() -> Config {
    Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        workers: 1,
        node: "test-node".into(),
        ..Config::default()
    }
}

async fn renegotiate(
    node: Arc<Node>,
    peers: Peers,
    room: String,
    participant: String,
    offer: String,
) {
    // The peer is registered once its join returned; the offer can be quicker.
    let mut peer = None;
    for _ in 0..250 {
        peer = peers
            .lock()
            .unwrap()
            .get(&(room.clone(), participant.clone()))
            .cloned();
        if peer.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Some(peer) = peer else {
        return;
    };
    let answer = tokio::task::spawn_blocking(move || peer.answer(&offer))
        .await
        .expect("answer task");
    match answer {
        Ok(sdp) => {
            let _ = node
                .request(&room, &participant, Request::Answer { sdp })
                .await;
        }
        Err(e) => panic!("{participant} could not answer the SFU's offer: {e}"),
    }
}

/// Polls `check` until it holds or `timeout` passes, returning its last answer.
pub async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if tokio::time::Instant::now() > end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
