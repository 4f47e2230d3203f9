//! Micro-benchmarks of the forwarding hot path, piece by piece: finding the
//! peer a datagram is for, choosing a subscriber's simulcast layer,
//! rewriting a packet's numbers for a subscriber, routing one packet to a
//! room of 50, and one forwarded packet through a str0m leg (write, pacer,
//! SRTP, out as a datagram). `sfu-forward` measures the whole, with the
//! kernel's share; these say where the user-space part goes.
//!
//! `cargo bench -p bench --bench forwarding`

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::demux::{signed_binding_request, Demux};
use media::room::Room;
use media::simulcast::layers::{self, Layer, Want};
use media::simulcast::rewrite::{Incoming, Rewriter};
use proto::sfu::{Role, Source};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SUBSCRIBERS: usize = 50;
/// A full-size video packet's payload.
const PAYLOAD: usize = 1_100;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40_000))
}

fn three_layers() -> Vec<Layer> {
    [
        (160, 90, 150_000),
        (320, 180, 500_000),
        (640, 360, 1_500_000),
    ]
    .into_iter()
    .map(|(width, height, bitrate_bps)| Layer {
        width,
        height,
        bitrate_bps,
        active: true,
    })
    .collect()
}

fn packet(seq: u64, layer: usize) -> Incoming {
    Incoming {
        layer,
        seq,
        timestamp: seq * 3_000,
        keyframe_start: seq.is_multiple_of(300),
        frame_end: true,
        picture_id: None,
        long_picture_id: false,
        tl0_pic_idx: None,
        arrival_ms: seq as i64,
    }
}

/// Finding the peer of a datagram among 1,000: RTP by its source address
/// (every media packet), a binding request by its username and password.
fn demux(c: &mut Criterion) {
    let mut demux = Demux::default();
    for i in 0..1_000 {
        let ufrag = format!("u{i}");
        demux.insert(i, &ufrag, "password");
        let request = signed_binding_request(&format!("{ufrag}:client"), "password");
        demux.route(addr(i), &request).expect("a signed request");
    }
    let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    let stun = signed_binding_request("u500:client", "password");
    let mut group = c.benchmark_group("demux");
    group.throughput(Throughput::Elements(1));
    group.bench_function("RTP by source address", |b| {
        b.iter(|| demux.route(black_box(addr(500)), black_box(&rtp)))
    });
    group.bench_function("binding request by username, HMAC checked", |b| {
        b.iter(|| demux.route(black_box(addr(500)), black_box(&stun)))
    });
    group.finish();
}

fn layer_selection(c: &mut Criterion) {
    let layers = three_layers();
    let want = Want::Size {
        width: 320,
        height: 180,
    };
    c.bench_function("layer selection (3 layers, bandwidth-bound)", |b| {
        b.iter(|| {
            layers::target(
                black_box(&layers),
                black_box(want),
                black_box(Some(400_000)),
            )
        })
    });
}

/// Rewriting one packet's numbers, with a switch between two layers every
/// 300 packets (each at a keyframe of the target).
fn rewrite(c: &mut Criterion) {
    let mut rewriter: Rewriter = Rewriter::new(90_000);
    let mut seq = 0u64;
    c.bench_function("rewrite one packet", |b| {
        b.iter(|| {
            seq += 1;
            let target = (seq / 300 % 2) as usize;
            let mut sent = None;
            rewriter.forward(&packet(seq, target), Some(target), || (), &mut |o, _| {
                sent = Some(o)
            });
            black_box(sent)
        })
    });
}

/// One video packet of a three-layer track routed to 50 subscribers, each
/// wanting one of the sizes: the room core's share of a fan-out.
fn room_route(c: &mut Criterion) {
    let mut room = Room::new(SUBSCRIBERS + 1);
    let (publisher, _) = room
        .join("publisher", Role::Host, &[Source::Camera])
        .expect("the room has space");
    let (track, _) = room
        .publish(publisher, Source::Camera, three_layers())
        .expect("a host may publish a camera");
    for i in 0..SUBSCRIBERS {
        let (s, _) = room
            .join(&format!("s{i}"), Role::Viewer, &[])
            .expect("the room has space");
        let size = [(160, 90), (320, 180), (640, 360)][i % 3];
        room.set_want(
            s,
            track,
            Want::Size {
                width: size.0,
                height: size.1,
            },
        )
        .expect("subscribed at join");
        room.set_ready(s, track, true);
    }
    let mut out = Vec::with_capacity(SUBSCRIBERS);
    let mut seq = 0u64;
    let mut group = c.benchmark_group("room");
    group.throughput(Throughput::Elements(1));
    group.bench_function("route one packet of each layer to 50", |b| {
        b.iter(|| {
            seq += 1;
            let mut routed = 0;
            for layer in 0..3 {
                let mut p = packet(seq, layer);
                // Every layer starts at a keyframe, so each subscriber settles
                // on its own layer and stays there.
                p.keyframe_start |= seq == 1;
                room.route(track, &p, || (), &mut out);
                routed += out.len();
            }
            black_box(routed)
        })
    });
    group.finish();
}

/// The SFU's leg and a client, connected in memory; the client only
/// exists to complete ICE, DTLS and the SDP exchange.
struct Pair {
    sfu: Rtc,
    client: Rtc,
    now: Instant,
    sfu_addr: SocketAddr,
    client_addr: SocketAddr,
}

impl Pair {
    fn connected() -> (Pair, Ssrc, str0m::media::Pt) {
        let now = Instant::now();
        let sfu_addr: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let client_addr: SocketAddr = "10.0.0.2:6000".parse().unwrap();
        let mut sfu = media::node::leg(now);
        sfu.add_local_candidate(Candidate::host(sfu_addr, "udp").unwrap());
        // RTP mode: the client, untimed but sharing the core, does not
        // reassemble frames.
        let mut client = Rtc::builder().set_rtp_mode(true).build(now);
        client.add_local_candidate(Candidate::host(client_addr, "udp").unwrap());
        let mut api = sfu.sdp_api();
        let mid: Mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().expect("a media line was added");
        let answer = client.sdp_api().accept_offer(offer).expect("a valid offer");
        sfu.sdp_api()
            .accept_answer(pending, answer)
            .expect("a valid answer");
        let mut pair = Pair {
            sfu,
            client,
            now,
            sfu_addr,
            client_addr,
        };
        let mut connected = false;
        for _ in 0..10_000 {
            connected |= pair.step_both();
            if connected {
                break;
            }
            pair.now += Duration::from_millis(5);
        }
        assert!(connected, "the legs never connected in memory");
        let ssrc = pair
            .sfu
            .direct_api()
            .stream_tx_by_mid(mid, None)
            .expect("a send stream for the m-line")
            .ssrc();
        let pt = pair
            .sfu
            .codec_config()
            .find(|p| p.spec().codec == Codec::H264)
            .expect("H.264 negotiated")
            .pt();
        (pair, ssrc, pt)
    }

    /// Hands what the SFU sent to the client and the client's answers back.
    fn deliver(&mut self, wire: &mut Vec<Vec<u8>>) {
        let now = self.now;
        for datagram in wire.drain(..) {
            let receive = self.receive(false, &datagram);
            let _ = self.client.handle_input(Input::Receive(now, receive));
        }
        self.client
            .handle_input(Input::Timeout(now))
            .expect("timeout");
        while let Ok(output) = self.client.poll_output() {
            match output {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    let receive = self.receive(true, &t.contents);
                    let _ = self.sfu.handle_input(Input::Receive(now, receive));
                }
                Output::Event(_) => {}
            }
        }
    }

    /// A datagram arriving at the SFU (`to_sfu`) or at the client.
    fn receive<'a>(&self, to_sfu: bool, datagram: &'a [u8]) -> Receive<'a> {
        let (source, destination) = match to_sfu {
            true => (self.client_addr, self.sfu_addr),
            false => (self.sfu_addr, self.client_addr),
        };
        Receive {
            proto: Protocol::Udp,
            source,
            destination,
            contents: datagram.try_into().expect("a datagram"),
        }
    }

    /// Runs both sides' timers and moves every datagram across; whether the
    /// SFU's leg reports being connected.
    fn step_both(&mut self) -> bool {
        let mut connected = false;
        let mut wire = Vec::new();
        self.sfu
            .handle_input(Input::Timeout(self.now))
            .expect("timeout");
        while let Ok(output) = self.sfu.poll_output() {
            match output {
                Output::Timeout(_) => break,
                Output::Transmit(t) => wire.push(t.contents.into()),
                Output::Event(Event::Connected) => connected = true,
                Output::Event(_) => {}
            }
        }
        self.deliver(&mut wire);
        connected
    }
}

/// Packets a second each subscriber's leg carries in the `sfu-forward` run
/// (6,400 forwarded packets a second over 50 legs).
const LEG_PACKETS_PER_SECOND: u64 = 128;

/// One packet written into a connected leg and drained until it leaves as
/// an SRTP datagram: str0m's whole per-packet, per-subscriber cost. Time
/// moves at the leg's real packet rate, so its timers (pacer, statistics,
/// bandwidth estimator) come due as they would; every 64 packets the
/// client, untimed, takes what was sent and answers (receiver reports,
/// TWCC feedback, consent checks), so the leg stays alive and estimating.
fn str0m_leg(c: &mut Criterion) {
    let (mut pair, ssrc, pt) = Pair::connected();
    let payload: Arc<[u8]> = vec![0x5a; PAYLOAD].into();
    let mut seq = 0u64;
    let mut wire: Vec<Vec<u8>> = Vec::new();
    let mut held = 0u64;
    let mut group = c.benchmark_group("str0m leg");
    group.throughput(Throughput::Elements(1));
    group.bench_function("forward one packet to the wire", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                seq += 1;
                pair.now += Duration::from_micros(1_000_000 / LEG_PACKETS_PER_SECOND);
                let now = pair.now;
                let started = Instant::now();
                let write =
                    RtpWrite::new(pt, seq.into(), (seq * 3_000) as u32, now, payload.clone())
                        .nackable(true);
                pair.sfu
                    .direct_api()
                    .stream_tx(&ssrc)
                    .expect("the stream")
                    .write_rtp(write);
                let before = wire.len();
                loop {
                    match pair.sfu.poll_output().expect("output") {
                        Output::Transmit(t) => wire.push(t.contents.into()),
                        Output::Timeout(at) if at <= now => {
                            pair.sfu.handle_input(Input::Timeout(now)).expect("timeout")
                        }
                        Output::Timeout(_) => break,
                        Output::Event(_) => {}
                    }
                }
                timed += started.elapsed();
                held += u64::from(wire.len() == before);
                if seq.is_multiple_of(64) {
                    pair.deliver(&mut wire);
                }
            }
            timed
        })
    });
    group.finish();
    // A pacer holding packets back would make this measure nothing.
    assert!(
        held * 100 <= seq,
        "{held} of {seq} packets did not leave when written"
    );
}

criterion_group!(
    benches,
    demux,
    layer_selection,
    rewrite,
    room_route,
    str0m_leg
);
criterion_main!(benches);
