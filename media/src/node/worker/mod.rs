//! One worker thread: a UDP socket, the peers that use it and the rooms they
//! are in. Everything here runs on that thread, so rooms need no locks; the
//! node hands a room to exactly one worker.
//!
//! The loop waits on the socket and the command queue, with a deadline that
//! is the earliest of the peers' str0m timeouts and the housekeeping tick.
//! A datagram goes to its peer through the demultiplexer; the peer's output
//! is drained at once, and media it yields is routed by the room core and
//! written into the subscribers' legs, whose output is drained in turn.

use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use proto::sfu::{channels, Event as SfuEvent};
use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output};
use tokio::sync::mpsc::UnboundedSender;

use super::batch::Batch;
use super::metrics::WorkerMetrics;
use super::peer::Peer;
use super::{Command, Config, NodeEvent};
use crate::demux::{classify, Demux};
use crate::presence::Presence;
use crate::room::{ParticipantKey, Room, TrackKey};
use crate::simulcast::rewrite::Outgoing;
use crate::speaker::Speakers;
use crate::whiteboard::Whiteboard;

mod api;
mod media;
mod rooms;

use media::LayerUsage;

pub const SOCKET: Token = Token(0);
pub const WAKER: Token = Token(1);

type PeerId = u64;

/// How often rooms are looked after: keyframe requests, speakers, presence.
const HOUSEKEEPING: Duration = Duration::from_millis(50);
/// Layer bitrates are measured over this window.
const MEASURE_EVERY_MS: i64 = 500;
/// A layer with no packet for this long counts as stopped.
const LAYER_IDLE_MS: i64 = 1_000;
const SPEAKERS_EVERY_MS: i64 = 250;
/// Floor of what the bandwidth estimator is asked to sustain and probe for.
const MIN_BWE_BPS: u64 = 100_000;
/// Presence is told a peer was heard at most this often.
const HEARD_EVERY_MS: i64 = 200;
/// Largest datagram read; WebRTC stays well under the Ethernet MTU.
const RECV_BUFFER: usize = 2_048;
/// Datagrams read before what they caused is sent: enough to batch the
/// packets of a video frame, few enough to keep latency in microseconds.
const READ_BURST: usize = 32;

struct RoomState {
    room: Room<media::Held>,
    peers: HashMap<ParticipantKey, PeerId>,
    /// Track to its publisher and the m-line it arrives on.
    tracks: HashMap<TrackKey, (PeerId, Mid)>,
    whiteboard: Whiteboard,
    speakers: Speakers,
    /// Per track and layer: bytes since the last measurement, last packet.
    usage: HashMap<TrackKey, Vec<LayerUsage>>,
    /// Per simulcast track, the layers last announced as watched.
    watched: HashMap<TrackKey, Vec<usize>>,
    switches_counted: u64,
}

pub struct Worker {
    index: usize,
    poll: Poll,
    socket: UdpSocket,
    local: SocketAddr,
    announced: SocketAddr,
    config: Config,
    commands: Receiver<Command>,
    events: UnboundedSender<NodeEvent>,
    metrics: WorkerMetrics,
    demux: Demux<PeerId>,
    peers: HashMap<PeerId, Peer>,
    next_peer: PeerId,
    timers: BTreeSet<(Instant, PeerId)>,
    rooms: HashMap<String, RoomState>,
    presence: Presence,
    /// Peers written to since their output was last drained.
    dirty: Vec<PeerId>,
    /// Datagrams to send at the next flush.
    batch: Batch,
    /// Arrival times of datagrams whose copies wait in `batch`.
    arrivals: Vec<Instant>,
    routed: Vec<(ParticipantKey, Outgoing, Option<media::Held>)>,
    epoch: (Instant, i64),
    next_housekeeping: Instant,
    last_measure_ms: i64,
    last_speakers_ms: i64,
    last_presence_s: i64,
    cpu_reported: f64,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: usize,
        poll: Poll,
        socket: std::net::UdpSocket,
        announced: SocketAddr,
        config: Config,
        commands: Receiver<Command>,
        events: UnboundedSender<NodeEvent>,
        metrics: WorkerMetrics,
    ) -> std::io::Result<Worker> {
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let mut socket = UdpSocket::from_std(socket);
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE)?;
        let now = Instant::now();
        let unix_ms = crate::node::unix_ms();
        let presence = Presence::new(config.node.clone(), config.liveness.as_millis() as i64);
        Ok(Worker {
            index,
            poll,
            socket,
            local,
            announced,
            config,
            commands,
            events,
            metrics,
            demux: Demux::default(),
            peers: HashMap::new(),
            next_peer: 1,
            timers: BTreeSet::new(),
            rooms: HashMap::new(),
            presence,
            dirty: Vec::new(),
            batch: Batch::default(),
            arrivals: Vec::new(),
            routed: Vec::new(),
            epoch: (now, unix_ms),
            next_housekeeping: now,
            last_measure_ms: 0,
            last_speakers_ms: 0,
            last_presence_s: 0,
            cpu_reported: 0.0,
        })
    }

    /// Unix milliseconds of `now`, from the monotonic clock.
    fn ms(&self, now: Instant) -> i64 {
        self.epoch.1 + now.saturating_duration_since(self.epoch.0).as_millis() as i64
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(64);
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let deadline = self
                .timers
                .first()
                .map_or(self.next_housekeeping, |(t, _)| {
                    (*t).min(self.next_housekeeping)
                });
            let wait = deadline.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != ErrorKind::Interrupted {
                    tracing::error!(worker = self.index, error = %e, "poll failed; worker stops");
                    return;
                }
            }
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) => return self.shutdown(),
                    Ok(command) => self.command(command),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return self.shutdown(),
                }
            }
            self.read_socket(&mut buf);
            let now = Instant::now();
            self.expire_timers(now);
            if now >= self.next_housekeeping {
                self.housekeeping(now);
                self.next_housekeeping = now + HOUSEKEEPING;
            }
        }
    }

    fn shutdown(mut self) {
        let all: Vec<PeerId> = self.peers.keys().copied().collect();
        for pid in all {
            self.leave(pid, Instant::now());
        }
    }

    fn read_socket(&mut self, buf: &mut [u8]) {
        let mut burst = 0;
        loop {
            if burst == READ_BURST {
                self.flush(Instant::now());
                burst = 0;
            }
            match self.socket.recv_from(buf) {
                Ok((n, source)) => {
                    burst += 1;
                    let now = Instant::now();
                    let forwarded_before = self.metrics.forwarded.get();
                    self.datagram(source, &buf[..n], now);
                    if self.metrics.forwarded.get() != forwarded_before {
                        self.arrivals.push(now);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return self.flush(Instant::now());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ICMP errors surface here on some systems; they say nothing
                // about the next datagram.
                Err(e) => {
                    tracing::debug!(worker = self.index, error = %e, "recv_from");
                    return self.flush(Instant::now());
                }
            }
        }
    }

    fn datagram(&mut self, source: SocketAddr, data: &[u8], now: Instant) {
        let class = classify(data) as usize;
        self.metrics.packets_in[class].inc();
        self.metrics.bytes_in[class].inc_by(data.len() as u64);
        let pid = match self.demux.route(source, data) {
            Ok(pid) => pid,
            Err(reason) => return self.metrics.dropped(reason),
        };
        let now_ms = self.ms(now);
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        let Ok(contents) = data.try_into() else {
            return self.metrics.peer_errors.inc();
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if let Err(e) = peer.rtc.handle_input(input) {
            tracing::debug!(peer = %peer.name, error = %e, "input refused");
            self.metrics.peer_errors.inc();
        }
        if peer.connected && now_ms - peer.heard_ms >= HEARD_EVERY_MS {
            peer.heard_ms = now_ms;
            self.presence.heard(&peer.room, &peer.name, now_ms);
        }
        self.drain(pid, now);
    }

    fn expire_timers(&mut self, now: Instant) {
        while let Some(&(at, pid)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(peer) = self.peers.get_mut(&pid) {
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    tracing::debug!(peer = %peer.name, error = %e, "timeout refused");
                }
                self.drain(pid, now);
            }
        }
        self.flush(now);
    }

    /// Drains the output of every peer written to, until none is left,
    /// and sends what they had to send.
    fn flush(&mut self, now: Instant) {
        while let Some(pid) = self.dirty.pop() {
            self.drain(pid, now);
        }
        if self.batch.is_empty() {
            return;
        }
        let sent = self.batch.flush(self.socket.as_raw_fd());
        self.metrics.send_failures.inc_by(sent.failed as u64);
        let done = Instant::now();
        for at in self.arrivals.drain(..) {
            self.metrics
                .latency
                .observe(done.duration_since(at).as_secs_f64() * 1e6);
        }
    }

    /// Sends what a peer has to send and handles its events, until it
    /// only has a timeout to give.
    fn drain(&mut self, pid: PeerId, now: Instant) {
        loop {
            let Some(peer) = self.peers.get_mut(&pid) else {
                return;
            };
            match peer.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let class = classify(&t.contents) as usize;
                    self.metrics.packets_out[class].inc();
                    self.metrics.bytes_out[class].inc_by(t.contents.len() as u64);
                    self.batch.push(t.destination, t.contents.into());
                }
                Ok(Output::Timeout(at)) => {
                    self.timers.remove(&(peer.timeout, pid));
                    peer.timeout = at;
                    self.timers.insert((at, pid));
                    return;
                }
                Ok(Output::Event(event)) => self.event(pid, event, now),
                Err(e) => {
                    tracing::info!(peer = %peer.name, error = %e, "peer failed; removing it");
                    self.leave(pid, now);
                    return;
                }
            }
        }
    }

    fn event(&mut self, pid: PeerId, event: Event, now: Instant) {
        let now_ms = self.ms(now);
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        match event {
            Event::RtpPacket(packet) => self.forward(pid, packet, now, now_ms),
            Event::Connected => {
                peer.connected = true;
                peer.heard_ms = now_ms;
                self.presence.connected(&peer.room, &peer.name, now_ms);
            }
            Event::IceConnectionStateChange(state) => {
                peer.disconnected_since = match state {
                    IceConnectionState::Disconnected => Some(now),
                    _ => None,
                };
            }
            Event::MediaAdded(m) if m.direction.is_receiving() => {
                self.publish(pid, m.mid, m.kind);
            }
            Event::MediaChanged(m) if !m.direction.is_receiving() => {
                if let Some(inbound) = peer.inbound.remove(&m.mid) {
                    let key = peer.key;
                    let room = peer.room.clone();
                    if let Some(state) = self.rooms.get_mut(&room) {
                        if let Ok(events) = state.room.unpublish(key, inbound.track) {
                            self.room_events(&room, events);
                        }
                    }
                }
            }
            Event::KeyframeRequest(req) => {
                let track = peer
                    .outbound
                    .iter()
                    .find(|(_, o)| o.mid == req.mid)
                    .map(|(t, _)| *t);
                let (key, room) = (peer.key, peer.room.clone());
                if let (Some(track), Some(state)) = (track, self.rooms.get_mut(&room)) {
                    if let Some(layer) = state.room.keyframe_for(key, track, now_ms) {
                        self.request_keyframe(&room, track, layer);
                    }
                }
            }
            Event::EgressBitrateEstimate(str0m::bwe::BweKind::Twcc { estimate, .. }) => {
                let (key, room) = (peer.key, peer.room.clone());
                if let Some(state) = self.rooms.get_mut(&room) {
                    state.room.set_bandwidth(key, estimate.as_u64());
                }
            }
            Event::MediaEgressStats(stats) => {
                let seen = peer.nacks.entry(stats.mid).or_default();
                self.metrics.nacks.inc_by(stats.nacks.saturating_sub(*seen));
                *seen = stats.nacks;
            }
            Event::ChannelOpen(id, label) => {
                peer.channels.insert(label.clone(), id);
                peer.labels.insert(id, label.clone());
                if label == channels::WHITEBOARD {
                    self.send_board(pid);
                }
            }
            Event::ChannelData(data) => {
                if let Some(label) = peer.labels.get(&data.id).cloned() {
                    self.relay(pid, &label, data.binary, data.data);
                }
            }
            Event::ChannelClose(id) => {
                if let Some(label) = peer.labels.remove(&id) {
                    peer.channels.remove(&label);
                }
            }
            Event::Closed => self.leave(pid, now),
            _ => {}
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        let now_ms = self.ms(now);
        let measure = now_ms - self.last_measure_ms >= MEASURE_EVERY_MS;
        let speakers = now_ms - self.last_speakers_ms >= SPEAKERS_EVERY_MS;
        if measure {
            self.last_measure_ms = now_ms;
        }
        if speakers {
            self.last_speakers_ms = now_ms;
        }
        let names: Vec<String> = self.rooms.keys().cloned().collect();
        for name in names {
            if measure {
                self.measure(&name, now_ms);
                self.dynacast(&name);
            }
            let Some(state) = self.rooms.get_mut(&name) else {
                continue;
            };
            let loudest = if speakers {
                state.speakers.poll(now_ms)
            } else {
                None
            };
            for (track, layer) in state.room.keyframe_requests(now_ms) {
                self.request_keyframe(&name, track, layer);
            }
            if let Some(participants) = loudest {
                let _ = self.events.send(NodeEvent::Room(SfuEvent::Speakers {
                    room: name.clone(),
                    participants,
                }));
            }
        }
        // Peers silent past the reconnection grace, or whose session ended.
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                !p.rtc.is_alive()
                    || p.disconnected_since
                        .is_some_and(|t| now.duration_since(t) > self.config.reconnect_grace)
            })
            .map(|(id, _)| *id)
            .collect();
        for pid in gone {
            self.leave(pid, now);
        }
        let second = now_ms.div_euclid(1000);
        if second != self.last_presence_s {
            self.last_presence_s = second;
            for report in self.presence.tick(now_ms) {
                let _ = self.events.send(NodeEvent::Presence(report));
            }
            self.gauges();
        }
        self.flush(now);
    }

    fn gauges(&mut self) {
        let m = &self.metrics;
        m.rooms.set(self.rooms.len() as i64);
        m.participants.set(self.peers.len() as i64);
        m.tracks
            .set(self.rooms.values().map(|r| r.room.tracks() as i64).sum());
        let cpu = super::thread_cpu_seconds();
        m.cpu_seconds.inc_by((cpu - self.cpu_reported).max(0.0));
        self.cpu_reported = cpu;
    }
}

const SPEAKERS_WINDOW_MS: i64 = 600;
