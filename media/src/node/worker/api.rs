//! The internal API as a worker serves it: join, requests of joined
//! participants, leaving, and tearing a leg down.

use std::collections::HashMap;
use std::time::Instant;

use proto::sfu::{Join, ParticipantInfo, Request, Sdp, SfuError, TrackInfo, Welcome};
use str0m::Output;

use crate::node::peer::Peer;
use crate::node::Command;
use crate::room::{Room, RoomError, TrackKey};
use crate::speaker::Speakers;
use crate::whiteboard::Whiteboard;

use super::*;

impl Worker {
    pub(super) fn command(&mut self, command: Command) {
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
                let _ = reply.send(crate::node::Counts {
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

    pub(super) fn join(&mut self, join: Join, now: Instant) -> Result<Welcome, SfuError> {
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
                let error = room_error(e, &join.participant, 0);
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

    pub(super) fn request(
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
                .map_err(|e| room_error(e, participant, track)),
            Request::Mute { track, muted } => {
                let events = state
                    .room
                    .set_muted(key, track, muted)
                    .map_err(|e| room_error(e, participant, track))?;
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
                    .map_err(|e| room_error(e, &target, 0))?;
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
    pub(super) fn leave(&mut self, pid: PeerId, now: Instant) {
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
    pub(super) fn teardown(&mut self, pid: PeerId, now: Instant) {
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

pub(super) fn validate_name(what: &str, name: &str) -> Result<(), SfuError> {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(SfuError::Invalid(format!(
            "{what} must be 1 to 128 characters, without control characters"
        )));
    }
    Ok(())
}

/// The API's error for a room's refusal of what `participant` asked about
/// `track` (0 where no track is concerned).
pub(super) fn room_error(e: RoomError, participant: &str, track: TrackKey) -> SfuError {
    match e {
        RoomError::Full(n) => SfuError::RoomFull(n),
        RoomError::AlreadyJoined(name) => SfuError::AlreadyJoined(name),
        RoomError::UnknownParticipant => SfuError::UnknownParticipant(participant.to_owned()),
        RoomError::UnknownTrack => SfuError::UnknownTrack(track),
        RoomError::PublishDenied(s) => SfuError::PublishDenied(s),
        RoomError::NotHost => SfuError::NotHost,
    }
}
