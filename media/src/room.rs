//! A room as a deterministic state machine: who is in it with which role,
//! which tracks they publish, who receives what, and moderation. The driver
//! turns signalling requests into calls here and applies what comes back
//! (events to tell clients, packets to send, keyframes to request).
//!
//! Packet routing is the hot path: tracks and participants are addressed by
//! small integer keys and `route` writes into a buffer the caller reuses, so
//! forwarding one packet allocates nothing.

use std::collections::HashMap;

use crate::simulcast::layers::{self, KeyframeGate, Layer, Want};
use crate::simulcast::rewrite::{Incoming, Outgoing, Rewriter};

pub type ParticipantKey = u32;
pub type TrackKey = u32;

pub use proto::sfu::{Kind, Role, Source};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("the room is full ({0} participants)")]
    Full(usize),
    #[error("{0} is already in the room")]
    AlreadyJoined(String),
    #[error("no such participant")]
    UnknownParticipant,
    #[error("no such track")]
    UnknownTrack,
    #[error("not allowed to publish {0:?}")]
    PublishDenied(Source),
    #[error("only the host may do this")]
    NotHost,
}

/// What the room tells its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Joined {
        participant: ParticipantKey,
    },
    Left {
        participant: ParticipantKey,
        removed_by_host: bool,
    },
    Published {
        track: TrackKey,
        owner: ParticipantKey,
        source: Source,
    },
    Unpublished {
        track: TrackKey,
    },
    Muted {
        track: TrackKey,
        muted: bool,
        by_host: bool,
    },
}

#[derive(Debug)]
struct Member {
    name: String,
    role: Role,
    may_publish: Vec<Source>,
    bandwidth_bps: Option<u64>,
}

#[derive(Debug)]
struct Subscription<H> {
    subscriber: ParticipantKey,
    want: Want,
    target: Option<usize>,
    rewriter: Rewriter<H>,
    /// The subscriber's leg can carry the track (its m-line is negotiated).
    ready: bool,
}

#[derive(Debug)]
struct Track<H> {
    owner: ParticipantKey,
    source: Source,
    layers: Vec<Layer>,
    muted: bool,
    subscriptions: Vec<Subscription<H>>,
    keyframes: KeyframeGate,
}

/// What an Opus track is counted for in bandwidth sums.
const AUDIO_BPS: u64 = 48_000;

/// The size a new subscription asks for until the client says otherwise.
const DEFAULT_WANT: Want = Want::Size {
    width: 640,
    height: 360,
};

/// `H` is what the driver keeps of a packet a subscription holds back
/// (see [`Rewriter`]), to send it later.
pub struct Room<H = ()> {
    capacity: usize,
    next_key: u32,
    members: HashMap<ParticipantKey, Member>,
    tracks: HashMap<TrackKey, Track<H>>,
    switches: u64,
}

impl<H> Room<H> {
    pub fn new(capacity: usize) -> Self {
        Room {
            capacity,
            next_key: 1,
            members: HashMap::new(),
            tracks: HashMap::new(),
            switches: 0,
        }
    }

    fn key(&mut self) -> u32 {
        self.next_key += 1;
        self.next_key - 1
    }

    fn role_of(&self, p: ParticipantKey) -> Result<Role, RoomError> {
        self.members
            .get(&p)
            .map(|m| m.role)
            .ok_or(RoomError::UnknownParticipant)
    }

    pub fn participants(&self) -> usize {
        self.members.len()
    }

    pub fn tracks(&self) -> usize {
        self.tracks.len()
    }

    pub fn name(&self, p: ParticipantKey) -> Option<&str> {
        self.members.get(&p).map(|m| m.name.as_str())
    }

    /// Admits `name`; the newcomer is subscribed to every track already
    /// published. Viewers may publish nothing whatever `may_publish` says.
    pub fn join(
        &mut self,
        name: &str,
        role: Role,
        may_publish: &[Source],
    ) -> Result<(ParticipantKey, Vec<Event>), RoomError> {
        if self.members.len() >= self.capacity {
            return Err(RoomError::Full(self.capacity));
        }
        if self.members.values().any(|m| m.name == name) {
            return Err(RoomError::AlreadyJoined(name.to_owned()));
        }
        let key = self.key();
        let may_publish = if role == Role::Viewer {
            Vec::new()
        } else {
            may_publish.to_vec()
        };
        self.members.insert(
            key,
            Member {
                name: name.to_owned(),
                role,
                may_publish,
                bandwidth_bps: None,
            },
        );
        let tracks: Vec<TrackKey> = self.tracks.keys().copied().collect();
        for k in tracks {
            let track = self.tracks.get_mut(&k).expect("listed above");
            track
                .subscriptions
                .push(new_subscription(key, track.source));
            self.retarget(k);
        }
        Ok((key, vec![Event::Joined { participant: key }]))
    }

    /// Removes a participant and everything they published.
    pub fn leave(&mut self, p: ParticipantKey) -> Vec<Event> {
        self.remove_member(p, false)
    }

    fn remove_member(&mut self, p: ParticipantKey, by_host: bool) -> Vec<Event> {
        if self.members.remove(&p).is_none() {
            return Vec::new();
        }
        let mut events: Vec<Event> = Vec::new();
        let owned: Vec<TrackKey> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.owner == p)
            .map(|(k, _)| *k)
            .collect();
        for k in owned {
            self.tracks.remove(&k);
            events.push(Event::Unpublished { track: k });
        }
        for t in self.tracks.values_mut() {
            t.subscriptions.retain(|s| s.subscriber != p);
        }
        events.push(Event::Left {
            participant: p,
            removed_by_host: by_host,
        });
        events
    }

    /// A new track from `owner`; every other member is subscribed to it.
    /// `layers` lists the simulcast layers of a video track (one for no simulcast).
    pub fn publish(
        &mut self,
        owner: ParticipantKey,
        source: Source,
        layers: Vec<Layer>,
    ) -> Result<(TrackKey, Vec<Event>), RoomError> {
        let member = self
            .members
            .get(&owner)
            .ok_or(RoomError::UnknownParticipant)?;
        if !member.may_publish.contains(&source) {
            return Err(RoomError::PublishDenied(source));
        }
        let key = self.key();
        let subscriptions = self
            .members
            .keys()
            .filter(|m| **m != owner)
            .map(|m| new_subscription(*m, source))
            .collect();
        let track = Track {
            owner,
            source,
            layers,
            muted: false,
            subscriptions,
            keyframes: KeyframeGate::new(KeyframeGate::DEFAULT_INTERVAL_MS),
        };
        self.tracks.insert(key, track);
        self.retarget(key);
        Ok((
            key,
            vec![Event::Published {
                track: key,
                owner,
                source,
            }],
        ))
    }

    pub fn unpublish(
        &mut self,
        owner: ParticipantKey,
        track: TrackKey,
    ) -> Result<Vec<Event>, RoomError> {
        match self.tracks.get(&track) {
            Some(t) if t.owner == owner => {
                self.tracks.remove(&track);
                Ok(vec![Event::Unpublished { track }])
            }
            _ => Err(RoomError::UnknownTrack),
        }
    }

    /// Mutes or unmutes a track: its owner may do either, the host may mute
    /// anyone's (but not unmute it: that is the owner's choice).
    /// A muted track is not forwarded.
    pub fn set_muted(
        &mut self,
        by: ParticipantKey,
        track: TrackKey,
        muted: bool,
    ) -> Result<Vec<Event>, RoomError> {
        let role = self.role_of(by)?;
        let t = self.tracks.get_mut(&track).ok_or(RoomError::UnknownTrack)?;
        let by_host = t.owner != by;
        // The host may silence anyone; only the owner may speak again.
        if by_host && (role != Role::Host || !muted) {
            return Err(RoomError::NotHost);
        }
        t.muted = muted;
        Ok(vec![Event::Muted {
            track,
            muted,
            by_host,
        }])
    }

    /// The host removes a participant.
    pub fn remove(
        &mut self,
        by: ParticipantKey,
        target: ParticipantKey,
    ) -> Result<Vec<Event>, RoomError> {
        let role = self.role_of(by)?;
        if role != Role::Host {
            return Err(RoomError::NotHost);
        }
        if !self.members.contains_key(&target) {
            return Err(RoomError::UnknownParticipant);
        }
        Ok(self.remove_member(target, true))
    }

    /// What a subscriber asks of one track: its rendered size, or paused.
    /// A track the member does not receive (their own) is unknown to them.
    pub fn set_want(
        &mut self,
        subscriber: ParticipantKey,
        track: TrackKey,
        want: Want,
    ) -> Result<(), RoomError> {
        self.role_of(subscriber)?;
        let t = self.tracks.get_mut(&track).ok_or(RoomError::UnknownTrack)?;
        let s = t
            .subscriptions
            .iter_mut()
            .find(|s| s.subscriber == subscriber)
            .ok_or(RoomError::UnknownTrack)?;
        s.want = want;
        self.retarget(track);
        Ok(())
    }

    /// The subscriber's egress bandwidth estimate.
    pub fn set_bandwidth(&mut self, subscriber: ParticipantKey, bps: u64) {
        if let Some(m) = self.members.get_mut(&subscriber) {
            m.bandwidth_bps = Some(bps);
        }
        let keys: Vec<TrackKey> = self.tracks.keys().copied().collect();
        for k in keys {
            self.retarget(k);
        }
    }

    /// The publisher's current layers (measured bitrates, which are active).
    pub fn set_layers(&mut self, track: TrackKey, layers: Vec<Layer>) -> Result<(), RoomError> {
        self.tracks
            .get_mut(&track)
            .ok_or(RoomError::UnknownTrack)?
            .layers = layers;
        self.retarget(track);
        Ok(())
    }

    fn retarget(&mut self, track: TrackKey) {
        let Some(t) = self.tracks.get_mut(&track) else {
            return;
        };
        for s in &mut t.subscriptions {
            let bw = self
                .members
                .get(&s.subscriber)
                .and_then(|m| m.bandwidth_bps);
            s.target = match t.source.kind() {
                Kind::Audio => Some(0),
                Kind::Video => layers::target(&t.layers, s.want, bw),
            };
        }
    }

    /// Routes one packet of `track`: appends to `out` each subscriber to send
    /// a packet to, with the values to send it with, and `None` for this
    /// packet or what `hold` made of one held earlier. `hold` is called for
    /// each subscription that holds this packet. `out` is cleared first.
    pub fn route(
        &mut self,
        track: TrackKey,
        packet: &Incoming,
        hold: impl Fn() -> H,
        out: &mut Vec<(ParticipantKey, Outgoing, Option<H>)>,
    ) {
        out.clear();
        let Some(t) = self.tracks.get_mut(&track) else {
            return;
        };
        // Every Opus packet decodes on its own: audio can start anywhere.
        let packet = match t.source.kind() {
            Kind::Audio => Incoming {
                keyframe_start: true,
                frame_end: true,
                ..*packet
            },
            Kind::Video => *packet,
        };
        for s in &mut t.subscriptions {
            if !s.ready {
                s.rewriter.observe(&packet);
                continue;
            }
            let before = s.rewriter.switches();
            // Muted, the layer is forgotten once the frame under way ends:
            // after unmuting, forwarding resumes at a keyframe (requested
            // then) with the numbering carried on.
            let target = s.target.filter(|_| !t.muted);
            let to = s.subscriber;
            s.rewriter.forward(&packet, target, &hold, &mut |o, held| {
                out.push((to, o, held))
            });
            self.switches += s.rewriter.switches() - before;
        }
    }

    /// Keyframe requests to send to publishers now: for each video track,
    /// each layer some subscriber is waiting to switch to, throttled.
    pub fn keyframe_requests(&mut self, now: i64) -> Vec<(TrackKey, usize)> {
        let mut out = Vec::new();
        for (k, t) in self.tracks.iter_mut() {
            if t.source.kind() != Kind::Video || t.muted {
                continue;
            }
            let mut wanted: Vec<usize> = t
                .subscriptions
                .iter()
                .filter(|s| s.ready && s.rewriter.needs_keyframe(s.target))
                .filter_map(|s| s.target)
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            for layer in wanted {
                if t.keyframes.allow(layer, now) {
                    out.push((*k, layer));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Layers no subscriber would choose even if every announced layer were
    /// being sent: the publisher may stop sending them (dynacast). Worked
    /// out from what subscribers want, not from what they receive, so a
    /// stopped layer is asked for again as soon as someone needs it.
    pub fn unwatched_layers(&self, track: TrackKey) -> Vec<usize> {
        let Some(t) = self.tracks.get(&track) else {
            return Vec::new();
        };
        let announced: Vec<Layer> = t
            .layers
            .iter()
            .map(|l| Layer { active: true, ..*l })
            .collect();
        let wanted: Vec<usize> = t
            .subscriptions
            .iter()
            .filter_map(|s| {
                let bw = self
                    .members
                    .get(&s.subscriber)
                    .and_then(|m| m.bandwidth_bps);
                layers::target(&announced, s.want, bw)
            })
            .collect();
        (0..t.layers.len())
            .filter(|l| !wanted.contains(l))
            .collect()
    }

    /// A subscriber lost video of `track` (it sent PLI or FIR): the layer
    /// it receives, when a keyframe request for it may go to the publisher.
    pub fn keyframe_for(
        &mut self,
        subscriber: ParticipantKey,
        track: TrackKey,
        now: i64,
    ) -> Option<usize> {
        let t = self.tracks.get_mut(&track)?;
        let layer = t
            .subscriptions
            .iter()
            .find(|s| s.subscriber == subscriber)?
            .rewriter
            .layer()?;
        t.keyframes.allow(layer, now).then_some(layer)
    }

    /// Whether the subscriber's leg can carry `track` yet. Packets are not
    /// routed to a leg that cannot; once it can, forwarding starts at a
    /// keyframe (requested), so the first frame it gets decodes.
    pub fn set_ready(&mut self, subscriber: ParticipantKey, track: TrackKey, ready: bool) {
        let Some(s) = self.tracks.get_mut(&track).and_then(|t| {
            t.subscriptions
                .iter_mut()
                .find(|s| s.subscriber == subscriber)
        }) else {
            return;
        };
        if ready && !s.ready {
            s.rewriter.restart();
        }
        s.ready = ready;
    }

    /// Bits per second the subscriber receives now, and would receive
    /// with unlimited bandwidth: what the bandwidth estimator should
    /// sustain, and what it should probe for.
    pub fn bitrates(&self, subscriber: ParticipantKey) -> (u64, u64) {
        let (mut current, mut desired) = (0, 0);
        for t in self.tracks.values().filter(|t| !t.muted) {
            let Some(s) = t.subscriptions.iter().find(|s| s.subscriber == subscriber) else {
                continue;
            };
            match t.source.kind() {
                Kind::Audio => {
                    current += AUDIO_BPS;
                    desired += AUDIO_BPS;
                }
                Kind::Video => {
                    let rate = |layer: Option<usize>| {
                        layer
                            .and_then(|l| t.layers.get(l))
                            .map_or(0, |l| l.bitrate_bps)
                    };
                    current += rate(s.rewriter.layer());
                    desired += rate(layers::target(&t.layers, s.want, None));
                }
            }
        }
        (current, desired)
    }

    /// Owner, source and mute state of a track.
    pub fn track(&self, track: TrackKey) -> Option<(ParticipantKey, Source, bool)> {
        self.tracks
            .get(&track)
            .map(|t| (t.owner, t.source, t.muted))
    }

    pub fn track_keys(&self) -> impl Iterator<Item = TrackKey> + '_ {
        self.tracks.keys().copied()
    }

    pub fn members(&self) -> impl Iterator<Item = (ParticipantKey, &str, Role)> + '_ {
        self.members
            .iter()
            .map(|(k, m)| (*k, m.name.as_str(), m.role))
    }

    pub fn key_of(&self, name: &str) -> Option<ParticipantKey> {
        self.members
            .iter()
            .find(|(_, m)| m.name == name)
            .map(|(k, _)| *k)
    }

    /// Layer changes of all subscriptions since the room opened.
    pub fn layer_switches(&self) -> u64 {
        self.switches
    }
}

fn new_subscription<H>(subscriber: ParticipantKey, source: Source) -> Subscription<H> {
    let clock_rate = match source.kind() {
        Kind::Audio => 48_000,
        Kind::Video => 90_000,
    };
    Subscription {
        subscriber,
        want: DEFAULT_WANT,
        target: None,
        rewriter: Rewriter::new(clock_rate),
        ready: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Source] = &[Source::Camera, Source::Microphone, Source::Screen];

    fn simulcast() -> Vec<Layer> {
        [
            (320, 180, 150_000),
            (640, 360, 500_000),
            (1280, 720, 1_700_000),
        ]
        .map(|(width, height, bitrate_bps)| Layer {
            width,
            height,
            bitrate_bps,
            active: true,
        })
        .to_vec()
    }

    fn packet(layer: usize, seq: u64, keyframe: bool) -> Incoming {
        Incoming {
            layer,
            seq,
            timestamp: seq * 3000,
            keyframe_start: keyframe,
            frame_end: true,
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
            arrival_ms: seq as i64 * 33,
        }
    }

    /// An expert's one-layer camera, and a user whose leg cannot carry it.
    fn camera_with_a_leg_not_ready() -> (Room, ParticipantKey, TrackKey) {
        let mut room = Room::new(10);
        let (expert, _) = room.join("expert", Role::Host, ALL).unwrap();
        let (user, _) = room.join("user", Role::Participant, ALL).unwrap();
        let (cam, _) = room
            .publish(expert, Source::Camera, simulcast()[..1].to_vec())
            .unwrap();
        room.set_ready(user, cam, false);
        (room, user, cam)
    }

    #[test]
    fn a_leg_not_ready_gets_nothing_and_starts_at_a_keyframe() {
        let (mut room, user, cam) = camera_with_a_leg_not_ready();
        let mut out = Vec::new();
        room.route(cam, &packet(0, 1, true), || (), &mut out);
        assert!(out.is_empty(), "m-line not negotiated yet");
        assert!(
            room.keyframe_requests(0).is_empty(),
            "nobody can receive one"
        );
        room.set_ready(user, cam, true);
        room.route(cam, &packet(0, 2, false), || (), &mut out);
        assert!(out.is_empty(), "a delta frame cannot start the stream");
        assert_eq!(room.keyframe_requests(1_000), vec![(cam, 0)]);
        room.route(cam, &packet(0, 3, true), || (), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_leg_made_ready_mid_keyframe_waits_for_the_next() {
        let (mut room, user, cam) = camera_with_a_leg_not_ready();
        let mut out = Vec::new();
        let sps = Incoming {
            frame_end: false,
            ..packet(0, 1, true)
        };
        room.route(cam, &sps, || (), &mut out);
        room.set_ready(user, cam, true);
        let idr = Incoming {
            timestamp: sps.timestamp,
            ..packet(0, 2, true)
        };
        room.route(cam, &idr, || (), &mut out);
        assert!(out.is_empty(), "the IDR slice without its parameter sets");
        room.route(cam, &packet(0, 3, true), || (), &mut out);
        assert_eq!(out.len(), 1, "the next keyframe");
    }

    #[test]
    fn wants_apply_only_to_tracks_received() {
        let mut room: Room = Room::new(10);
        let (expert, _) = room.join("expert", Role::Host, ALL).unwrap();
        let (cam, _) = room.publish(expert, Source::Camera, simulcast()).unwrap();
        let paused = Want::Paused;
        assert_eq!(
            room.set_want(expert, cam, paused),
            Err(RoomError::UnknownTrack),
            "own track"
        );
        assert_eq!(
            room.set_want(99, cam, paused),
            Err(RoomError::UnknownParticipant)
        );
        assert_eq!(
            room.set_want(expert, 99, paused),
            Err(RoomError::UnknownTrack)
        );
    }

    #[test]
    fn bitrates_count_what_is_forwarded_and_what_is_wanted() {
        let mut room = Room::new(10);
        let (expert, _) = room.join("expert", Role::Host, ALL).unwrap();
        let (user, _) = room.join("user", Role::Participant, ALL).unwrap();
        room.publish(expert, Source::Microphone, vec![]).unwrap();
        let (cam, _) = room.publish(expert, Source::Camera, simulcast()).unwrap();
        // The default rendered size, 640x360, wants the middle layer.
        let wanted = simulcast()[1].bitrate_bps;
        assert_eq!(
            room.bitrates(user),
            (AUDIO_BPS, AUDIO_BPS + wanted),
            "nothing forwarded yet"
        );
        assert_eq!(room.bitrates(expert), (0, 0), "publishes only");
        room.set_bandwidth(user, 1);
        let mut out = Vec::new();
        room.route(cam, &packet(0, 1, true), || (), &mut out);
        let low = simulcast()[0].bitrate_bps;
        assert_eq!(room.bitrates(user), (AUDIO_BPS + low, AUDIO_BPS + wanted));
    }

    #[test]
    fn members_receive_each_others_tracks_but_not_their_own() {
        let mut room = Room::new(10);
        let (expert, _) = room.join("expert", Role::Host, ALL).unwrap();
        let (user, _) = room.join("user", Role::Participant, ALL).unwrap();
        let (mic, events) = room.publish(expert, Source::Microphone, vec![]).unwrap();
        assert_eq!(
            events,
            vec![Event::Published {
                track: mic,
                owner: expert,
                source: Source::Microphone
            }]
        );
        let mut out = Vec::new();
        room.route(mic, &packet(0, 1, false), || (), &mut out);
        assert_eq!(
            out.iter().map(|(p, _, _)| *p).collect::<Vec<_>>(),
            vec![user],
            "audio needs no keyframe"
        );
        // A late joiner is subscribed to what is already published.
        let (late, _) = room.join("late", Role::Participant, ALL).unwrap();
        room.route(mic, &packet(0, 2, false), || (), &mut out);
        let mut got: Vec<_> = out.iter().map(|(p, _, _)| *p).collect();
        got.sort();
        assert_eq!(got, vec![user, late]);
    }

    #[test]
    fn each_subscriber_gets_the_layer_for_its_size_starting_at_a_keyframe() {
        let mut room = Room::new(10);
        let (publisher, _) = room.join("pub", Role::Host, ALL).unwrap();
        let (small, _) = room.join("small", Role::Participant, ALL).unwrap();
        let (large, _) = room.join("large", Role::Participant, ALL).unwrap();
        let (cam, _) = room
            .publish(publisher, Source::Camera, simulcast())
            .unwrap();
        room.set_want(
            small,
            cam,
            Want::Size {
                width: 160,
                height: 90,
            },
        )
        .unwrap();
        room.set_want(
            large,
            cam,
            Want::Size {
                width: 1280,
                height: 720,
            },
        )
        .unwrap();
        assert_eq!(room.keyframe_requests(0), vec![(cam, 0), (cam, 2)]);
        assert!(
            room.keyframe_requests(100).is_empty(),
            "throttled to one per layer per 500 ms"
        );
        assert_eq!(
            room.unwatched_layers(cam),
            vec![1],
            "dynacast: nobody wants the middle layer"
        );

        let mut out = Vec::new();
        room.route(cam, &packet(2, 10, false), || (), &mut out);
        assert!(out.is_empty(), "not before a keyframe");
        room.route(cam, &packet(2, 11, true), || (), &mut out);
        assert_eq!(
            out.iter().map(|(p, _, _)| *p).collect::<Vec<_>>(),
            vec![large]
        );
        room.route(cam, &packet(0, 11, true), || (), &mut out);
        assert_eq!(
            out.iter().map(|(p, _, _)| *p).collect::<Vec<_>>(),
            vec![small]
        );

        // The large subscriber's bandwidth drops: it moves down at the next keyframe of layer 1.
        room.set_bandwidth(large, 600_000);
        assert_eq!(room.keyframe_requests(600), vec![(cam, 1)]);
        room.route(cam, &packet(1, 50, true), || (), &mut out);
        assert_eq!(
            out.iter().map(|(p, _, _)| *p).collect::<Vec<_>>(),
            vec![large]
        );
    }

    #[test]
    fn moderation_is_for_the_host_and_a_muted_track_is_not_forwarded() {
        let mut room = Room::new(10);
        let (host, _) = room.join("host", Role::Host, ALL).unwrap();
        let (guest, _) = room.join("guest", Role::Participant, ALL).unwrap();
        let (other, _) = room.join("other", Role::Participant, ALL).unwrap();
        let (mic, _) = room.publish(guest, Source::Microphone, vec![]).unwrap();
        assert_eq!(room.set_muted(other, mic, true), Err(RoomError::NotHost));
        assert_eq!(
            room.set_muted(host, mic, true).unwrap(),
            vec![Event::Muted {
                track: mic,
                muted: true,
                by_host: true
            }]
        );
        let mut out = Vec::new();
        room.route(mic, &packet(0, 1, false), || (), &mut out);
        assert!(out.is_empty());
        assert_eq!(
            room.set_muted(host, mic, false),
            Err(RoomError::NotHost),
            "only the owner unmutes"
        );
        room.set_muted(guest, mic, false).unwrap();
        room.route(mic, &packet(0, 2, false), || (), &mut out);
        assert_eq!(out.len(), 2);

        assert_eq!(room.remove(other, guest), Err(RoomError::NotHost));
        let events = room.remove(host, guest).unwrap();
        assert_eq!(
            events,
            vec![
                Event::Unpublished { track: mic },
                Event::Left {
                    participant: guest,
                    removed_by_host: true
                }
            ]
        );
        assert_eq!((room.participants(), room.tracks()), (2, 0));
    }

    /// A host publishing simulcast video, and one viewer rendering it at the size given.
    fn camera_watched_at(width: u32, height: u32) -> (Room, ParticipantKey, TrackKey) {
        let mut room = Room::new(10);
        let (publisher, _) = room.join("pub", Role::Host, ALL).unwrap();
        let (viewer, _) = room.join("viewer", Role::Participant, ALL).unwrap();
        let (cam, _) = room
            .publish(publisher, Source::Camera, simulcast())
            .unwrap();
        room.set_want(viewer, cam, Want::Size { width, height })
            .unwrap();
        (room, publisher, cam)
    }

    #[test]
    fn unmuted_video_resumes_at_a_keyframe_without_a_gap() {
        let (mut room, publisher, cam) = camera_watched_at(320, 180);
        let mut out = Vec::new();
        room.route(cam, &packet(0, 1, true), || (), &mut out);
        let last = out[0].1.seq;
        room.set_muted(publisher, cam, true).unwrap();
        room.route(cam, &packet(0, 2, false), || (), &mut out);
        assert!(out.is_empty());
        room.set_muted(publisher, cam, false).unwrap();
        assert_eq!(
            room.keyframe_requests(1_000),
            vec![(cam, 0)],
            "a keyframe is asked for at once"
        );
        room.route(cam, &packet(0, 3, false), || (), &mut out);
        assert!(out.is_empty(), "not mid-picture");
        room.route(cam, &packet(0, 4, true), || (), &mut out);
        assert_eq!(out[0].1.seq, last + 1, "numbering carries on");
    }

    #[test]
    fn muting_mid_frame_delivers_the_rest_of_the_frame_first() {
        let (mut room, publisher, cam) = camera_watched_at(320, 180);
        let mut out = Vec::new();
        let part = |seq, frame_end| Incoming {
            timestamp: 3000,
            frame_end,
            ..packet(0, seq, seq == 1)
        };
        room.route(cam, &part(1, false), || (), &mut out);
        room.set_muted(publisher, cam, true).unwrap();
        room.route(cam, &part(2, true), || (), &mut out);
        assert_eq!(out.len(), 1, "the frame ends whole");
        room.route(cam, &packet(0, 3, false), || (), &mut out);
        assert!(out.is_empty(), "then nothing");
    }

    #[test]
    fn a_layer_stopped_by_dynacast_is_wanted_again_when_someone_needs_it() {
        let (mut room, _, cam) = camera_watched_at(160, 90);
        assert_eq!(room.unwatched_layers(cam), vec![1, 2]);
        // The publisher stops layers 1 and 2; then someone wants HD.
        let mut stopped = simulcast();
        stopped[1].active = false;
        stopped[2].active = false;
        room.set_layers(cam, stopped).unwrap();
        let (big, _) = room.join("big", Role::Participant, ALL).unwrap();
        room.set_want(
            big,
            cam,
            Want::Size {
                width: 1280,
                height: 720,
            },
        )
        .unwrap();
        assert_eq!(
            room.unwatched_layers(cam),
            vec![1],
            "layer 2 is wanted again"
        );
    }

    #[test]
    fn permissions_capacity_and_duplicates_are_refused() {
        let mut room: Room = Room::new(2);
        let (viewer, _) = room.join("viewer", Role::Viewer, ALL).unwrap();
        assert_eq!(
            room.publish(viewer, Source::Camera, simulcast())
                .unwrap_err(),
            RoomError::PublishDenied(Source::Camera)
        );
        let (guest, _) = room
            .join("guest", Role::Participant, &[Source::Microphone])
            .unwrap();
        assert_eq!(
            room.publish(guest, Source::Screen, vec![]).unwrap_err(),
            RoomError::PublishDenied(Source::Screen)
        );
        assert_eq!(
            room.join("third", Role::Participant, ALL).unwrap_err(),
            RoomError::Full(2)
        );
        room.leave(guest);
        assert_eq!(
            room.join("viewer", Role::Participant, ALL).unwrap_err(),
            RoomError::AlreadyJoined("viewer".into())
        );
        assert_eq!(room.unpublish(viewer, 999), Err(RoomError::UnknownTrack));
    }

    #[test]
    fn many_join_and_leave_cycles_leave_nothing_behind() {
        let mut room: Room = Room::new(50);
        let (host, _) = room.join("host", Role::Host, ALL).unwrap();
        room.publish(host, Source::Camera, simulcast()).unwrap();
        for i in 0..200 {
            let (p, _) = room.join(&format!("p{i}"), Role::Participant, ALL).unwrap();
            room.publish(p, Source::Microphone, vec![]).unwrap();
            room.publish(
                p,
                Source::Screen,
                vec![Layer {
                    width: 1920,
                    height: 1080,
                    bitrate_bps: 1_000_000,
                    active: true,
                }],
            )
            .unwrap();
            room.leave(p);
        }
        assert_eq!((room.participants(), room.tracks()), (1, 1));
        assert!(
            room.tracks.values().all(|t| t.subscriptions.is_empty()),
            "no subscription outlives its subscriber"
        );
    }
}
