//! A simulated call participant, for tests and load tests: a str0m peer on
//! its own UDP socket and thread that publishes real media (H.264 from
//! openh264 at up to three simulcast sizes, Opus from libopus, from a moving
//! test pattern and a tone), decodes what it receives, and records what it
//! decoded so a test can check real frames of the expected size arrived.
//!
//! Signalling is the caller's job: `Offerer::new` gives the SDP offer and
//! the track declarations to join with, `Offerer::connect` takes the SFU's
//! answer and starts the peer; the SFU's later offers go to `Peer::answer`.

pub mod flow;
pub mod pattern;
pub mod signal;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use openh264::decoder::Decoder;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, RateControlMode};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;
use proto::sfu::{LayerSpec, Source, TrackSpec};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{AbsCaptureTime, Extension};
use str0m::{Candidate, Event, Input, Output, Rtc};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The header extension id offered for abs-capture-time, which carries each
/// frame's send time to the receivers for the latency measurement (the SFU
/// forwards it).
pub const ABS_CAPTURE_TIME_ID: u8 = 5;

/// A str0m session as every participant uses it.
fn new_rtc() -> Rtc {
    Rtc::builder()
        .set_extension(ABS_CAPTURE_TIME_ID, Extension::AbsoluteCaptureTime)
        // Egress statistics: what a publisher sent, for load reports.
        .set_stats_interval(Some(Duration::from_secs(1)))
        .build(Instant::now())
}

/// One encoding of a video track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// The three simulcast sizes a camera publishes, smallest first.
pub const SIMULCAST: [(&str, Size); 3] = [
    (
        "q",
        Size {
            width: 160,
            height: 90,
        },
    ),
    (
        "h",
        Size {
            width: 320,
            height: 180,
        },
    ),
    (
        "f",
        Size {
            width: 640,
            height: 360,
        },
    ),
];

#[derive(Debug, Clone)]
pub struct Options {
    /// Camera encodings: several for simulcast, one for a plain track, none
    /// for no camera.
    pub camera: Vec<(&'static str, Size)>,
    pub microphone: bool,
    pub screen: Option<Size>,
    /// Open the whiteboard, chat and lossy data channels.
    pub channels: bool,
    pub fps: u32,
    /// Decode what arrives (off for load generation: only counted).
    pub decode: bool,
    /// Encode this many frames per video encoding once, at start, and send
    /// them in a loop instead of encoding live (load generation: the
    /// encoder's CPU stays out of the measurement). The loop starts with a
    /// keyframe, and a keyframe request restarts it. Loops are encoded once
    /// per process and shared (see `prerecorded`).
    pub prerecorded: Option<u32>,
    /// A received video frame this long after the previous one counts a
    /// freeze (`flow::Flow::freezes`).
    pub freeze_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            camera: vec![(
                "",
                Size {
                    width: 320,
                    height: 180,
                },
            )],
            microphone: true,
            screen: None,
            channels: false,
            fps: 15,
            decode: true,
            prerecorded: None,
            freeze_after: flow::FREEZE_AFTER,
        }
    }
}

/// What arrived on one track, as decoded.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub video_frames: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Size of the last decoded frame.
    pub size: Option<Size>,
    /// Each size change, in order.
    pub sizes: Vec<Size>,
    pub audio_frames: u64,
    pub audio_samples: u64,
    /// Packets, loss, freezes and latency, whether decoding or not.
    pub flow: flow::Flow,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub connected: bool,
    /// By the SFU's track number (the m-line's msid track `t<n>`), or by
    /// the mid when it is a number and the msid names no track (Janus).
    pub tracks: HashMap<u32, Received>,
    /// Data channel messages received, by channel label.
    pub messages: HashMap<String, Vec<Vec<u8>>>,
    pub video_frames_sent: u64,
    pub audio_frames_sent: u64,
    pub keyframe_requests: u64,
    /// Incoming RTP dropped by `limit_bandwidth`.
    pub dropped_for_loss: u64,
    /// RTP packets and bytes sent (retransmissions included), by stream:
    /// the m-line's mid, and `/rid` for a simulcast layer. From str0m's
    /// statistics, so up to a second behind.
    pub sent: HashMap<String, Sent>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub packets: u64,
    pub bytes: u64,
}

/// A peer that has made its offer and waits for the answer.
pub struct Offerer {
    rtc: Rtc,
    socket: UdpSocket,
    pending: SdpPendingOffer,
    options: Options,
    mids: Mids,
}

#[derive(Debug, Clone, Default)]
struct Mids {
    camera: Option<Mid>,
    microphone: Option<Mid>,
    screen: Option<Mid>,
}

impl Offerer {
    /// A peer on a fresh loopback port with its offer and track declarations.
    pub fn new(options: Options) -> std::io::Result<(Offerer, String, Vec<TrackSpec>)> {
        Offerer::new_on(LOOPBACK, options)
    }

    /// As `new`, on a port of `ip` (a server that pairs no loopback
    /// candidate, as Janus's libnice, needs the host's own address).
    pub fn new_on(
        ip: IpAddr,
        options: Options,
    ) -> std::io::Result<(Offerer, String, Vec<TrackSpec>)> {
        let socket = UdpSocket::bind((ip, 0))?;
        let local = socket.local_addr()?;
        let mut rtc = new_rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(std::io::Error::other)?);
        let mut api = rtc.sdp_api();
        let mut mids = Mids::default();
        let mut specs = Vec::new();
        if !options.camera.is_empty() {
            let simulcast = (options.camera.len() > 1).then(|| {
                let mut s = Simulcast::new();
                for (rid, _) in &options.camera {
                    s.add_send_layer(SimulcastLayer::new(rid));
                }
                s
            });
            let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
            let layers = if options.camera.len() > 1 {
                options
                    .camera
                    .iter()
                    .map(|(rid, s)| LayerSpec {
                        rid: (*rid).to_owned(),
                        width: s.width,
                        height: s.height,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            specs.push(TrackSpec {
                mid: mid.to_string(),
                source: Source::Camera,
                layers,
            });
            mids.camera = Some(mid);
        }
        if options.microphone {
            let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            specs.push(TrackSpec {
                mid: mid.to_string(),
                source: Source::Microphone,
                layers: Vec::new(),
            });
            mids.microphone = Some(mid);
        }
        if options.screen.is_some() {
            let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
            specs.push(TrackSpec {
                mid: mid.to_string(),
                source: Source::Screen,
                layers: Vec::new(),
            });
            mids.screen = Some(mid);
        }
        if options.channels {
            api.add_channel(proto::sfu::channels::WHITEBOARD.to_owned());
            api.add_channel(proto::sfu::channels::CHAT.to_owned());
            api.add_channel_with_config(ChannelConfig {
                label: proto::sfu::channels::LOSSY.to_owned(),
                ordered: false,
                reliability: Reliability::MaxRetransmits { retransmits: 0 },
                ..Default::default()
            });
        }
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| std::io::Error::other("nothing to offer"))?;
        Ok((
            Offerer {
                rtc,
                socket,
                pending,
                options,
                mids,
            },
            offer.to_sdp_string(),
            specs,
        ))
    }

    /// Applies the SFU's answer and starts the peer's thread.
    pub fn connect(mut self, answer: &str) -> Result<Peer, String> {
        let sfu_ufrag = ice_ufrag(answer);
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| e.to_string())?;
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .map_err(|e| e.to_string())?;
        let mut peer = Peer::start(self.rtc, self.socket, self.options, self.mids)?;
        peer.sfu_ufrag = sfu_ufrag;
        Ok(peer)
    }
}

enum Command {
    Answer(String, Sender<Result<String, String>>),
    Send(&'static str, Vec<u8>),
    RestartIce(Sender<Result<String, String>>),
    AcceptAnswer(String, Sender<Result<(), String>>),
    Limit(Option<u64>),
    Stop,
}

/// A running participant.
pub struct Peer {
    commands: Sender<Command>,
    stats: Arc<Mutex<Stats>>,
    /// The ICE username fragment the SFU gave this participant's leg.
    pub sfu_ufrag: Option<String>,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    /// A receive-only participant answering the SFU's offer (a join without
    /// an offer): returns the running peer and its answer.
    pub fn accept(offer: &str) -> Result<(Peer, String), String> {
        Peer::accept_with(offer, Options::default())
    }

    /// As `accept`, with the receiving option of `options` (`decode`); it
    /// publishes nothing.
    pub fn accept_with(offer: &str, options: Options) -> Result<(Peer, String), String> {
        Peer::accept_on(LOOPBACK, offer, options)
    }

    /// As `accept_with`, on a port of `ip` (see `Offerer::new_on`).
    pub fn accept_on(ip: IpAddr, offer: &str, options: Options) -> Result<(Peer, String), String> {
        let offer_sdp = offer.to_owned();
        let socket = UdpSocket::bind((ip, 0)).map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut rtc = new_rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| e.to_string())?;
        let options = Options {
            camera: Vec::new(),
            microphone: false,
            screen: None,
            ..options
        };
        let mut peer = Peer::start(rtc, socket, options, Mids::default())?;
        peer.sfu_ufrag = ice_ufrag(&offer_sdp);
        Ok((peer, answer.to_sdp_string()))
    }

    fn start(rtc: Rtc, socket: UdpSocket, options: Options, mids: Mids) -> Result<Peer, String> {
        let stats = Arc::new(Mutex::new(Stats::default()));
        let (commands, rx) = mpsc::channel();
        let runner = Runner::new(rtc, socket, options, mids, stats.clone(), rx)?;
        let thread = std::thread::Builder::new()
            .name("simpeer".into())
            .spawn(move || runner.run())
            .map_err(|e| e.to_string())?;
        Ok(Peer {
            commands,
            stats,
            sfu_ufrag: None,
            thread: Some(thread),
        })
    }

    /// Answers an offer of the SFU (tracks added or stopped).
    pub fn answer(&self, offer: &str) -> Result<String, String> {
        let (tx, rx) = mpsc::channel();
        self.commands
            .send(Command::Answer(offer.to_owned(), tx))
            .map_err(|_| "peer stopped".to_owned())?;
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| "peer did not answer".to_owned())?
    }

    /// Starts an ICE restart (new credentials, as after a network change):
    /// returns the offer to send to the SFU.
    pub fn restart_ice(&self) -> Result<String, String> {
        let (tx, rx) = mpsc::channel();
        self.commands
            .send(Command::RestartIce(tx))
            .map_err(|_| "peer stopped".to_owned())?;
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| "peer did not offer".to_owned())?
    }

    /// Applies the SFU's answer to this participant's own offer.
    pub fn accept_answer(&self, answer: &str) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        self.commands
            .send(Command::AcceptAnswer(answer.to_owned(), tx))
            .map_err(|_| "peer stopped".to_owned())?;
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| "peer did not apply the answer".to_owned())?
    }

    /// Sends a message on a data channel (`proto::sfu::channels`).
    pub fn send(&self, label: &'static str, data: &[u8]) {
        let _ = self.commands.send(Command::Send(label, data.to_vec()));
    }

    /// Caps incoming RTP at `bps` (a token bucket, half a second deep):
    /// packets over the budget are dropped, as on a congested link.
    pub fn limit_bandwidth(&self, bps: Option<u64>) {
        let _ = self.commands.send(Command::Limit(bps));
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// Polls `check` on the stats until it holds or `timeout` passes.
    pub fn wait_for(
        &self,
        timeout: Duration,
        check: impl Fn(&Stats) -> bool,
    ) -> Result<Stats, Box<Stats>> {
        let end = Instant::now() + timeout;
        loop {
            let s = self.stats();
            if check(&s) {
                return Ok(s);
            }
            if Instant::now() > end {
                return Err(Box::new(s));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn capture_time() -> AbsCaptureTime {
    AbsCaptureTime {
        capture_time: SystemTime::now(),
        clock_offset: None,
    }
}

fn ice_ufrag(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
        .map(str::to_owned)
}

/// Bytes allowed through, refilled at `bps`.
struct Bucket {
    bps: u64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, bytes: usize) -> bool {
        let now = Instant::now();
        let depth = self.bps as f64 / 16.0;
        self.tokens = (self.tokens
            + now.duration_since(self.at).as_secs_f64() * self.bps as f64 / 8.0)
            .min(depth);
        self.at = now;
        if self.tokens < bytes as f64 {
            return false;
        }
        self.tokens -= bytes as f64;
        true
    }
}

struct VideoSource {
    mid: Mid,
    rid: Option<Rid>,
    size: Size,
    encoder: Encoder,
    /// With `Options::prerecorded`: the encoded loop and the next frame in it.
    recording: Option<Recording>,
}

struct Recording {
    frames: Arc<[Vec<u8>]>,
    next: usize,
}

type Loops = HashMap<(u32, u32, u32, u32), Arc<[Vec<u8>]>>;

/// The loop of `frames` frames of the test pattern at `size` and `fps`,
/// encoded at the first call and shared afterwards: a load test's hundred
/// publishers send the same bytes, and the encoding is paid once, before
/// anyone joins if the caller asks here first.
pub fn prerecorded(size: Size, fps: u32, frames: u32) -> Result<Arc<[Vec<u8>]>, String> {
    static LOOPS: OnceLock<Mutex<Loops>> = OnceLock::new();
    let key = (size.width, size.height, fps.max(1), frames.max(1));
    let loops = LOOPS.get_or_init(Default::default);
    if let Some(l) = loops.lock().expect("loops").get(&key) {
        return Ok(l.clone());
    }
    // Encoded outside the lock; two first calls at once encode twice,
    // harmlessly.
    let mut encoder = encoder(size, key.2)?;
    let l: Arc<[Vec<u8>]> = (0..u64::from(key.3))
        .map(|n| encode(&mut encoder, size, n))
        .collect();
    loops.lock().expect("loops").insert(key, l.clone());
    Ok(l)
}

/// An H.264 encoder at about 0.1 bit per pixel per frame (small layers stay
/// small), with the bitrate control (which needs frame skipping in
/// openh264) that keeps simulcast layers' rates apart, as a browser's are.
fn encoder(size: Size, fps: u32) -> Result<Encoder, String> {
    let bps = (size.width * size.height * fps / 10).max(50_000);
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bps))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(true);
    Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| e.to_string())
}

/// Frame `n` of the test pattern, encoded (empty when rate control skips
/// it).
fn encode(encoder: &mut Encoder, size: Size, n: u64) -> Vec<u8> {
    let (w, h) = (size.width as usize, size.height as usize);
    let yuv = YUVBuffer::from_vec(pattern::frame(w, h, n), w, h);
    encoder.encode(&yuv).map(|b| b.to_vec()).unwrap_or_default()
}

impl VideoSource {
    fn next_frame(&mut self, n: u64) -> Vec<u8> {
        match &mut self.recording {
            Some(r) => {
                let frame = r.frames[r.next].clone();
                r.next = (r.next + 1) % r.frames.len();
                frame
            }
            None => encode(&mut self.encoder, self.size, n),
        }
    }

    fn keyframe_requested(&mut self) {
        match &mut self.recording {
            // The loop's first frame is the encoder's first: a keyframe.
            Some(r) => r.next = 0,
            None => self.encoder.force_intra_frame(),
        }
    }
}

struct Runner {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    options: Options,
    videos: Vec<VideoSource>,
    microphone: Option<(Mid, opus::Encoder)>,
    decoders: HashMap<Mid, Decoder>,
    audio_decoders: HashMap<Mid, opus::Decoder>,
    channels: HashMap<String, ChannelId>,
    labels: HashMap<ChannelId, String>,
    stats: Arc<Mutex<Stats>>,
    commands: Receiver<Command>,
    /// Our own offer, waiting for the SFU's answer.
    pending: Option<SdpPendingOffer>,
    limit: Option<Bucket>,
    frame: u64,
    samples: u64,
    started: Instant,
    next_video: Instant,
    next_audio: Instant,
}

impl Runner {
    fn new(
        rtc: Rtc,
        socket: UdpSocket,
        options: Options,
        mids: Mids,
        stats: Arc<Mutex<Stats>>,
        commands: Receiver<Command>,
    ) -> Result<Runner, String> {
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut videos = Vec::new();
        let fps = options.fps.max(1);
        let mut add = |mid: Mid, rid: &str, size: Size| -> Result<(), String> {
            let recording = match options.prerecorded {
                Some(frames) => Some(Recording {
                    frames: prerecorded(size, fps, frames)?,
                    next: 0,
                }),
                None => None,
            };
            videos.push(VideoSource {
                mid,
                rid: (!rid.is_empty()).then(|| rid.into()),
                size,
                encoder: encoder(size, fps)?,
                recording,
            });
            Ok(())
        };
        if let Some(mid) = mids.camera {
            for (rid, size) in &options.camera {
                add(mid, if options.camera.len() > 1 { rid } else { "" }, *size)?;
            }
        }
        if let (Some(mid), Some(size)) = (mids.screen, options.screen) {
            add(mid, "", size)?;
        }
        let microphone = match mids.microphone {
            Some(mid) => Some((
                mid,
                opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
                    .map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let now = Instant::now();
        Ok(Runner {
            rtc,
            socket,
            local,
            options,
            videos,
            microphone,
            decoders: HashMap::new(),
            audio_decoders: HashMap::new(),
            channels: HashMap::new(),
            labels: HashMap::new(),
            stats,
            commands,
            pending: None,
            limit: None,
            frame: 0,
            samples: 0,
            started: now,
            next_video: now,
            next_audio: now,
        })
    }

    fn run(mut self) {
        let mut buf = vec![0u8; 2048];
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.rtc.disconnect();
                        self.drain();
                        return;
                    }
                    Ok(c) => self.command(c),
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            if self.rtc.is_connected() {
                if now >= self.next_video {
                    self.send_video(now);
                    self.next_video = now + Duration::from_secs(1) / self.options.fps.max(1);
                }
                if now >= self.next_audio {
                    self.send_audio(now);
                    self.next_audio += Duration::from_millis(20);
                    if self.next_audio < now {
                        self.next_audio = now + Duration::from_millis(20);
                    }
                }
            }
            let timeout = self.drain();
            let wait = timeout
                .min(self.next_video)
                .min(self.next_audio)
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), Duration::from_millis(5));
            let _ = self.socket.set_read_timeout(Some(wait));
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => self.receive(&buf[..n], source),
                Err(_) => {
                    let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                }
            }
        }
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr) {
        let is_rtp = matches!(data.first(), Some(128..=191))
            && data.get(1).is_some_and(|pt| !(192..=223).contains(pt));
        if let (true, Some(bucket)) = (is_rtp, &mut self.limit) {
            if !bucket.take(data.len()) {
                self.stats.lock().expect("stats").dropped_for_loss += 1;
                return;
            }
        }
        let Ok(contents) = data.try_into() else {
            return;
        };
        let _ = self.rtc.handle_input(Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        ));
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Answer(offer, reply) => {
                let result = SdpOffer::from_sdp_string(&offer)
                    .map_err(|e| e.to_string())
                    .and_then(|o| {
                        self.rtc
                            .sdp_api()
                            .accept_offer(o)
                            .map_err(|e| e.to_string())
                    })
                    .map(|a| a.to_sdp_string());
                let _ = reply.send(result);
                // Decoders of m-lines the SFU stopped are not needed again.
                let rtc = &self.rtc;
                let live = |mid: &Mid| rtc.media(*mid).is_some_and(|m| !m.stopped());
                self.decoders.retain(|mid, _| live(mid));
                self.audio_decoders.retain(|mid, _| live(mid));
            }
            Command::Send(label, data) => {
                if let Some(id) = self.channels.get(label) {
                    if let Some(mut c) = self.rtc.channel(*id) {
                        let _ = c.write(true, &data);
                    }
                }
            }
            Command::RestartIce(reply) => {
                let mut api = self.rtc.sdp_api();
                api.ice_restart(true);
                let result = match api.apply() {
                    Some((offer, pending)) => {
                        self.pending = Some(pending);
                        Ok(offer.to_sdp_string())
                    }
                    None => Err("nothing to offer".to_owned()),
                };
                let _ = reply.send(result);
            }
            Command::AcceptAnswer(answer, reply) => {
                let result = match (SdpAnswer::from_sdp_string(&answer), self.pending.take()) {
                    (Ok(a), Some(p)) => self
                        .rtc
                        .sdp_api()
                        .accept_answer(p, a)
                        .map_err(|e| e.to_string()),
                    (Err(e), _) => Err(e.to_string()),
                    (_, None) => Err("no offer of ours is pending".to_owned()),
                };
                let _ = reply.send(result);
            }
            Command::Limit(bps) => {
                self.limit = bps.map(|bps| Bucket {
                    bps,
                    tokens: bps as f64 / 16.0,
                    at: Instant::now(),
                });
            }
            Command::Stop => {}
        }
    }

    fn send_video(&mut self, now: Instant) {
        let n = self.frame;
        self.frame += 1;
        let rtp_time =
            MediaTime::from_90khz(now.duration_since(self.started).as_micros() as u64 * 9 / 100);
        let mut sent = 0;
        for v in &mut self.videos {
            let data = v.next_frame(n);
            if data.is_empty() {
                continue;
            }
            let Some(writer) = self.rtc.writer(v.mid) else {
                continue;
            };
            let Some(pt) = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::H264)
                .map(|p| p.pt())
            else {
                continue;
            };
            let writer = match v.rid {
                Some(rid) => writer.rid(rid),
                None => writer,
            }
            .abs_capture_time(capture_time());
            if writer.write(pt, now, rtp_time, data).is_ok() {
                sent += 1;
            }
        }
        if sent > 0 {
            self.stats.lock().expect("stats").video_frames_sent += 1;
        }
    }

    fn send_audio(&mut self, now: Instant) {
        let Some((mid, encoder)) = &mut self.microphone else {
            return;
        };
        let pcm = pattern::tone(self.samples);
        self.samples += pcm.len() as u64;
        let mut out = [0u8; 1500];
        let Ok(len) = encoder.encode(&pcm, &mut out) else {
            return;
        };
        let rtp_time = MediaTime::new(self.samples, str0m::media::Frequency::FORTY_EIGHT_KHZ);
        let Some(writer) = self.rtc.writer(*mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        // The tone is loud: 20 dB under full scale.
        if writer
            .audio_level(-20, true)
            .abs_capture_time(capture_time())
            .write(pt, now, rtp_time, out[..len].to_vec())
            .is_ok()
        {
            self.stats.lock().expect("stats").audio_frames_sent += 1;
        }
    }

    /// Handles output until str0m asks for a timeout, which is returned.
    fn drain(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Event(e)) => self.event(e),
                Err(_) => return Instant::now() + Duration::from_millis(5),
            }
        }
    }

    /// Our SFU names a track in the m-line's msid (`t<n>`); Janus does not,
    /// but numbers its subscriber m-lines' mids, so those key the stats.
    fn track_of(&self, mid: Mid) -> Option<u32> {
        let media = self.rtc.media(mid)?;
        media
            .track_id()
            .strip_prefix('t')
            .and_then(|n| n.parse().ok())
            .or_else(|| mid.parse().ok())
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => self.stats.lock().expect("stats").connected = true,
            Event::MediaData(data) => {
                let Some(track) = self.track_of(data.mid) else {
                    return;
                };
                let is_audio = data.params.spec().codec == Codec::Opus;
                let mut stats = self.stats.lock().expect("stats");
                let received = stats.tracks.entry(track).or_default();
                received.flow.frame(
                    **data.seq_range.start()..=**data.seq_range.end(),
                    data.data.len(),
                    !is_audio,
                    data.network_time,
                    data.ext_vals.abs_capture_time.map(|t| t.capture_time),
                    self.options.freeze_after,
                );
                if !self.options.decode {
                    match is_audio {
                        true => received.audio_frames += 1,
                        false => received.video_frames += 1,
                    }
                    return;
                }
                if is_audio {
                    let decoder = self.audio_decoders.entry(data.mid).or_insert_with(|| {
                        opus::Decoder::new(48_000, opus::Channels::Mono).expect("opus decoder")
                    });
                    let mut pcm = [0i16; 5760];
                    if let Ok(n) = decoder.decode(&data.data, &mut pcm, false) {
                        received.audio_frames += 1;
                        received.audio_samples += n as u64;
                    }
                    return;
                }
                let decoder = self
                    .decoders
                    .entry(data.mid)
                    .or_insert_with(|| Decoder::new().expect("H.264 decoder"));
                match decoder.decode(&data.data) {
                    Ok(Some(frame)) => {
                        use openh264::formats::YUVSource;
                        let (w, h) = frame.dimensions();
                        let size = Size {
                            width: w as u32,
                            height: h as u32,
                        };
                        received.video_frames += 1;
                        if received.size != Some(size) {
                            received.sizes.push(size);
                        }
                        received.size = Some(size);
                    }
                    Ok(None) => {}
                    Err(_) => {
                        received.decode_errors += 1;
                        drop(stats);
                        if let Some(mut w) = self.rtc.writer(data.mid) {
                            let _ =
                                w.request_keyframe(None, str0m::media::KeyframeRequestKind::Pli);
                        }
                    }
                }
            }
            Event::KeyframeRequest(req) => {
                self.stats.lock().expect("stats").keyframe_requests += 1;
                for v in &mut self.videos {
                    if v.mid == req.mid && v.rid == req.rid {
                        v.keyframe_requested();
                    }
                }
            }
            Event::MediaEgressStats(s) => {
                let stream = match s.rid {
                    Some(rid) => format!("{}/{}", s.mid, rid),
                    None => s.mid.to_string(),
                };
                self.stats.lock().expect("stats").sent.insert(
                    stream,
                    Sent {
                        packets: s.packets,
                        bytes: s.bytes,
                    },
                );
            }
            Event::ChannelOpen(id, label) => {
                self.channels.insert(label.clone(), id);
                self.labels.insert(id, label);
            }
            Event::ChannelData(d) => {
                if let Some(label) = self.labels.get(&d.id) {
                    self.stats
                        .lock()
                        .expect("stats")
                        .messages
                        .entry(label.clone())
                        .or_default()
                        .push(d.data);
                }
            }
            _ => {}
        }
    }
}
