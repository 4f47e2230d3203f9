//! The media node: worker threads, each with its own UDP port, and the
//! handle the signalling service calls (the internal API). A room is placed
//! on one worker by a hash of its name, so every participant of a room meets
//! on the same thread without any shared table.

pub mod batch;
mod metrics;
mod peer;
pub mod relay;
pub mod remote;
mod worker;

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use proto::sfu::{Join, Request, Sdp, SfuError, Welcome};
use proto::PresenceReport;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

pub use metrics::Metrics;
/// The str0m configuration of every leg (the forwarding benchmarks build legs with it).
pub use peer::leg;

use crate::whiteboard::Limits;

/// The media node's settings (`[sfu.media]` in the configuration file).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the UDP sockets bind to.
    pub bind: IpAddr,
    /// First UDP port; worker `i` uses `port + i`. 0 picks free ports.
    pub port: u16,
    /// Address put in ICE candidates when it differs from `bind` (NAT, cloud).
    pub public_ip: Option<IpAddr>,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// This node's name in presence reports and on the bus.
    pub node: String,
    pub room_capacity: usize,
    /// Silence after which a participant no longer counts as present.
    #[serde(with = "humantime_serde")]
    pub liveness: Duration,
    /// How long a participant whose path broke may take to come back.
    #[serde(with = "humantime_serde")]
    pub reconnect_grace: Duration,
    pub whiteboard: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 50_000,
            public_ip: None,
            workers: 0,
            node: "sfu-1".into(),
            room_capacity: 50,
            liveness: Duration::from_secs(5),
            reconnect_grace: Duration::from_secs(20),
            whiteboard: Limits::default(),
        }
    }
}

/// What a node tells the rest of the system.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    Room(proto::sfu::Event),
    Presence(PresenceReport),
}

/// Sizes of a worker's tables, to check that nothing leaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rooms: usize,
    pub peers: usize,
    pub demux_peers: usize,
    pub demux_addresses: usize,
    pub timers: usize,
    pub presence: usize,
}

type Reply<T> = oneshot::Sender<Result<T, SfuError>>;

pub(crate) enum Command {
    Join(Join, Reply<Welcome>),
    Request {
        room: String,
        participant: String,
        request: Request,
        reply: Reply<Option<Sdp>>,
    },
    Counts(oneshot::Sender<Counts>),
    Shutdown,
}

struct WorkerHandle {
    commands: mpsc::Sender<Command>,
    waker: Arc<mio::Waker>,
    address: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    fn send(&self, command: Command) -> Result<(), SfuError> {
        self.commands
            .send(command)
            .map_err(|_| SfuError::Unavailable)?;
        self.waker.wake().map_err(|_| SfuError::Unavailable)
    }
}

pub struct Node {
    workers: Vec<WorkerHandle>,
}

impl Node {
    /// Binds the workers' sockets and starts their threads. Events (room
    /// changes, presence reports) arrive on the returned receiver.
    pub fn start(
        config: Config,
        registry: &prometheus::Registry,
    ) -> std::io::Result<(Node, tokio_mpsc::UnboundedReceiver<NodeEvent>)> {
        let count = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let metrics = Metrics::new(registry);
        let (events, receiver) = tokio_mpsc::unbounded_channel();
        let announced_ip = config.public_ip.unwrap_or_else(|| announce(config.bind));
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            let port = match config.port {
                0 => 0,
                p => p.checked_add(index as u16).ok_or_else(|| {
                    std::io::Error::other(format!("port {p} + {index} is past 65535"))
                })?,
            };
            let socket = UdpSocket::bind(SocketAddr::new(config.bind, port)).map_err(|e| {
                std::io::Error::new(e.kind(), format!("UDP {}:{port}: {e}", config.bind))
            })?;
            let local = socket.local_addr()?;
            let announced = SocketAddr::new(announced_ip, local.port());
            let poll = mio::Poll::new()?;
            let waker = Arc::new(mio::Waker::new(poll.registry(), worker::WAKER)?);
            let (tx, rx) = mpsc::channel();
            let w = worker::Worker::new(
                index,
                poll,
                socket,
                announced,
                config.clone(),
                rx,
                events.clone(),
                metrics.worker(index),
            )?;
            let thread = std::thread::Builder::new()
                .name(format!("sfu-worker-{index}"))
                .spawn(move || w.run())?;
            workers.push(WorkerHandle {
                commands: tx,
                waker,
                address: announced,
                thread: Some(thread),
            });
        }
        Ok((Node { workers }, receiver))
    }

    /// The announced address of each worker's socket.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.address).collect()
    }

    /// The worker a room lives on.
    pub fn worker_of(&self, room: &str) -> usize {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        room.hash(&mut h);
        (h.finish() % self.workers.len() as u64) as usize
    }

    fn worker_for(&self, room: &str) -> &WorkerHandle {
        &self.workers[self.worker_of(room)]
    }

    /// A participant joins a room with its offer (or asks for the SFU's).
    pub async fn join(&self, join: Join) -> Result<Welcome, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.worker_for(&join.room)
            .send(Command::Join(join, reply))?;
        answer.await.map_err(|_| SfuError::Unavailable)?
    }

    /// Anything else a joined participant asks; an offer gets an answer.
    pub async fn request(
        &self,
        room: &str,
        participant: &str,
        request: Request,
    ) -> Result<Option<Sdp>, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.worker_for(room).send(Command::Request {
            room: room.to_owned(),
            participant: participant.to_owned(),
            request,
            reply,
        })?;
        answer.await.map_err(|_| SfuError::Unavailable)?
    }

    /// Whether every worker answers within a second (readiness).
    pub async fn alive(&self) -> Result<(), SfuError> {
        for (i, w) in self.workers.iter().enumerate() {
            let (reply, answer) = oneshot::channel();
            w.send(Command::Counts(reply))?;
            match tokio::time::timeout(Duration::from_secs(1), answer).await {
                Ok(Ok(_)) => {}
                _ => {
                    tracing::warn!(worker = i, "media worker does not answer");
                    return Err(SfuError::Unavailable);
                }
            }
        }
        Ok(())
    }

    /// Table sizes summed over the workers.
    pub async fn counts(&self) -> Counts {
        let mut total = Counts::default();
        for w in &self.workers {
            let (reply, answer) = oneshot::channel();
            if w.send(Command::Counts(reply)).is_err() {
                continue;
            }
            if let Ok(c) = answer.await {
                total.rooms += c.rooms;
                total.peers += c.peers;
                total.demux_peers += c.demux_peers;
                total.demux_addresses += c.demux_addresses;
                total.timers += c.timers;
                total.presence += c.presence;
            }
        }
        total
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for w in &self.workers {
            let _ = w.send(Command::Shutdown);
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Milliseconds since the Unix epoch, as presence and call deadlines count.
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The address to put in candidates when bound to every interface: the one
/// the system would send from (no packet is sent to find it), else loopback.
fn announce(bind: IpAddr) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// CPU time this thread has used.
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
