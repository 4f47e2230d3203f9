//! The media plane of a worker: an RTP packet from a publisher to its
//! subscribers, publications, keyframe requests, layer measurements and the
//! bandwidth estimator's targets, dynacast.

use std::sync::Arc;
use std::time::Instant;

use proto::sfu::{Event as SfuEvent, Kind};
use str0m::bwe::Bitrate;
use str0m::format::Codec;
use str0m::media::{MediaKind, Mid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};

use crate::node::peer::Inbound;
use crate::node::NodeEvent;
use crate::room::TrackKey;
use crate::simulcast::layers::Layer;
use crate::simulcast::rewrite::Incoming;

use super::api::room_error;
use super::*;

/// What a subscriber is sent of a packet; kept while a layer switch holds
/// the packet back (see `simulcast::rewrite`).
#[derive(Clone)]
pub(super) struct Held {
    payload: Arc<[u8]>,
    marker: bool,
    ext: ExtensionValues,
    /// Valid for `payload`, of which it was parsed.
    vp8: Option<Vp8Descriptor>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LayerUsage {
    width: u32,
    height: u32,
    bytes: u64,
    last_packet_ms: Option<i64>,
    bitrate_bps: u64,
}

impl Worker {
    /// One RTP packet from a publisher, to each subscriber that should get it.
    pub(super) fn forward(&mut self, pid: PeerId, packet: RtpPacket, now: Instant, now_ms: i64) {
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
            frame_end: packet.header.marker,
            picture_id: vp8.and_then(|d| d.picture_id()),
            // With a PictureID present, its first byte's M bit says 15 bits.
            long_picture_id: vp8.is_some_and(|d| d.picture_id().is_some())
                && payload.get(2).is_some_and(|b| b & 0x80 != 0),
            tl0_pic_idx: vp8.and_then(|d| d.tl0_pic_idx()),
            arrival_ms: now_ms,
        };
        let this = Held {
            payload: packet.payload,
            marker: packet.header.marker,
            ext: ExtensionValues {
                audio_level: packet.header.ext_vals.audio_level,
                voice_activity: packet.header.ext_vals.voice_activity,
                video_orientation: packet.header.ext_vals.video_orientation,
                abs_capture_time: packet.header.ext_vals.abs_capture_time,
                ..Default::default()
            },
            vp8,
        };
        state
            .room
            .route(route.track, &incoming, || this.clone(), &mut self.routed);
        let switches = state.room.layer_switches();
        self.metrics
            .layer_switches
            .inc_by(switches - state.switches_counted);
        state.switches_counted = switches;
        for (subscriber, out, held) in self.routed.drain(..) {
            let Some(sub_pid) = state.peers.get(&subscriber).copied() else {
                continue;
            };
            let Some(sub) = self.peers.get_mut(&sub_pid) else {
                continue;
            };
            let Some((ssrc, pt)) = sub.sender(route.track, route.codec) else {
                continue;
            };
            let p = held.as_ref().unwrap_or(&this);
            let mut write = RtpWrite::new(
                pt,
                out.seq.into(),
                out.timestamp as u32,
                now,
                p.payload.clone(),
            )
            .marker(p.marker)
            .ext_vals(p.ext.clone())
            .nackable(true);
            if let Some(d) = &p.vp8 {
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

    pub(super) fn publish(&mut self, pid: PeerId, mid: Mid, kind: MediaKind) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        let (source, encodings) = peer.spec_for(mid, kind);
        let rids: Vec<_> = encodings.iter().map(|(rid, _, _)| *rid).collect();
        // A single encoding of unknown size is one layer that fits any want.
        let sizes: Vec<(u32, u32)> = match encodings.is_empty() {
            true => vec![(0, 0)],
            false => encodings.iter().map(|&(_, w, h)| (w, h)).collect(),
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
            Err(e) => self.error(&room, &name, room_error(e, &name, 0)),
        }
    }

    pub(super) fn request_keyframe(&mut self, room: &str, track: TrackKey, layer: usize) {
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

    /// Layer bitrates from the bytes seen, and each leg's bandwidth
    /// estimator told what it carries and what it should probe for.
    pub(super) fn measure(&mut self, room: &str, now_ms: i64) {
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
    pub(super) fn dynacast(&mut self, room: &str) {
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
}

/// Recomputes a track's layers (which are being sent, at what bitrate)
/// from the bytes seen since the last measurement.
pub(super) fn update_layers(state: &mut RoomState, track: TrackKey, now_ms: i64) {
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
