//! The room core driven by arbitrary operation sequences: membership,
//! publishing, moderation, subscriptions, bandwidth, layers and packet
//! routing. Nothing may panic, and a routed packet only ever goes to a
//! member other than the track's owner.

#![no_main]

use libfuzzer_sys::fuzz_target;
use media::room::{Role, Room, Source};
use media::simulcast::layers::{Layer, Want};
use media::simulcast::rewrite::Incoming;

fuzz_target!(|data: &[u8]| {
    let mut room = Room::new(6);
    let mut members: Vec<u32> = Vec::new();
    let mut tracks: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut now = 0i64;
    let pick = |v: &[u32], b: u8| v.get(usize::from(b) % v.len().max(1)).copied().unwrap_or(b.into());
    for op in data.chunks(4) {
        let [code, a, b, c] = [op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0), *op.get(3).unwrap_or(&0)];
        now += i64::from(c);
        match code % 11 {
            0 => {
                let role = [Role::Host, Role::Participant, Role::Viewer][usize::from(a) % 3];
                if let Ok((k, _)) = room.join(&format!("p{b}"), role, &[Source::Camera, Source::Microphone, Source::Screen]) {
                    members.push(k);
                }
            }
            1 => {
                let p = pick(&members, a);
                room.leave(p);
                members.retain(|m| *m != p);
            }
            2 => {
                let source = [Source::Camera, Source::Microphone, Source::Screen][usize::from(b) % 3];
                let layers = (0..usize::from(c) % 4)
                    .map(|i| Layer { width: 160 << i, height: 90 << i, bitrate_bps: 100_000 << i, active: c & (1 << i) != 0 })
                    .collect();
                if let Ok((t, _)) = room.publish(pick(&members, a), source, layers) {
                    tracks.push(t);
                }
            }
            3 => {
                let _ = room.unpublish(pick(&members, a), pick(&tracks, b));
            }
            4 => {
                let _ = room.set_muted(pick(&members, a), pick(&tracks, b), c & 1 == 1);
            }
            5 => {
                let target = pick(&members, b);
                if room.remove(pick(&members, a), target).is_ok() {
                    members.retain(|m| *m != target);
                }
            }
            6 => {
                let want = if c == 0 { Want::Paused } else { Want::Size { width: u32::from(c) * 8, height: u32::from(c) * 4 } };
                let _ = room.set_want(pick(&members, a), pick(&tracks, b), want);
            }
            7 => room.set_bandwidth(pick(&members, a), u64::from(b) * 10_000),
            8 => room.set_ready(pick(&members, a), pick(&tracks, b), c & 1 == 1),
            9 => {
                let _ = room.keyframe_requests(now);
                let _ = room.keyframe_for(pick(&members, a), pick(&tracks, b), now);
                let _ = room.bitrates(pick(&members, a));
            }
            _ => {
                let track = pick(&tracks, a);
                let packet = Incoming {
                    layer: usize::from(b) % 4,
                    seq: u64::from(c) * 7 + now as u64,
                    timestamp: now as u64 * 90,
                    keyframe_start: b & 0x80 != 0,
                    frame_end: b & 0x40 != 0,
                    picture_id: (c & 1 == 1).then_some(u16::from(c) << 7),
                    long_picture_id: c & 2 == 2,
                    tl0_pic_idx: (c & 4 == 4).then_some(b),
                    arrival_ms: now,
                };
                room.route(track, &packet, || (), &mut out);
                let owner = room.track(track).map(|(o, _, _)| o);
                for (subscriber, _, _) in &out {
                    assert!(members.contains(subscriber), "routed to a non-member");
                    assert_ne!(Some(*subscriber), owner, "routed back to its owner");
                }
            }
        }
    }
});
