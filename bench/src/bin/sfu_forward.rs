//! CPU cost of forwarding: one publisher (three simulcast layers and Opus)
//! to N subscribers per room, over real UDP on loopback, through the real
//! media node. Reports worker CPU microseconds per forwarded packet (the
//! workers' thread CPU time over the packets they wrote to subscribers),
//! for one worker and for two workers carrying one room each.
//!
//! `cargo run --release -p bench --bin sfu-forward -- [subscribers] [seconds]`

use std::sync::Arc;
use std::time::Duration;

use media::node::{Config, Node, NodeEvent};
use proto::sfu::{Event, Join, Request, Role, Sdp, Source};
use simpeer::{Offerer, Options, Peer};

/// Participants by (room, name), for answering the SFU's offers.
type Joined = Arc<std::sync::Mutex<Vec<(String, String, Arc<Peer>)>>>;

struct Run {
    workers: usize,
    rooms: usize,
    forwarded: f64,
    cpu_seconds: f64,
    wall: Duration,
}

impl Run {
    fn us_per_packet(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.forwarded
    }
    fn packets_per_cpu_second(&self) -> f64 {
        self.forwarded / self.cpu_seconds
    }
}

fn metric(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric())
        .map(|m| m.get_counter().get_value())
        .sum()
}

/// Room names that land on distinct workers of an `n`-worker node.
fn rooms_on_distinct_workers(n: usize) -> Vec<String> {
    use std::hash::{Hash, Hasher};
    let mut found: Vec<Option<String>> = vec![None; n];
    for i in 0.. {
        let name = format!("bench-{i}");
        let mut h = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut h);
        let w = (h.finish() % n as u64) as usize;
        if found[w].is_none() {
            found[w] = Some(name);
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found.into_iter().flatten().collect()
}

async fn run(workers: usize, subscribers: usize, seconds: u64) -> Run {
    let registry = prometheus::Registry::new();
    let config = Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        workers,
        room_capacity: subscribers + 1,
        ..Config::default()
    };
    let (node, mut events) = Node::start(config, &registry).expect("node");
    let node = Arc::new(node);
    let peers: Joined = Arc::default();
    let (n, p) = (node.clone(), peers.clone());
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if let NodeEvent::Room(Event::Renegotiate {
                room,
                participant,
                offer,
            }) = e
            {
                let (n, p) = (n.clone(), p.clone());
                tokio::spawn(async move {
                    for _ in 0..500 {
                        let peer = p
                            .lock()
                            .unwrap()
                            .iter()
                            .find(|(r, name, _)| *r == room && *name == participant)
                            .map(|(_, _, peer)| peer.clone());
                        if let Some(peer) = peer {
                            let answer = tokio::task::spawn_blocking(move || peer.answer(&offer))
                                .await
                                .unwrap()
                                .expect("answer");
                            let _ = n
                                .request(&room, &participant, Request::Answer { sdp: answer })
                                .await;
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                });
            }
        }
    });
    let rooms = rooms_on_distinct_workers(workers);
    for room in &rooms {
        let options = Options {
            camera: simpeer::SIMULCAST.to_vec(),
            fps: 30,
            ..Options::default()
        };
        let (offerer, offer, tracks) = Offerer::new(options).unwrap();
        let welcome = node
            .join(Join {
                room: room.clone(),
                participant: "publisher".into(),
                role: Role::Host,
                may_publish: vec![Source::Camera, Source::Microphone],
                offer: Some(offer),
                tracks,
            })
            .await
            .unwrap();
        let Sdp::Answer(answer) = welcome.sdp else {
            panic!()
        };
        let peer = Arc::new(offerer.connect(&answer).unwrap());
        peers
            .lock()
            .unwrap()
            .push((room.clone(), "publisher".into(), peer));
        for i in 0..subscribers {
            let name = format!("s{i}");
            let welcome = node
                .join(Join {
                    room: room.clone(),
                    participant: name.clone(),
                    role: Role::Viewer,
                    may_publish: vec![],
                    offer: None,
                    tracks: vec![],
                })
                .await
                .unwrap();
            let Sdp::Offer(offer) = welcome.sdp else {
                panic!()
            };
            let (peer, answer) = Peer::accept_with(&offer, false).unwrap();
            peers
                .lock()
                .unwrap()
                .push((room.clone(), name.clone(), Arc::new(peer)));
            node.request(room, &name, Request::Answer { sdp: answer })
                .await
                .unwrap();
        }
    }
    // Let every leg connect and every layer settle before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (f0, c0) = (
        metric(&registry, "sfu_forwarded_packets_total"),
        metric(&registry, "sfu_worker_cpu_seconds_total"),
    );
    let start = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (f1, c1) = (
        metric(&registry, "sfu_forwarded_packets_total"),
        metric(&registry, "sfu_worker_cpu_seconds_total"),
    );
    let run = Run {
        workers,
        rooms: rooms.len(),
        forwarded: f1 - f0,
        cpu_seconds: c1 - c0,
        wall: start.elapsed(),
    };
    peers.lock().unwrap().clear();
    run
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    println!("1 publisher (3 simulcast layers + Opus) -> {subscribers} subscribers per room, {seconds}s measured");
    let mut runs = Vec::new();
    for workers in [1, 2] {
        let r = run(workers, subscribers, seconds).await;
        println!(
            "workers {}  rooms {}  forwarded {:.0} pkt ({:.0}/s)  worker CPU {:.2}s  =>  {:.2} us/packet",
            r.workers,
            r.rooms,
            r.forwarded,
            r.forwarded / r.wall.as_secs_f64(),
            r.cpu_seconds,
            r.us_per_packet()
        );
        runs.push(r);
    }
    let scaling = runs[1].packets_per_cpu_second() * 2.0 / runs[0].packets_per_cpu_second();
    println!(
        "scaling, two workers over one (packets per CPU-second of each worker, times the workers): {scaling:.2}x"
    );
}
