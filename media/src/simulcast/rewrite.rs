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
//! never leaves a gap. Sequence numbers and timestamps are extended (64-bit,
//! rollover counted) on both sides.

/// A packet of the published track, as the driver read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub layer: usize,
    pub seq: u64,
    pub timestamp: u64,
    /// First packet of a keyframe.
    pub keyframe_start: bool,
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
}

#[derive(Debug)]
pub struct Rewriter {
    clock_rate: u32,
    current: Option<Offsets>,
    last: Option<Sent>,
    switches: u64,
}

impl Rewriter {
    /// `clock_rate`: RTP clock of the codec (90 000 for video).
    pub fn new(clock_rate: u32) -> Self {
        Rewriter {
            clock_rate,
            current: None,
            last: None,
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
        target.is_some() && target != self.layer()
    }

    /// Forgets the layer being forwarded, keeping the numbering: the next
    /// packet forwarded is a keyframe start, continuing the sequence.
    pub fn restart(&mut self) {
        self.current = None;
    }

    /// Decides one packet: `Some` values to send it with, or `None` to drop it.
    /// `target` is the layer the subscriber should get (None: paused).
    pub fn forward(&mut self, p: &Incoming, target: Option<usize>) -> Option<Outgoing> {
        if target.is_none() {
            // Paused: stop now; resuming starts at a keyframe.
            self.current = None;
            return None;
        }
        let offsets = match self.current {
            Some(c) if c.layer == p.layer && p.seq >= c.from_seq => c,
            Some(c) if c.layer == p.layer => return None,
            _ if Some(p.layer) == target && p.keyframe_start => self.switch_to(p),
            _ => return None,
        };
        let id_mod = if p.long_picture_id {
            PICTURE_ID_MOD
        } else {
            0x80
        };
        let out = Outgoing {
            seq: p.seq.wrapping_add_signed(offsets.seq),
            timestamp: p.timestamp.wrapping_add_signed(offsets.timestamp),
            picture_id: p
                .picture_id
                .map(|id| ((u32::from(id) + u32::from(offsets.picture_id)) % id_mod) as u16),
            tl0_pic_idx: p.tl0_pic_idx.map(|t| t.wrapping_add(offsets.tl0)),
        };
        // Track the newest packet sent; a late (reordered) one keeps its own
        // place in the sequence and does not move the continuation point.
        if self.last.is_none_or(|l| out.seq > l.out.seq) {
            self.last = Some(Sent {
                out,
                arrival_ms: p.arrival_ms,
            });
        }
        Some(out)
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
                Offsets {
                    from_seq: p.seq,
                    layer: p.layer,
                    seq: (last.out.seq + 1).wrapping_sub(p.seq) as i64,
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

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// A synthetic simulcast publisher: per layer its own numbering, 30 fps,
    /// two packets per frame, a keyframe every `gop` frames.
    struct Publisher {
        next_seq: [u64; 3],
        picture_id: [u16; 3],
        tl0: [u8; 3],
        base_ts: [u64; 3],
        gop: u64,
    }

    impl Publisher {
        fn new() -> Self {
            Publisher {
                next_seq: [100, 40_000, 65_000],
                picture_id: [7, 0x7ff0, 300],
                tl0: [1, 250, 90],
                base_ts: [5_000, 9_000_000, 77],
                gop: 10,
            }
        }

        fn frame(&mut self, frame: u64, now_ms: i64) -> Vec<Incoming> {
            let mut out = Vec::new();
            for layer in 0..3 {
                let keyframe = frame.is_multiple_of(self.gop);
                for part in 0..2 {
                    out.push(Incoming {
                        layer,
                        seq: self.next_seq[layer],
                        timestamp: self.base_ts[layer] + frame * 3000,
                        keyframe_start: keyframe && part == 0,
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
                if let Some(o) = r.forward(&p, Some(0)) {
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
                if let Some(o) = r.forward(&p, Some(target)) {
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
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
            arrival_ms,
        };
        let first = r.forward(&packet(0, 10, 1_000, 0), Some(0)).unwrap();
        let switched = r.forward(&packet(1, 5_000, 777_777, 100), Some(1)).unwrap();
        assert_eq!(switched.seq, first.seq + 1);
        assert_eq!(
            switched.timestamp,
            first.timestamp + 9_000,
            "100 ms at 90 kHz"
        );
        assert_eq!(switched.picture_id, None, "H.264 carries no picture id");
        let next = r.forward(&packet(1, 5_001, 780_777, 133), Some(1)).unwrap();
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
            r.forward(&vp8(0, start, true, 1, true), Some(0))
                .unwrap()
                .seq,
            5
        );
        assert_eq!(
            r.forward(&vp8(0, start + 1, false, 1, true), Some(0))
                .unwrap()
                .seq,
            6
        );
    }

    #[test]
    fn late_packets_from_before_the_switch_are_dropped() {
        let mut r = Rewriter::new(90_000);
        r.forward(&vp8(0, 100, true, 1, true), Some(0)).unwrap();
        let switched = r.forward(&vp8(1, 500, true, 9, true), Some(1)).unwrap();
        assert_eq!(switched.seq, 101);
        // A retransmission of the new layer from before its keyframe.
        assert_eq!(r.forward(&vp8(1, 499, false, 8, true), Some(1)), None);
        assert_eq!(
            r.forward(&vp8(1, 501, false, 9, true), Some(1))
                .unwrap()
                .seq,
            102
        );
    }

    #[test]
    fn short_picture_ids_stay_seven_bits() {
        let mut r = Rewriter::new(90_000);
        r.forward(&vp8(0, 10, true, 127, false), Some(0)).unwrap();
        let out = r.forward(&vp8(1, 77, true, 3, false), Some(1)).unwrap();
        assert_eq!(out.picture_id, Some(0), "127 + 1 wraps at 7 bits");
        assert_eq!(
            r.forward(&vp8(1, 78, false, 4, false), Some(1))
                .unwrap()
                .picture_id,
            Some(1)
        );
    }

    #[test]
    fn pausing_stops_at_once_and_resuming_starts_at_a_keyframe() {
        let mut pubr = Publisher::new();
        let mut r = Rewriter::new(90_000);
        let mut last_seq = 0;
        for f in 0..35u64 {
            let target = if (5..12).contains(&f) { None } else { Some(1) };
            for p in pubr.frame(f, f as i64 * 33) {
                let out = r.forward(&p, target);
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

    #[test]
    fn random_target_changes_never_break_continuity() {
        for seed in 0..300u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut pubr = Publisher::new();
            pubr.gop = rng.random_range(1..15);
            let mut r = Rewriter::new(90_000);
            let mut target = Some(rng.random_range(0..3));
            let mut prev: Option<Outgoing> = None;
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
                for p in packets {
                    let Some(o) = r.forward(&p, target) else {
                        continue;
                    };
                    if forwarded_layer != Some(p.layer) {
                        assert!(
                            p.keyframe_start,
                            "seed {seed}: a layer starts at a keyframe"
                        );
                        forwarded_layer = Some(p.layer);
                    }
                    if let Some(a) = prev {
                        assert!(
                            o.seq > a.seq,
                            "seed {seed}: sequence numbers only go forward"
                        );
                        assert!(
                            o.timestamp >= a.timestamp,
                            "seed {seed}: timestamps never go back"
                        );
                    }
                    prev = Some(o);
                }
                if target.is_none() {
                    forwarded_layer = None;
                }
            }
        }
    }
}
