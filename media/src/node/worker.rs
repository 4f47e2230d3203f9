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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use proto::sfu::{
    channels, Event as SfuEvent, Join, Kind, ParticipantInfo, Request, Sdp, SfuError, TrackInfo,
    Welcome,
};
use str0m::bwe::Bitrate;
use str0m::format::Codec;
use str0m::media::{MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use str0m::{Event, IceConnectionState, Input, Output};
use tokio::sync::mpsc::UnboundedSender;

use super::batch::Batch;
use super::metrics::WorkerMetrics;
use super::peer::{Inbound, Peer};
use super::{Command, Config, NodeEvent};
use crate::demux::{classify, Demux};
use crate::presence::Presence;
use crate::room::{Event as RoomEvent, ParticipantKey, Room, RoomError, TrackKey};
use crate::simulcast::layers::Layer;
use crate::simulcast::rewrite::{Incoming, Outgoing};
use crate::speaker::Speakers;
use crate::whiteboard::Whiteboard;

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
    room: Room,
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

#[derive(Debug, Clone, Copy, Default)]
struct LayerUsage {
    width: u32,
    height: u32,
    bytes: u64,
    last_packet_ms: Option<i64>,
    bitrate_bps: u64,
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
    routed: Vec<(ParticipantKey, Outgoing)>,
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
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
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

    /// One RTP packet from a publisher, to each subscriber that should get it.
    fn forward(&mut self, pid: PeerId, packet: RtpPacket, now: Instant, now_ms: i64) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        let Some(route) = peer.route_of(packet.header.ssrc, *packet.header.payload_type) else {
            return self.metrics.unroutable.inc();
        };
        let Some(state) = self.rooms.get_mut(&peer.room) else {
            return;
        };
        if let Some(level) = packet.header.ext_vals.audio_level {
            state
                .speakers
                .level(&peer.name, level.unsigned_abs(), now_ms);
        }
        if let Some(usage) = state
            .usage
            .get_mut(&route.track)
            .and_then(|u| u.get_mut(route.layer))
        {
            usage.bytes += packet.payload.len() as u64;
            let was_idle = usage.last_packet_ms.is_none();
            usage.last_packet_ms = Some(now_ms);
            if was_idle {
                update_layers(state, route.track, now_ms);
            }
        }
        let payload = &packet.payload;
        let vp8 = match route.codec {
            Codec::Vp8 => Vp8Descriptor::parse(payload).ok(),
            _ => None,
        };
        let keyframe_start = match (route.codec, &vp8) {
            (Codec::Vp8, Some(d)) => d.starts_keyframe(payload),
            (Codec::H264, _) => crate::codec::h264_keyframe_start(payload),
            _ => false,
        };
        let incoming = Incoming {
            layer: route.layer,
            seq: *packet.seq_no,
            timestamp: packet.time.numer(),
            keyframe_start,
            picture_id: vp8.and_then(|d| d.picture_id()),
            // With a PictureID present, its first byte's M bit says 15 bits.
            long_picture_id: vp8.is_some_and(|d| d.picture_id().is_some())
                && payload.get(2).is_some_and(|b| b & 0x80 != 0),
            tl0_pic_idx: vp8.and_then(|d| d.tl0_pic_idx()),
            arrival_ms: now_ms,
        };
        state.room.route(route.track, &incoming, &mut self.routed);
        let switches = state.room.layer_switches();
        self.metrics
            .layer_switches
            .inc_by(switches - state.switches_counted);
        state.switches_counted = switches;
        let ext = ExtensionValues {
            audio_level: packet.header.ext_vals.audio_level,
            voice_activity: packet.header.ext_vals.voice_activity,
            video_orientation: packet.header.ext_vals.video_orientation,
            ..Default::default()
        };
        for (subscriber, out) in self.routed.drain(..) {
            let Some(sub_pid) = state.peers.get(&subscriber).copied() else {
                continue;
            };
            let Some(sub) = self.peers.get_mut(&sub_pid) else {
                continue;
            };
            let Some((ssrc, pt)) = sub.sender(route.track, route.codec) else {
                continue;
            };
            let mut write = RtpWrite::new(
                pt,
                out.seq.into(),
                out.timestamp as u32,
                now,
                packet.payload.clone(),
            )
            .marker(packet.header.marker)
            .ext_vals(ext.clone())
            .nackable(true);
            if let Some(d) = &vp8 {
                let mut patch = d.patch();
                if let Some(id) = out.picture_id {
                    patch = patch.picture_id(id);
                }
                if let Some(t) = out.tl0_pic_idx {
                    patch = patch.tl0_pic_idx(t);
                }
                match patch.build() {
                    Ok(p) => write = write.vp8_patch(p),
                    Err(_) => continue,
                }
            }
            if let Some(tx) = sub.rtc.direct_api().stream_tx(&ssrc) {
                tx.write_rtp(write);
                self.metrics.forwarded.inc();
                self.dirty.push(sub_pid);
            }
        }
    }

    fn publish(&mut self, pid: PeerId, mid: Mid, kind: MediaKind) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        let (source, rids) = peer.spec_for(mid, kind);
        let sizes: Vec<(u32, u32)> = match peer.specs.get(&mid) {
            Some(spec) if !spec.layers.is_empty() => {
                spec.layers.iter().map(|l| (l.width, l.height)).collect()
            }
            _ => vec![(0, 0)],
        };
        let (key, room, name) = (peer.key, peer.room.clone(), peer.name.clone());
        let Some(state) = self.rooms.get_mut(&room) else {
            return;
        };
        let layers = match source.kind() {
            Kind::Audio => Vec::new(),
            Kind::Video => sizes
                .iter()
                .map(|&(width, height)| Layer {
                    width,
                    height,
                    bitrate_bps: 0,
                    active: false,
                })
                .collect(),
        };
        match state.room.publish(key, source, layers) {
            Ok((track, events)) => {
                state.tracks.insert(track, (pid, mid));
                let usage = sizes
                    .iter()
                    .map(|&(width, height)| LayerUsage {
                        width,
                        height,
                        ..Default::default()
                    })
                    .collect();
                state.usage.insert(track, usage);
                peer.inbound.insert(mid, Inbound { track, rids });
                self.room_events(&room, events);
            }
            Err(e) => self.error(&room, &name, room_error(e, 0)),
        }
    }

    /// Applies what the room core decided, and tells the signalling service.
    fn room_events(&mut self, room: &str, events: Vec<RoomEvent>) {
        for event in events {
            let Some(state) = self.rooms.get_mut(room) else {
                return;
            };
            let out = match event {
                RoomEvent::Joined { participant } => {
                    let Some((_, name, role)) =
                        state.room.members().find(|(k, _, _)| *k == participant)
                    else {
                        continue;
                    };
                    SfuEvent::Joined {
                        room: room.to_owned(),
                        participant: name.to_owned(),
                        role,
                    }
                }
                RoomEvent::Left {
                    participant,
                    removed_by_host,
                } => {
                    let Some(pid) = state.peers.remove(&participant) else {
                        continue;
                    };
                    let name = self
                        .peers
                        .get(&pid)
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    SfuEvent::Left {
                        room: room.to_owned(),
                        participant: name,
                        removed_by_host,
                    }
                }
                RoomEvent::Published {
                    track,
                    owner,
                    source,
                } => {
                    let owner_name = state.room.name(owner).unwrap_or_default().to_owned();
                    let subscribers: Vec<PeerId> = state
                        .peers
                        .iter()
                        .filter(|(k, _)| **k != owner)
                        .map(|(_, p)| *p)
                        .collect();
                    for sub in &subscribers {
                        if let Some(peer) = self.peers.get_mut(sub) {
                            peer.to_add.push((track, source.kind(), owner_name.clone()));
                            state.room.set_ready(peer.key, track, false);
                        }
                    }
                    for sub in subscribers {
                        self.renegotiate(sub);
                    }
                    SfuEvent::Published {
                        room: room.to_owned(),
                        track: TrackInfo {
                            track,
                            owner: owner_name,
                            source,
                            muted: false,
                        },
                    }
                }
                RoomEvent::Unpublished { track } => {
                    state.tracks.remove(&track);
                    state.usage.remove(&track);
                    state.watched.remove(&track);
                    let subscribers: Vec<PeerId> = state.peers.values().copied().collect();
                    for sub in subscribers {
                        let Some(peer) = self.peers.get_mut(&sub) else {
                            continue;
                        };
                        peer.to_add.retain(|(t, _, _)| *t != track);
                        if let Some(o) = peer.outbound.remove(&track) {
                            peer.to_stop.push(o.mid);
                            self.renegotiate(sub);
                        }
                    }
                    SfuEvent::Unpublished {
                        room: room.to_owned(),
                        track,
                    }
                }
                RoomEvent::Muted {
                    track,
                    muted,
                    by_host,
                } => SfuEvent::Muted {
                    room: room.to_owned(),
                    track,
                    muted,
                    by_host,
                },
            };
            let _ = self.events.send(NodeEvent::Room(out));
        }
    }

    fn renegotiate(&mut self, pid: PeerId) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        if let Some(offer) = peer.make_offer(false) {
            let _ = self.events.send(NodeEvent::Room(SfuEvent::Renegotiate {
                room: peer.room.clone(),
                participant: peer.name.clone(),
                offer,
            }));
            self.dirty.push(pid);
        }
    }

    fn error(&self, room: &str, participant: &str, error: SfuError) {
        let _ = self.events.send(NodeEvent::Room(SfuEvent::Error {
            room: room.to_owned(),
            participant: participant.to_owned(),
            error,
        }));
    }

    fn request_keyframe(&mut self, room: &str, track: TrackKey, layer: usize) {
        let Some(&(publisher, mid)) = self.rooms.get(room).and_then(|s| s.tracks.get(&track))
        else {
            return;
        };
        if let Some(peer) = self.peers.get_mut(&publisher) {
            peer.request_keyframe(mid, layer);
            self.metrics.keyframe_requests.inc();
            self.dirty.push(publisher);
        }
    }

    fn send_board(&mut self, pid: PeerId) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        let Some(state) = self.rooms.get(&peer.room) else {
            return;
        };
        let (ops, _) = state.whiteboard.snapshot();
        for op in ops {
            peer.send_channel(channels::WHITEBOARD, true, &op);
        }
        self.dirty.push(pid);
    }

    /// A data channel message from a participant, to everyone else in the room
    /// on the channel of the same label. Whiteboard operations are logged first.
    fn relay(&mut self, from: PeerId, label: &str, binary: bool, data: Vec<u8>) {
        let Some(peer) = self.peers.get(&from) else {
            return;
        };
        let (room, name) = (peer.room.clone(), peer.name.clone());
        let Some(state) = self.rooms.get_mut(&room) else {
            return;
        };
        match label {
            channels::WHITEBOARD if data == channels::WHITEBOARD_CLEAR => {
                state.whiteboard.clear();
            }
            channels::WHITEBOARD => {
                if let Err(e) = state.whiteboard.draw(data.clone()) {
                    return self.error(&room, &name, SfuError::Whiteboard(e.to_string()));
                }
            }
            channels::CHAT | channels::LOSSY => {}
            _ => return,
        }
        let others: Vec<PeerId> = state
            .peers
            .values()
            .copied()
            .filter(|p| *p != from)
            .collect();
        for pid in others {
            if let Some(peer) = self.peers.get_mut(&pid) {
                if peer.send_channel(label, binary, &data) {
                    self.dirty.push(pid);
                }
            }
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

    /// Layer bitrates from the bytes seen, and each leg's bandwidth
    /// estimator told what it carries and what it should probe for.
    fn measure(&mut self, room: &str, now_ms: i64) {
        let Some(state) = self.rooms.get_mut(room) else {
            return;
        };
        let tracks: Vec<TrackKey> = state.usage.keys().copied().collect();
        for track in tracks {
            update_layers(state, track, now_ms);
        }
        for (key, pid) in &state.peers {
            let (current, desired) = state.room.bitrates(*key);
            if let Some(peer) = self.peers.get_mut(pid) {
                peer.rtc.bwe().set_bitrate(
                    Bitrate::bps(current.max(MIN_BWE_BPS)),
                    Bitrate::bps(desired.max(MIN_BWE_BPS)),
                );
            }
        }
    }

    /// Tells publishers which simulcast layers someone would watch, when
    /// that changes, so they may stop sending the others.
    fn dynacast(&mut self, room: &str) {
        let Some(state) = self.rooms.get_mut(room) else {
            return;
        };
        let tracks: Vec<(TrackKey, PeerId, Mid)> = state
            .tracks
            .iter()
            .map(|(t, (p, m))| (*t, *p, *m))
            .collect();
        for (track, pid, mid) in tracks {
            let Some(rids) = self
                .peers
                .get(&pid)
                .and_then(|p| p.inbound.get(&mid))
                .map(|i| i.rids.clone())
                .filter(|r| r.len() > 1)
            else {
                continue;
            };
            let unwatched = state.room.unwatched_layers(track);
            let watched: Vec<usize> = (0..rids.len()).filter(|l| !unwatched.contains(l)).collect();
            if state.watched.get(&track) == Some(&watched) {
                continue;
            }
            state.watched.insert(track, watched.clone());
            let participant = self
                .peers
                .get(&pid)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let _ = self.events.send(NodeEvent::Room(SfuEvent::Layers {
                room: room.to_owned(),
                participant,
                track,
                rids: watched.iter().map(|l| rids[*l].to_string()).collect(),
            }));
        }
    }

    fn gauges(&mut self) {
        let m = &self.metrics;
        m.rooms.set(self.rooms.len() as i64);
        m.participants.set(self.peers.len() as i64);
        m.tracks
            .set(self.rooms.values().map(|r| r.room.tracks() as i64).sum());
        let cpu = thread_cpu_seconds();
        m.cpu_seconds.inc_by((cpu - self.cpu_reported).max(0.0));
        self.cpu_reported = cpu;
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Join(join, reply) => {
                let _ = reply.send(self.join(join, now));
            }
            Command::Request {
                room,
                participant,
                request,
                reply,
            } => {
                let _ = reply.send(self.request(&room, &participant, request, now));
            }
            Command::Counts(reply) => {
                let _ = reply.send(super::Counts {
                    rooms: self.rooms.len(),
                    peers: self.peers.len(),
                    demux_peers: self.demux.peers(),
                    demux_addresses: self.demux.addresses(),
                    timers: self.timers.len(),
                    presence: self.presence.tracked(),
                });
            }
            Command::Shutdown => {}
        }
        self.flush(now);
    }

    fn join(&mut self, join: Join, now: Instant) -> Result<Welcome, SfuError> {
        validate_name("room", &join.room)?;
        validate_name("participant", &join.participant)?;
        let capacity = self.config.room_capacity;
        let limits = self.config.whiteboard;
        let state = self
            .rooms
            .entry(join.room.clone())
            .or_insert_with(|| RoomState {
                room: Room::new(capacity),
                peers: HashMap::new(),
                tracks: HashMap::new(),
                whiteboard: Whiteboard::new(limits),
                speakers: Speakers::new(SPEAKERS_WINDOW_MS),
                usage: HashMap::new(),
                watched: HashMap::new(),
                switches_counted: 0,
            });
        let (key, events) = match state
            .room
            .join(&join.participant, join.role, &join.may_publish)
        {
            Ok(joined) => joined,
            Err(e) => {
                let error = room_error(e, 0);
                if state.room.participants() == 0 {
                    self.rooms.remove(&join.room);
                }
                return Err(error);
            }
        };
        let mut peer = match Peer::new(now, &join.room, &join.participant, key, self.announced) {
            Ok(peer) => peer,
            Err(e) => {
                state.room.leave(key);
                return Err(e);
            }
        };
        // Tracks already published reach the newcomer on m-lines the SFU adds.
        for track in state.room.track_keys().collect::<Vec<_>>() {
            if let Some((owner, source, _)) = state.room.track(track) {
                let owner = state.room.name(owner).unwrap_or_default().to_owned();
                peer.to_add.push((track, source.kind(), owner));
                state.room.set_ready(key, track, false);
            }
        }
        let sdp = match &join.offer {
            Some(offer) => peer
                .accept_offer(offer, join.tracks.clone())
                .map(Sdp::Answer),
            None => peer
                .make_offer(true)
                .map(Sdp::Offer)
                .ok_or_else(|| SfuError::Invalid("nothing to offer".into())),
        };
        let sdp = match sdp {
            Ok(sdp) => sdp,
            Err(e) => {
                state.room.leave(key);
                if state.room.participants() == 0 {
                    self.rooms.remove(&join.room);
                }
                return Err(e);
            }
        };
        let welcome = Welcome {
            sdp,
            participants: state
                .room
                .members()
                .filter(|(k, _, _)| *k != key)
                .map(|(_, name, role)| ParticipantInfo {
                    participant: name.to_owned(),
                    role,
                })
                .collect(),
            tracks: state
                .room
                .track_keys()
                .filter_map(|t| {
                    let (owner, source, muted) = state.room.track(t)?;
                    Some(TrackInfo {
                        track: t,
                        owner: state.room.name(owner)?.to_owned(),
                        source,
                        muted,
                    })
                })
                .collect(),
        };
        let pid = self.next_peer;
        self.next_peer += 1;
        state.peers.insert(key, pid);
        self.demux.insert(pid, &peer.ufrag, &peer.ice_password);
        self.peers.insert(pid, peer);
        self.room_events(&join.room, events);
        self.renegotiate(pid);
        self.dirty.push(pid);
        tracing::info!(room = %join.room, participant = %join.participant, worker = self.index, "joined");
        Ok(welcome)
    }

    fn request(
        &mut self,
        room: &str,
        participant: &str,
        request: Request,
        now: Instant,
    ) -> Result<Option<Sdp>, SfuError> {
        let unknown = || SfuError::UnknownParticipant(participant.to_owned());
        let state = self.rooms.get_mut(room).ok_or_else(unknown)?;
        let key = state.room.key_of(participant).ok_or_else(unknown)?;
        let pid = *state.peers.get(&key).ok_or_else(unknown)?;
        let result = match request {
            Request::Offer { sdp, tracks } => {
                let peer = self.peers.get_mut(&pid).ok_or_else(unknown)?;
                let answer = peer.accept_offer(&sdp, tracks)?;
                // An ICE restart gives the leg new credentials: the
                // demultiplexer must know them before the first check.
                let creds = peer.rtc.direct_api().local_ice_credentials();
                if creds.ufrag != peer.ufrag {
                    self.demux
                        .rename(pid, &peer.ufrag, &creds.ufrag, &creds.pass);
                    peer.ufrag = creds.ufrag;
                    peer.ice_password = creds.pass;
                }
                Ok(Some(Sdp::Answer(answer)))
            }
            Request::Answer { sdp } => {
                let peer = self.peers.get_mut(&pid).ok_or_else(unknown)?;
                for track in peer.accept_answer(&sdp)? {
                    state.room.set_ready(key, track, true);
                }
                self.renegotiate(pid);
                Ok(None)
            }
            Request::Want { track, want } => state
                .room
                .set_want(key, track, want)
                .map(|()| None)
                .map_err(|e| room_error(e, track)),
            Request::Mute { track, muted } => {
                let events = state
                    .room
                    .set_muted(key, track, muted)
                    .map_err(|e| room_error(e, track))?;
                self.room_events(room, events);
                Ok(None)
            }
            Request::Remove { target } => {
                let target_key = state
                    .room
                    .key_of(&target)
                    .ok_or_else(|| SfuError::UnknownParticipant(target.clone()))?;
                let target_pid = state.peers.get(&target_key).copied();
                let events = state
                    .room
                    .remove(key, target_key)
                    .map_err(|e| room_error(e, 0))?;
                self.room_events(room, events);
                if let Some(t) = target_pid {
                    self.teardown(t, now);
                }
                Ok(None)
            }
            Request::Leave => {
                self.leave(pid, now);
                Ok(None)
            }
        };
        self.dirty.push(pid);
        result
    }

    /// A peer leaves its room (asked to, or its session ended).
    fn leave(&mut self, pid: PeerId, now: Instant) {
        let Some(peer) = self.peers.get(&pid) else {
            return;
        };
        let (room, key) = (peer.room.clone(), peer.key);
        if let Some(state) = self.rooms.get_mut(&room) {
            let events = state.room.leave(key);
            self.room_events(&room, events);
        }
        self.teardown(pid, now);
    }

    /// Forgets a peer that is no longer in its room, closing its session.
    fn teardown(&mut self, pid: PeerId, now: Instant) {
        let Some(mut peer) = self.peers.remove(&pid) else {
            return;
        };
        let now_ms = self.ms(now);
        self.demux.remove(pid, &peer.ufrag);
        self.timers.remove(&(peer.timeout, pid));
        self.presence.left(&peer.room, &peer.name, now_ms);
        if let Some(state) = self.rooms.get_mut(&peer.room) {
            state.peers.retain(|_, p| *p != pid);
            state.speakers.forget(&peer.name);
            if state.room.participants() == 0 {
                self.rooms.remove(&peer.room);
            }
        }
        // Say goodbye (DTLS close_notify, RTCP BYE) if the session is up.
        peer.rtc.disconnect();
        while let Ok(Output::Transmit(t)) = peer.rtc.poll_output() {
            let _ = self.socket.send_to(&t.contents, t.destination);
        }
        tracing::info!(room = %peer.room, participant = %peer.name, "left");
    }
}

const SPEAKERS_WINDOW_MS: i64 = 600;

/// Recomputes a track's layers (which are being sent, at what bitrate)
/// from the bytes seen since the last measurement.
fn update_layers(state: &mut RoomState, track: TrackKey, now_ms: i64) {
    let Some(usage) = state.usage.get_mut(&track) else {
        return;
    };
    let layers = usage
        .iter_mut()
        .map(|u| {
            let active = u
                .last_packet_ms
                .is_some_and(|t| now_ms - t <= LAYER_IDLE_MS);
            if u.bytes > 0 {
                u.bitrate_bps = u.bytes * 8 * 1000 / MEASURE_EVERY_MS as u64;
            }
            u.bytes = 0;
            Layer {
                width: u.width,
                height: u.height,
                bitrate_bps: u.bitrate_bps,
                active,
            }
        })
        .collect();
    if matches!(state.room.track(track), Some((_, s, _)) if s.kind() == Kind::Video) {
        let _ = state.room.set_layers(track, layers);
    }
}

fn validate_name(what: &str, name: &str) -> Result<(), SfuError> {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(SfuError::Invalid(format!(
            "{what} must be 1 to 128 characters, without control characters"
        )));
    }
    Ok(())
}

fn room_error(e: RoomError, track: TrackKey) -> SfuError {
    match e {
        RoomError::Full(n) => SfuError::RoomFull(n),
        RoomError::AlreadyJoined(name) => SfuError::AlreadyJoined(name),
        RoomError::UnknownParticipant => SfuError::UnknownParticipant(String::new()),
        RoomError::UnknownTrack => SfuError::UnknownTrack(track),
        RoomError::PublishDenied(s) => SfuError::PublishDenied(s),
        RoomError::NotHost => SfuError::NotHost,
    }
}

/// CPU time this thread has used.
fn thread_cpu_seconds() -> f64 {
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
