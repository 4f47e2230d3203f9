//! One continuous stream out of several simulcast layers. Each layer has its
//! own SSRC, sequence numbers, timestamps and VP8 picture ids; the subscriber
//! must see one SSRC whose numbers never jump backwards or repeat. The
//! rewriter forwards the current layer with fixed offsets and moves to the
//! target layer only at a keyframe of it (a decoder can start there),
//! choosing new offsets so the numbers carry on where they stopped:
//!
//! - sequence number: the last one sent plus one;
//! - timestamp: the last one plus the wall-clock time elapsed since, in
//!   the track's clock rate (at least one tick);
//! - VP8 PictureID (15 bits) and TL0PICIDX: the last ones plus one, wrapping.
//!
//! Until the keyframe comes the current layer keeps flowing, so a switch
//! never leaves a gap. Nor does it cut a frame: a publisher's pacer
//! interleaves its layers, so the keyframe often starts while a frame of the
//! current layer is half sent. Numbered right after that half, the keyframe
//! would make it look whole to a receiver that closes a frame at a
//! timestamp change (str0m does), and the decoder would get a truncated
//! frame. So the keyframe and what follows it are held, and the current
//! frame finishes first; pausing also stops only between frames. A frame
//! that cannot finish (its end lost, or too long in coming) is marked as
//! such by one sequence number left unused, as for a loss, which makes
//! every receiver drop it. Sequence numbers and timestamps are extended
//! (64-bit, rollover counted) on both sides.

/// A packet of the published track, as the driver read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub layer: usize,
    pub seq: u64,
    pub timestamp: u64,
    /// First packet of a keyframe.
    pub keyframe_start: bool,
    /// Last packet of a frame: the RTP marker bit of video; every audio
    /// packet is a frame.
    pub frame_end: bool,
    /// VP8 only.
    pub picture_id: Option<u16>,
    /// Whether the PictureID field is 15 bits long (else 7): rewritten ids
    /// keep the width, because the descriptor is patched in place.
    pub long_picture_id: bool,
    /// VP8 only.
    pub tl0_pic_idx: Option<u8>,
    pub arrival_ms: i64,
}

/// The values to send the packet with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    pub seq: u64,
    pub timestamp: u64,
    pub picture_id: Option<u16>,
    pub tl0_pic_idx: Option<u8>,
}

const PICTURE_ID_MOD: u32 = 0x8000;

/// Bounds on holding a keyframe for the current frame to finish: a frame's
/// packets come within a few milliseconds, so reaching either means its end
/// was lost, and waiting longer would only delay the switch.
const HOLD_MAX_PACKETS: usize = 256;
const HOLD_MAX_MS: i64 = 250;

#[derive(Debug, Clone, Copy)]
struct Offsets {
    layer: usize,
    /// The source sequence number the layer was joined at: anything older
    /// of that layer (late, or retransmitted) would reuse sent numbers.
    from_seq: u64,
    seq: i64,
    timestamp: i64,
    picture_id: u16,
    tl0: u8,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    out: Outgoing,
    arrival_ms: i64,
    /// The stream is between frames.
    frame_end: bool,
}

/// A switch waiting for the current frame to end: the target layer's
/// keyframe and the packets after it, each with what the driver needs to
/// send it later.
#[derive(Debug)]
struct Pending<H> {
    layer: usize,
    packets: Vec<(Incoming, H)>,
}

/// `H` is what the driver keeps of a held packet, to send it later.
#[derive(Debug)]
pub struct Rewriter<H = ()> {
    clock_rate: u32,
    current: Option<Offsets>,
    pending: Option<Pending<H>>,
    last: Option<Sent>,
    /// Per layer, the newest packet seen, forwarded or not: its number and
    /// whether it ended a frame. A keyframe packet starts its frame only
    /// right after a frame's end; otherwise it may be an H.264 IDR fragment
    /// whose parameter sets went by (or were lost), and no decoder can
    /// start there.
    newest: Vec<Option<(u64, bool)>>,
    switches: u64,
}

impl<H> Rewriter<H> {
    /// `clock_rate`: RTP clock of the codec (90 000 for video).
    pub fn new(clock_rate: u32) -> Self {
        Rewriter {
            clock_rate,
            current: None,
            pending: None,
            last: None,
            newest: Vec::new(),
            switches: 0,
        }
    }

    /// The layer being forwarded.
    pub fn layer(&self) -> Option<usize> {
        self.current.map(|c| c.layer)
    }

    /// Layer changes so far (the first layer counts as one).
    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// Whether the subscriber is waiting for a keyframe of `target`, i.e.
    /// whether the driver should ask the publisher for one.
    pub fn needs_keyframe(&self, target: Option<usize>) -> bool {
        target.is_some()
            && target != self.layer()
            && target != self.pending.as_ref().map(|h| h.layer)
    }

    /// Forgets the layer being forwarded, keeping the numbering: the next
    /// packet forwarded is a keyframe start, continuing the sequence.
    pub fn restart(&mut self) {
        self.current = None;
        self.pending = None;
    }

    /// Decides one packet. `target` is the layer the subscriber should get
    /// (None: paused). `send` gets the values to send packets with, in
    /// order: with `None` for this packet, or with what `hold` made of a
    /// packet held earlier; `hold` is called when this packet is held.
    pub fn forward(
        &mut self,
        p: &Incoming,
        target: Option<usize>,
        hold: impl FnOnce() -> H,
        send: &mut impl FnMut(Outgoing, Option<H>),
    ) {
        if self
            .pending
            .as_ref()
            .is_some_and(|h| Some(h.layer) != target)
        {
            self.pending = None;
        }
        let starts_frame = self.observe(p);
        match self.current {
            Some(c) if c.layer == p.layer => {
                if p.seq >= c.from_seq {
                    self.continue_layer(c, p, target, send);
                }
            }
            _ if target != Some(p.layer) => {
                // Paused while the current layer is quiet (the publisher may
                // stop it once nobody watches): stop between frames, or once
                // a held keyframe would have given up waiting.
                let quiet = self.between_frames()
                    || self
                        .last
                        .is_some_and(|l| p.arrival_ms - l.arrival_ms >= HOLD_MAX_MS);
                if target.is_none() && self.current.is_some() && quiet {
                    self.current = None;
                }
            }
            _ => {
                if let Some(h) = &mut self.pending {
                    let seen = h.packets.iter().any(|(q, _)| q.seq == p.seq);
                    if p.seq > h.packets[0].0.seq && !seen {
                        h.packets.push((*p, hold()));
                        let waited = p.arrival_ms - h.packets[0].0.arrival_ms;
                        if h.packets.len() >= HOLD_MAX_PACKETS || waited >= HOLD_MAX_MS {
                            self.stop(send);
                        }
                    }
                } else if p.keyframe_start && starts_frame {
                    if self.current.is_some() && !self.between_frames() {
                        self.pending = Some(Pending {
                            layer: p.layer,
                            packets: vec![(*p, hold())],
                        });
                    } else {
                        let offsets = self.switch_to(p);
                        self.send(rewrite(&offsets, p), p, None, send);
                    }
                }
            }
        }
    }

    /// A packet of the layer being forwarded. When leaving the layer (paused,
    /// or the target's keyframe is held) only the frame under way goes on.
    fn continue_layer(
        &mut self,
        c: Offsets,
        p: &Incoming,
        target: Option<usize>,
        send: &mut impl FnMut(Outgoing, Option<H>),
    ) {
        let leaving = target.is_none() || self.pending.is_some();
        let out = rewrite(&c, p);
        let Some(last) = self.last.filter(|l| leaving && out.seq > l.out.seq) else {
            // Staying, or a late packet: it takes its own place.
            return self.send(out, p, None, send);
        };
        if last.frame_end || out.timestamp != last.out.timestamp {
            // Another frame would start (the last one ended, or lost its end).
            return self.stop(send);
        }
        self.send(out, p, None, send);
        if p.frame_end {
            self.stop(send);
        }
    }

    /// Stops forwarding the current layer, and switches to the held
    /// keyframe if there is one.
    fn stop(&mut self, send: &mut impl FnMut(Outgoing, Option<H>)) {
        self.current = None;
        let Some(held) = self.pending.take() else {
            return;
        };
        let offsets = self.switch_to(&held.packets[0].0);
        for (p, h) in held.packets {
            self.send(rewrite(&offsets, &p), &p, Some(h), send);
        }
    }

    /// Notes a packet of the track, and says whether a decoder could start
    /// there if it is a keyframe's. Packets that are not routed (the leg is
    /// not ready) are noted all the same, to know where frames start.
    pub fn observe(&mut self, p: &Incoming) -> bool {
        if self.newest.len() <= p.layer {
            self.newest.resize(p.layer + 1, None);
        }
        let newest = &mut self.newest[p.layer];
        // With nothing seen of the layer yet, the packet is taken at its word.
        let starts = newest.is_none_or(|(seq, end)| end && seq + 1 == p.seq);
        if newest.is_none_or(|(seq, _)| p.seq > seq) {
            *newest = Some((p.seq, p.frame_end));
        }
        starts
    }

    fn between_frames(&self) -> bool {
        self.last.is_none_or(|l| l.frame_end)
    }

    /// Sends `p` (or what was held of it) as `out`.
    fn send(
        &mut self,
        out: Outgoing,
        p: &Incoming,
        held: Option<H>,
        send: &mut impl FnMut(Outgoing, Option<H>),
    ) {
        // Track the newest packet sent; a late (reordered) one keeps its own
        // place in the sequence and does not move the continuation point.
        if self.last.is_none_or(|l| out.seq > l.out.seq) {
            self.last = Some(Sent {
                out,
                arrival_ms: p.arrival_ms,
                frame_end: p.frame_end,
            });
        }
        send(out, held);
    }

    fn switch_to(&mut self, p: &Incoming) -> Offsets {
        let offsets = match self.last {
            // The first packet: sequence numbers start at rollover count 0,
            // as a receiver that joins late expects for SRTP (str0m takes
            // the rollover count from the extended number).
            None => Offsets {
                layer: p.layer,
                from_seq: p.seq,
                seq: -((p.seq & !0xFFFF) as i64),
                timestamp: 0,
                picture_id: 0,
                tl0: 0,
            },
            Some(last) => {
                let elapsed_ms = (p.arrival_ms - last.arrival_ms).max(0) as u64;
                let ticks = (elapsed_ms * u64::from(self.clock_rate) / 1000).max(1);
                let next_pic = last
                    .out
                    .picture_id
                    .map_or(0, |id| (u32::from(id) + 1) % PICTURE_ID_MOD);
                let next_tl0 = last.out.tl0_pic_idx.map_or(0, |t| t.wrapping_add(1));
                // A frame left unfinished: one number unused says so.
                let next_seq = last.out.seq + 1 + u64::from(!last.frame_end);
                Offsets {
                    from_seq: p.seq,
                    layer: p.layer,
                    seq: next_seq.wrapping_sub(p.seq) as i64,
                    timestamp: (last.out.timestamp + ticks).wrapping_sub(p.timestamp) as i64,
                    picture_id: p.picture_id.map_or(0, |id| {
                        ((next_pic + PICTURE_ID_MOD - u32::from(id)) % PICTURE_ID_MOD) as u16
                    }),
                    tl0: p.tl0_pic_idx.map_or(0, |t| next_tl0.wrapping_sub(t)),
                }
            }
        };
        self.current = Some(offsets);
        self.switches += 1;
        offsets
    }
}

fn rewrite(offsets: &Offsets, p: &Incoming) -> Outgoing {
    let id_mod = if p.long_picture_id {
        PICTURE_ID_MOD
    } else {
        0x80
    };
    Outgoing {
        seq: p.seq.wrapping_add_signed(offsets.seq),
        timestamp: p.timestamp.wrapping_add_signed(offsets.timestamp),
        picture_id: p
            .picture_id
            .map(|id| ((u32::from(id) + u32::from(offsets.picture_id)) % id_mod) as u16),
        tl0_pic_idx: p.tl0_pic_idx.map(|t| t.wrapping_add(offsets.tl0)),
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Forwards `p` where nothing is ever held (whole frames, one layer
    /// after another): at most this packet is sent.
    fn forward(r: &mut Rewriter, p: &Incoming, target: Option<usize>) -> Option<Outgoing> {
        let mut sent = Vec::new();
        r.forward(p, target, || (), &mut |o, held| sent.push((o, held)));
        assert!(sent.len() <= 1 && sent.iter().all(|(_, h)| h.is_none()));
        sent.pop().map(|(o, _)| o)
    }

    /// A synthetic simulcast publisher: per layer its own numbering, 30 fps,
    /// `parts` packets per frame, a keyframe every `gop` frames. Each
    /// layer's packets come after the previous layer's.
    struct Publisher {
        next_seq: [u64; 3],
        picture_id: [u16; 3],
        tl0: [u8; 3],
        base_ts: [u64; 3],
        gop: u64,
        parts: u64,
    }

    impl Publisher {
        fn new() -> Self {
            Publisher {
                next_seq: [100, 40_000, 65_000],
                picture_id: [7, 0x7ff0, 300],
                tl0: [1, 250, 90],
                base_ts: [5_000, 9_000_000, 77],
                gop: 10,
                parts: 2,
            }
        }

        fn frame(&mut self, frame: u64, now_ms: i64) -> Vec<Incoming> {
            let mut out = Vec::new();
            for layer in 0..3 {
                let keyframe = frame.is_multiple_of(self.gop);
                for part in 0..self.parts {
                    out.push(Incoming {
                        layer,
                        seq: self.next_seq[layer],
                        timestamp: self.base_ts[layer] + frame * 3000,
                        keyframe_start: keyframe && part == 0,
                        frame_end: part == self.parts - 1,
                        picture_id: Some(self.picture_id[layer]),
                        long_picture_id: true,
                        tl0_pic_idx: Some(self.tl0[layer]),
                        arrival_ms: now_ms,
                    });
                    self.next_seq[layer] += 1;
                }
                self.picture_id[layer] =
                    ((u32::from(self.picture_id[layer]) + 1) % PICTURE_ID_MOD) as u16;
                self.tl0[layer] = self.tl0[layer].wrapping_add(1);
            }
            out
        }
    }

    #[test]
    fn one_layer_passes_through_unchanged() {
        let mut pubr = Publisher::new();
        let mut r = Rewriter::new(90_000);
        let mut sent = Vec::new();
        for f in 0..20 {
            for p in pubr.frame(f, f as i64 * 33) {
                if let Some(o) = forward(&mut r, &p, Some(0)) {
                    assert_eq!(
                        (o.seq, o.timestamp, o.picture_id),
                        (p.seq, p.timestamp, p.picture_id)
                    );
                    sent.push(o);
                }
            }
        }
        assert_eq!(sent.len(), 40);
        assert_eq!(r.switches(), 1);
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_continues_the_numbering() {
        let mut pubr = Publisher::new();
        let mut r = Rewriter::new(90_000);
        let mut sent: Vec<(usize, Outgoing)> = Vec::new();
        for f in 0..40u64 {
            let target = if f < 13 { 0 } else { 2 };
            for p in pubr.frame(f, f as i64 * 33) {
                if let Some(o) = forward(&mut r, &p, Some(target)) {
                    sent.push((p.layer, o));
                }
            }
            if (13..20).contains(&f) {
                assert!(
                    r.needs_keyframe(Some(2)),
                    "frame {f}: still on layer 0 until the keyframe at frame 20"
                );
                assert_eq!(r.layer(), Some(0));
            }
        }
        assert_eq!(r.layer(), Some(2));
        let switch = sent.iter().position(|(l, _)| *l == 2).unwrap();
        // Frames 0..=20 of layer 0 (frame 20's layer-0 packets arrive before
        // layer 2's keyframe), two packets each: no gap while waiting.
        assert_eq!(switch, 42);
        for w in sent.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            assert_eq!(b.seq, a.seq + 1, "sequence numbers continue");
            assert!(b.timestamp >= a.timestamp, "timestamps never go back");
            let same_frame = a.timestamp == b.timestamp;
            let expect_pic = if same_frame {
                a.picture_id.unwrap()
            } else {
                (a.picture_id.unwrap() + 1) % 0x8000
            };
            assert_eq!(
                b.picture_id.unwrap(),
                expect_pic,
                "picture ids continue, wrapping at 15 bits"
            );
        }
        let (before, after) = (sent[switch - 1].1, sent[switch].1);
        assert_eq!(
            after.timestamp - before.timestamp,
            1,
            "same arrival time: one tick later"
        );
        assert_eq!(
            after.tl0_pic_idx,
            Some(before.tl0_pic_idx.unwrap().wrapping_add(1))
        );
    }

    #[test]
    fn the_timestamp_advances_by_the_wall_clock_time_between_layers() {
        let mut r = Rewriter::new(90_000);
        let packet = |layer, seq, timestamp, arrival_ms| Incoming {
            layer,
            seq,
            timestamp,
            keyframe_start: true,
            frame_end: true,
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
            arrival_ms,
        };
        let first = forward(&mut r, &packet(0, 10, 1_000, 0), Some(0)).unwrap();
        let switched = forward(&mut r, &packet(1, 5_000, 777_777, 100), Some(1)).unwrap();
        assert_eq!(switched.seq, first.seq + 1);
        assert_eq!(
            switched.timestamp,
            first.timestamp + 9_000,
            "100 ms at 90 kHz"
        );
        assert_eq!(switched.picture_id, None, "H.264 carries no picture id");
        let next = forward(&mut r, &packet(1, 5_001, 780_777, 133), Some(1)).unwrap();
        assert_eq!(
            next.timestamp,
            switched.timestamp + 3_000,
            "then the layer's own spacing"
        );
    }

    fn vp8(layer: usize, seq: u64, keyframe_start: bool, picture_id: u16, long: bool) -> Incoming {
        Incoming {
            layer,
            seq,
            timestamp: seq * 3000,
            keyframe_start,
            frame_end: true,
            picture_id: Some(picture_id),
            long_picture_id: long,
            tl0_pic_idx: Some(0),
            arrival_ms: seq as i64,
        }
    }

    #[test]
    fn the_stream_starts_at_rollover_zero_whatever_the_publisher_is_at() {
        let mut r = Rewriter::new(90_000);
        let start = 3 * 65_536 + 5;
        assert_eq!(
            forward(&mut r, &vp8(0, start, true, 1, true), Some(0))
                .unwrap()
                .seq,
            5
        );
        assert_eq!(
            forward(&mut r, &vp8(0, start + 1, false, 1, true), Some(0))
                .unwrap()
                .seq,
            6
        );
    }

    #[test]
    fn late_packets_from_before_the_switch_are_dropped() {
        let mut r = Rewriter::new(90_000);
        forward(&mut r, &vp8(0, 100, true, 1, true), Some(0)).unwrap();
        let switched = forward(&mut r, &vp8(1, 500, true, 9, true), Some(1)).unwrap();
        assert_eq!(switched.seq, 101);
        // A retransmission of the new layer from before its keyframe.
        assert_eq!(forward(&mut r, &vp8(1, 499, false, 8, true), Some(1)), None);
        assert_eq!(
            forward(&mut r, &vp8(1, 501, false, 9, true), Some(1))
                .unwrap()
                .seq,
            102
        );
    }

    #[test]
    fn short_picture_ids_stay_seven_bits() {
        let mut r = Rewriter::new(90_000);
        forward(&mut r, &vp8(0, 10, true, 127, false), Some(0)).unwrap();
        let out = forward(&mut r, &vp8(1, 77, true, 3, false), Some(1)).unwrap();
        assert_eq!(out.picture_id, Some(0), "127 + 1 wraps at 7 bits");
        assert_eq!(
            forward(&mut r, &vp8(1, 78, false, 4, false), Some(1))
                .unwrap()
                .picture_id,
            Some(1)
        );
    }

    #[test]
    fn pausing_between_frames_stops_at_once_and_resuming_starts_at_a_keyframe() {
        let mut pubr = Publisher::new();
        let mut r = Rewriter::new(90_000);
        let mut last_seq = 0;
        for f in 0..35u64 {
            let target = if (5..12).contains(&f) { None } else { Some(1) };
            for p in pubr.frame(f, f as i64 * 33) {
                let out = forward(&mut r, &p, target);
                if target.is_none() || (12..20).contains(&f) {
                    assert!(
                        out.is_none(),
                        "frame {f}: paused, then waiting for the keyframe at frame 20"
                    );
                }
                if let Some(o) = out {
                    assert!(o.seq == last_seq + 1 || last_seq == 0);
                    last_seq = o.seq;
                }
            }
        }
        assert_eq!(r.switches(), 2);
    }

    /// Every packet sent, with the source packet it carries.
    fn run(
        r: &mut Rewriter<Incoming>,
        packets: &[Incoming],
        target: Option<usize>,
    ) -> Vec<(Outgoing, Incoming)> {
        let mut sent = Vec::new();
        for p in packets {
            r.forward(p, target, || *p, &mut |o, held| {
                sent.push((o, held.unwrap_or(*p)))
            });
        }
        sent
    }

    fn h264(layer: usize, seq: u64, frame: u64, keyframe_start: bool, frame_end: bool) -> Incoming {
        Incoming {
            layer,
            seq,
            timestamp: frame * 3000,
            keyframe_start,
            frame_end,
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
            arrival_ms: frame as i64 * 33,
        }
    }

    fn carried(sent: &[(Outgoing, Incoming)]) -> Vec<(usize, u64)> {
        sent.iter().map(|(_, p)| (p.layer, p.seq)).collect()
    }

    fn seqs(sent: &[(Outgoing, Incoming)]) -> Vec<u64> {
        sent.iter().map(|(o, _)| o.seq).collect()
    }

    /// Layer 0 flowing, its frame 1 half sent.
    fn mid_frame() -> Rewriter<Incoming> {
        let mut r = Rewriter::new(90_000);
        let sent = run(
            &mut r,
            &[h264(0, 10, 0, true, true), h264(0, 11, 1, false, false)],
            Some(0),
        );
        assert_eq!(seqs(&sent), [10, 11]);
        r
    }

    #[test]
    fn a_keyframe_starting_mid_frame_waits_for_the_frame_to_end() {
        let mut r = mid_frame();
        let keyframe = [h264(1, 500, 1, true, false), h264(1, 501, 1, false, false)];
        assert!(run(&mut r, &keyframe, Some(1)).is_empty(), "held");
        assert!(!r.needs_keyframe(Some(1)), "it has one");
        let retransmitted = run(&mut r, &keyframe[1..], Some(1));
        assert!(retransmitted.is_empty(), "held once");
        let sent = run(
            &mut r,
            &[
                h264(0, 12, 1, false, true),
                h264(1, 502, 1, false, true),
                h264(0, 13, 2, false, false),
                h264(1, 503, 2, false, true),
            ],
            Some(1),
        );
        assert_eq!(
            carried(&sent),
            [(0, 12), (1, 500), (1, 501), (1, 502), (1, 503)],
            "the frame ends, then the keyframe follows; layer 0 stops"
        );
        assert_eq!(seqs(&sent), [12, 13, 14, 15, 16], "no number skipped");
        assert_eq!(r.layer(), Some(1));
    }

    #[test]
    fn a_keyframe_joined_after_its_first_packet_is_no_switch_point() {
        let mut r = Rewriter::new(90_000);
        run(&mut r, &[h264(0, 10, 0, true, true)], Some(0));
        // Layer 1's parameter sets pass while layer 0 is the target; then
        // the target moves, and the IDR slice that follows them comes.
        assert!(run(&mut r, &[h264(1, 500, 1, true, false)], Some(0)).is_empty());
        let idr = run(&mut r, &[h264(1, 501, 1, true, true)], Some(1));
        assert!(idr.is_empty(), "a decoder cannot start without them");
        assert!(r.needs_keyframe(Some(1)));
        let sent = run(&mut r, &[h264(1, 502, 2, true, true)], Some(1));
        assert_eq!(carried(&sent), [(1, 502)], "the next keyframe");
    }

    #[test]
    fn a_frame_that_lost_its_end_is_marked_by_one_unused_number() {
        let mut r = mid_frame();
        assert!(run(&mut r, &[h264(1, 500, 1, true, false)], Some(1)).is_empty());
        // 12, the end of frame 1, was lost: layer 0's frame 2 starts.
        let sent = run(
            &mut r,
            &[h264(0, 13, 2, false, false), h264(1, 501, 1, false, true)],
            Some(1),
        );
        assert_eq!(carried(&sent), [(1, 500), (1, 501)]);
        assert_eq!(seqs(&sent), [13, 14], "12 unused: frame 1 is incomplete");
    }

    #[test]
    fn a_keyframe_is_held_only_so_long() {
        let mut r = mid_frame();
        // Layer 0 falls silent mid-frame; layer 1 flows, a packet a frame.
        let mut released = None;
        for (i, frame) in (1..=10).enumerate() {
            let p = h264(1, 500 + i as u64, frame, i == 0, true);
            let sent = run(&mut r, &[p], Some(1));
            if released.is_none() && !sent.is_empty() {
                released = Some((p.arrival_ms - 33, sent));
            }
        }
        let (waited, sent) = released.expect("released");
        assert!(
            (HOLD_MAX_MS..HOLD_MAX_MS + 33).contains(&waited),
            "{waited} ms"
        );
        assert_eq!(carried(&sent)[0], (1, 500), "from the keyframe on");
        assert_eq!(sent[0].0.seq, 13, "12 unused: frame 1 is incomplete");
    }

    #[test]
    fn pausing_mid_frame_finishes_the_frame() {
        let mut r = mid_frame();
        let sent = run(
            &mut r,
            &[h264(0, 12, 1, false, true), h264(0, 13, 2, false, true)],
            None,
        );
        assert_eq!(carried(&sent), [(0, 12)]);
        let resumed = run(&mut r, &[h264(0, 14, 5, true, true)], Some(0));
        assert_eq!(seqs(&resumed), [13], "resumes with no number skipped");
    }

    #[test]
    fn a_keyframe_after_a_lost_packet_is_no_switch_point() {
        let mut r = Rewriter::new(90_000);
        run(&mut r, &[h264(0, 10, 0, true, true)], Some(0));
        run(&mut r, &[h264(1, 499, 0, false, true)], Some(0));
        // 500, layer 1's parameter sets, was lost: 501 may be its IDR slice.
        assert!(run(&mut r, &[h264(1, 501, 1, true, true)], Some(1)).is_empty());
        let sent = run(&mut r, &[h264(1, 502, 2, true, true)], Some(1));
        assert_eq!(carried(&sent), [(1, 502)]);
    }

    #[test]
    fn a_keyframe_is_held_for_so_many_packets_at_most() {
        let mut r = mid_frame();
        let mut sent = Vec::new();
        for i in 0..HOLD_MAX_PACKETS as u64 {
            let p = Incoming {
                arrival_ms: 33,
                ..h264(1, 500 + i, 1 + i, i == 0, true)
            };
            sent = run(&mut r, &[p], Some(1));
            if i + 1 < HOLD_MAX_PACKETS as u64 {
                assert!(sent.is_empty(), "packet {i} held");
            }
        }
        assert_eq!(sent.len(), HOLD_MAX_PACKETS, "all released at the bound");
        assert_eq!(sent[0].0.seq, 13, "12 unused: frame 1 is incomplete");
    }

    #[test]
    fn pausing_while_the_layer_is_quiet_forgets_it() {
        let mut r = Rewriter::new(90_000);
        run(&mut r, &[h264(0, 10, 0, true, true)], Some(0));
        // Paused; nobody watches layer 0 and the publisher stops it: only
        // layer 1 comes.
        run(&mut r, &[h264(1, 500, 1, false, true)], None);
        assert_eq!(r.layer(), None);
        assert!(r.needs_keyframe(Some(0)), "resuming asks for a keyframe");
    }

    /// What a receiver would decode: it assembles the packets of a timestamp
    /// from a frame's first packet, and takes the frame as whole when a
    /// marker ends it or, like str0m, when the next number has another
    /// timestamp. Every frame taken as whole must be whole.
    fn assert_frames_whole(seed: u64, sent: &[(Outgoing, Incoming)], parts: u64) {
        let by_seq: std::collections::BTreeMap<u64, (Outgoing, Incoming)> =
            sent.iter().map(|s| (s.0.seq, *s)).collect();
        assert_eq!(by_seq.len(), sent.len(), "seed {seed}: numbers are unique");
        let first_seqs = Publisher::new().next_seq;
        let is_first = |p: &Incoming| (p.seq - first_seqs[p.layer]).is_multiple_of(parts);
        let mut run: Vec<Incoming> = Vec::new();
        let mut prev: Option<Outgoing> = None;
        for (seq, (o, p)) in &by_seq {
            let continues = prev.is_some_and(|q| q.seq + 1 == *seq && q.timestamp == o.timestamp);
            if !continues {
                run.clear();
            }
            run.push(*p);
            prev = Some(*o);
            let next_other = by_seq
                .get(&(seq + 1))
                .is_some_and(|(n, _)| n.timestamp != o.timestamp);
            if is_first(&run[0]) && (p.frame_end || next_other) {
                assert!(
                    p.frame_end && run.len() as u64 == parts,
                    "seed {seed}: a truncated frame looks whole: {run:?}"
                );
            }
        }
    }

    #[test]
    fn random_target_changes_and_interleaved_layers_never_break_a_frame() {
        let (mut held, mut skipped) = (0, 0);
        for seed in 0..300u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut pubr = Publisher::new();
            pubr.gop = rng.random_range(1..15);
            pubr.parts = rng.random_range(1..5);
            let mut r = Rewriter::new(90_000);
            let mut target = Some(rng.random_range(0..3));
            let mut sent: Vec<(Outgoing, Incoming)> = Vec::new();
            let mut forwarded_layer = None;
            for f in 0..300u64 {
                if rng.random_bool(0.08) {
                    target = if rng.random_bool(0.15) {
                        None
                    } else {
                        Some(rng.random_range(0..3))
                    };
                }
                let mut packets = pubr.frame(f, f as i64 * 33 + rng.random_range(0..5));
                packets.retain(|_| !rng.random_bool(0.02)); // network loss
                                                            // A pacer interleaves the layers, each in its own order.
                let mut queues: Vec<std::collections::VecDeque<Incoming>> = (0..3)
                    .map(|l| packets.iter().filter(|p| p.layer == l).copied().collect())
                    .collect();
                while queues.iter().any(|q| !q.is_empty()) {
                    let l = rng.random_range(0..3);
                    let Some(p) = queues[l].pop_front() else {
                        continue;
                    };
                    r.forward(&p, target, || p, &mut |o, h| {
                        held += usize::from(h.is_some());
                        let p = h.unwrap_or(p);
                        if forwarded_layer != Some(p.layer) {
                            assert!(
                                p.keyframe_start,
                                "seed {seed}: a layer starts at a keyframe"
                            );
                            forwarded_layer = Some(p.layer);
                        }
                        if let Some((a, _)) = sent.last() {
                            assert!(
                                o.seq > a.seq,
                                "seed {seed}: sequence numbers only go forward"
                            );
                            assert!(
                                o.timestamp >= a.timestamp,
                                "seed {seed}: timestamps never go back"
                            );
                            skipped += usize::from(o.seq > a.seq + 1);
                        }
                        sent.push((o, p));
                    });
                }
                if r.layer().is_none() {
                    forwarded_layer = None;
                }
            }
            assert_frames_whole(seed, &sent, pubr.parts);
        }
        assert!(held > 0 && skipped > 0, "held {held}, skipped {skipped}");
    }
}
