//! Applying what a room decided: telling the signalling service, adding
//! and stopping m-lines on the legs concerned, relaying data channels.

use proto::sfu::{channels, Event as SfuEvent, SfuError, TrackInfo};

use crate::node::NodeEvent;
use crate::room::Event as RoomEvent;

use super::*;

impl Worker {
    /// Applies what the room core decided, and tells the signalling service.
    pub(super) fn room_events(&mut self, room: &str, events: Vec<RoomEvent>) {
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

    pub(super) fn renegotiate(&mut self, pid: PeerId) {
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

    pub(super) fn error(&self, room: &str, participant: &str, error: SfuError) {
        let _ = self.events.send(NodeEvent::Room(SfuEvent::Error {
            room: room.to_owned(),
            participant: participant.to_owned(),
            error,
        }));
    }

    pub(super) fn send_board(&mut self, pid: PeerId) {
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
    pub(super) fn relay(&mut self, from: PeerId, label: &str, binary: bool, data: Vec<u8>) {
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
}
