//! One participant's WebRTC leg: a str0m `Rtc` in RTP mode and the tables
//! that connect its m-lines to the room's tracks. The worker owns every peer
//! and moves packets between them; a peer only knows its own side.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use proto::sfu::{Kind, SfuError, Source, TrackSpec};
use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::format::Codec;
use str0m::format::PayloadParams;
use str0m::media::Pt;
use str0m::media::{Direction, MediaKind, Mid, Rid};
use str0m::rtp::Ssrc;
use str0m::{Candidate, Rtc};

use crate::room::{ParticipantKey, TrackKey};

/// Estimate the bandwidth estimator starts from, before any feedback.
const INITIAL_BITRATE_KBPS: u64 = 1_500;
const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A track this peer publishes.
#[derive(Debug)]
pub struct Inbound {
    pub track: TrackKey,
    /// Simulcast encodings by layer index (empty: one encoding).
    pub rids: Vec<Rid>,
}

/// Where one incoming SSRC goes, worked out at its first packet.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub track: TrackKey,
    pub layer: usize,
    pub codec: Codec,
}

/// A track this peer receives, on an m-line the SFU added.
#[derive(Debug)]
pub struct Outbound {
    pub mid: Mid,
    /// The client accepted the m-line: packets written now reach it.
    pub negotiated: bool,
    /// The send stream, looked up at the first packet once negotiated.
    pub ssrc: Option<Ssrc>,
    /// Our payload type for the codec the publisher last used.
    pub pt: Option<(Codec, Pt)>,
}

pub struct Peer {
    pub rtc: Rtc,
    pub room: String,
    pub name: String,
    pub key: ParticipantKey,
    pub ufrag: String,
    pub ice_password: String,
    pub specs: HashMap<Mid, TrackSpec>,
    pub inbound: HashMap<Mid, Inbound>,
    pub routes: HashMap<Ssrc, Route>,
    pub outbound: HashMap<TrackKey, Outbound>,
    /// Tracks to add to and stop on this leg at the next offer.
    pub to_add: Vec<(TrackKey, Kind, String)>,
    pub to_stop: Vec<Mid>,
    pub pending: Option<SdpPendingOffer>,
    pub channels: HashMap<String, ChannelId>,
    pub labels: HashMap<ChannelId, String>,
    /// NACKs counted so far per outbound m-line (str0m reports totals).
    pub nacks: HashMap<Mid, u64>,
    pub connected: bool,
    pub disconnected_since: Option<Instant>,
    /// When presence was last told we heard from the peer.
    pub heard_ms: i64,
    pub timeout: Instant,
}

/// A WebRTC leg as the SFU runs it: RTP mode (packets are forwarded, not
/// reassembled into frames), ICE-lite, bandwidth estimation and pacing on.
pub fn leg(now: Instant) -> Rtc {
    Rtc::builder()
        .set_rtp_mode(true)
        .set_ice_lite(true)
        // Forwarded as it comes: receivers measure end-to-end latency
        // with it (the load test), as browsers may.
        .set_extension(5, str0m::rtp::Extension::AbsoluteCaptureTime)
        .enable_bwe(Some(Bitrate::kbps(INITIAL_BITRATE_KBPS)))
        // Egress statistics carry the NACK counts the metrics report.
        .set_stats_interval(Some(STATS_INTERVAL))
        .build(now)
}

impl Peer {
    pub fn new(
        now: Instant,
        room: &str,
        name: &str,
        key: ParticipantKey,
        announced: SocketAddr,
    ) -> Result<Peer, SfuError> {
        let mut rtc = leg(now);
        let candidate = Candidate::host(announced, "udp")
            .map_err(|e| SfuError::Invalid(format!("announced address {announced}: {e}")))?;
        rtc.add_local_candidate(candidate);
        let credentials = rtc.direct_api().local_ice_credentials();
        Ok(Peer {
            rtc,
            room: room.to_owned(),
            name: name.to_owned(),
            key,
            ufrag: credentials.ufrag,
            ice_password: credentials.pass,
            specs: HashMap::new(),
            inbound: HashMap::new(),
            routes: HashMap::new(),
            outbound: HashMap::new(),
            to_add: Vec::new(),
            to_stop: Vec::new(),
            pending: None,
            channels: HashMap::new(),
            labels: HashMap::new(),
            nacks: HashMap::new(),
            connected: false,
            disconnected_since: None,
            heard_ms: i64::MIN,
            timeout: now,
        })
    }

    /// Accepts the client's offer, remembering what its sending m-lines carry.
    pub fn accept_offer(&mut self, sdp: &str, specs: Vec<TrackSpec>) -> Result<String, SfuError> {
        if self.pending.is_some() {
            return Err(SfuError::OfferPending);
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        for spec in specs {
            self.specs.insert(spec.mid.as_str().into(), spec);
        }
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        Ok(answer.to_sdp_string())
    }

    /// Applies the client's answer to our offer; returns the tracks whose
    /// m-lines it made usable.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<Vec<TrackKey>, SfuError> {
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let pending = self.pending.take().ok_or(SfuError::NoOfferPending)?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        Ok(self
            .outbound
            .iter_mut()
            .filter(|(_, o)| !o.negotiated)
            .map(|(t, o)| {
                o.negotiated = true;
                *t
            })
            .collect())
    }

    /// The SFU's offer adding and stopping m-lines as queued, unless one is
    /// already out or nothing is queued.
    pub fn make_offer(&mut self, with_channels: bool) -> Option<String> {
        if self.pending.is_some()
            || (self.to_add.is_empty() && self.to_stop.is_empty() && !with_channels)
        {
            return None;
        }
        // A stopped m-line's send stream (and its retransmission cache)
        // would otherwise live as long as the session.
        for mid in &self.to_stop {
            let mut direct = self.rtc.direct_api();
            if let Some(ssrc) = direct.stream_tx_by_mid(*mid, None).map(|s| s.ssrc()) {
                direct.remove_stream_tx(ssrc);
            }
        }
        let mut api = self.rtc.sdp_api();
        for mid in self.to_stop.drain(..) {
            api.stop_media(mid);
        }
        // The data channels' m-line goes first: the first m-line tags the
        // BUNDLE group, and a browser whose tagged m-line is stopped (its
        // track's owner left) tears the shared transport down, SCTP with it.
        if with_channels {
            for label in [proto::sfu::channels::WHITEBOARD, proto::sfu::channels::CHAT] {
                api.add_channel(label.to_owned());
            }
            api.add_channel_with_config(str0m::channel::ChannelConfig {
                label: proto::sfu::channels::LOSSY.to_owned(),
                ordered: false,
                reliability: str0m::channel::Reliability::MaxRetransmits { retransmits: 0 },
                ..Default::default()
            });
            // An inactive audio and video m-line fix the header extension
            // ids for the session before the client offers media of its own.
            // Without them a browser's first offer numbers them its own way,
            // and if that offer is rolled back for one of ours (glare) the
            // browser still holds those numbers and refuses our next offer
            // ("RTP extension ID reassignment").
            for kind in [MediaKind::Audio, MediaKind::Video] {
                api.add_media(kind, Direction::Inactive, None, None, None);
            }
        }
        for (track, kind, owner) in self.to_add.drain(..) {
            let media = match kind {
                Kind::Audio => MediaKind::Audio,
                Kind::Video => MediaKind::Video,
            };
            let mid = api.add_media(
                media,
                Direction::SendOnly,
                Some(owner),
                Some(format!("t{track}")),
                None,
            );
            self.outbound.insert(
                track,
                Outbound {
                    mid,
                    negotiated: false,
                    ssrc: None,
                    pt: None,
                },
            );
        }
        let (offer, pending) = api.apply()?;
        self.pending = Some(pending);
        Some(offer.to_sdp_string())
    }

    /// What a receiving m-line carries: as declared, else by its kind.
    /// Its simulcast encodings are (rid, width, height), none for a single one.
    pub fn spec_for(&self, mid: Mid, kind: MediaKind) -> (Source, Vec<(Rid, u32, u32)>) {
        match self.specs.get(&mid) {
            Some(spec) => (
                spec.source,
                spec.layers
                    .iter()
                    .map(|l| (l.rid.as_str().into(), l.width, l.height))
                    .collect(),
            ),
            None if kind == MediaKind::Audio => (Source::Microphone, Vec::new()),
            None => (Source::Camera, Vec::new()),
        }
    }

    /// Resolves an incoming SSRC to its track and layer.
    pub fn route_of(&mut self, ssrc: Ssrc, pt: u8) -> Option<Route> {
        if let Some(r) = self.routes.get(&ssrc) {
            return Some(*r);
        }
        let (mid, rid) = {
            let mut api = self.rtc.direct_api();
            let rx = api.stream_rx(&ssrc)?;
            (rx.mid(), rx.rid())
        };
        let inbound = self.inbound.get(&mid)?;
        let layer = match rid {
            Some(rid) => inbound.rids.iter().position(|r| *r == rid)?,
            None => 0,
        };
        let codec = self
            .rtc
            .codec_config()
            .find(|p| *p.pt() == pt)?
            .spec()
            .codec;
        let route = Route {
            track: inbound.track,
            layer,
            codec,
        };
        self.routes.insert(ssrc, route);
        Some(route)
    }

    /// Asks the publisher of `mid` for a keyframe of one layer.
    pub fn request_keyframe(&mut self, mid: Mid, layer: usize) {
        let rid = self
            .inbound
            .get(&mid)
            .and_then(|i| i.rids.get(layer).copied());
        if let Some(rx) = self.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
        }
    }

    /// The send stream and payload type to forward a `codec` packet of
    /// `track` with, once the m-line is negotiated with that codec.
    pub fn sender(&mut self, track: TrackKey, codec: Codec) -> Option<(Ssrc, Pt)> {
        let o = self.outbound.get_mut(&track).filter(|o| o.negotiated)?;
        if o.ssrc.is_none() {
            o.ssrc = Some(self.rtc.direct_api().stream_tx_by_mid(o.mid, None)?.ssrc());
        }
        let pt = match o.pt {
            Some((c, pt)) if c == codec => pt,
            _ => {
                let media = self.rtc.media(o.mid)?;
                let negotiated = media.remote_pts();
                let pt = self
                    .rtc
                    .codec_config()
                    .find(|p: &PayloadParams| {
                        p.spec().codec == codec && negotiated.contains(&p.pt())
                    })?
                    .pt();
                o.pt = Some((codec, pt));
                pt
            }
        };
        Some((o.ssrc?, pt))
    }

    pub fn send_channel(&mut self, label: &str, binary: bool, data: &[u8]) -> bool {
        let Some(id) = self.channels.get(label).copied() else {
            return false;
        };
        self.rtc
            .channel(id)
            .is_some_and(|mut c| c.write(binary, data).unwrap_or(false))
    }
}
