//! The sessions this signalling service holds, and the room state their
//! clients have been told. No I/O: the hub calls it under one lock, and
//! messages leave through each session's socket queue.
//!
//! A session outlives its socket: while detached (socket broken, client
//! expected back), messages for it are buffered, up to `max_buffer`; past
//! that it can no longer be resumed faithfully and is refused.

use std::collections::{BTreeMap, HashMap, VecDeque};

use proto::sfu::{ParticipantInfo, Role, TrackInfo};
use proto::signal::ServerMessage;
use tokio::sync::mpsc;

pub type Outbox = mpsc::Sender<ServerMessage>;

/// Identifies one socket, so a stale socket cannot detach a session a newer
/// socket has taken over.
pub type SocketId = u64;

struct Entry {
    room: String,
    participant: String,
    socket: Option<(SocketId, Outbox)>,
    buffer: VecDeque<ServerMessage>,
    overflowed: bool,
    /// Bumped on every detach; a grace timer acts only on its own epoch.
    epoch: u64,
    /// The SFU has reported this participant joined: from then on a `left`
    /// event is about this session, not the one it replaced.
    confirmed: bool,
    /// The SFU's offer still waiting for the client's answer. A socket that
    /// broke may have swallowed it, so a resumed session gets it again.
    offer: Option<String>,
}

/// What the clients in one room have been told of it.
#[derive(Default, Clone)]
pub struct Roster {
    pub participants: BTreeMap<String, Role>,
    pub tracks: BTreeMap<u32, TrackInfo>,
}

impl Roster {
    pub fn participants(&self) -> Vec<ParticipantInfo> {
        self.participants
            .iter()
            .map(|(p, role)| ParticipantInfo {
                participant: p.clone(),
                role: *role,
            })
            .collect()
    }

    pub fn tracks(&self) -> Vec<TrackInfo> {
        self.tracks.values().cloned().collect()
    }
}

#[derive(Default)]
struct Room {
    members: HashMap<String, String>,
    roster: Roster,
}

pub struct Sessions {
    by_id: HashMap<String, Entry>,
    rooms: HashMap<String, Room>,
    max_buffer: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// No such session, another participant's, or another room's.
    Unknown,
    /// More happened while it was away than was kept for it.
    Overflowed,
}

impl Sessions {
    pub fn new(max_buffer: usize) -> Self {
        Sessions {
            by_id: HashMap::new(),
            rooms: HashMap::new(),
            max_buffer,
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn rooms(&self) -> usize {
        self.rooms.len()
    }

    /// The session of `participant` in `room`, if this service holds one.
    pub fn find(&self, room: &str, participant: &str) -> Option<&str> {
        self.rooms
            .get(room)
            .and_then(|r| r.members.get(participant))
            .map(String::as_str)
    }

    /// A new session, buffering until `attach`.
    pub fn insert(&mut self, id: &str, room: &str, participant: &str) {
        self.by_id.insert(
            id.to_owned(),
            Entry {
                room: room.to_owned(),
                participant: participant.to_owned(),
                socket: None,
                buffer: VecDeque::new(),
                overflowed: false,
                epoch: 0,
                confirmed: false,
                offer: None,
            },
        );
        self.rooms
            .entry(room.to_owned())
            .or_default()
            .members
            .insert(participant.to_owned(), id.to_owned());
    }

    pub fn set_roster(&mut self, room: &str, roster: Roster) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.roster = roster;
        }
    }

    pub fn roster(&self, room: &str) -> Option<&Roster> {
        self.rooms.get(room).map(|r| &r.roster)
    }

    pub fn roster_mut(&mut self, room: &str) -> Option<&mut Roster> {
        self.rooms.get_mut(room).map(|r| &mut r.roster)
    }

    /// Gives the session a socket and hands it what was buffered. Returns
    /// the socket it had, which has lost the session. A resuming client
    /// gets the SFU's unanswered offer once, after the rest.
    pub fn attach(
        &mut self,
        id: &str,
        socket: SocketId,
        outbox: Outbox,
        resuming: bool,
    ) -> Option<Outbox> {
        let entry = self.by_id.get_mut(id)?;
        let previous = entry.socket.take().map(|(_, o)| o);
        if resuming {
            entry
                .buffer
                .retain(|m| !matches!(m, ServerMessage::Offer { .. }));
            if let Some(sdp) = entry.offer.clone() {
                entry.buffer.push_back(ServerMessage::Offer { sdp });
            }
        }
        while let Some(message) = entry.buffer.pop_front() {
            if outbox.try_send(message).is_err() {
                break;
            }
        }
        entry.socket = Some((socket, outbox));
        previous
    }

    /// Checks that `id` may be taken over by `participant` of `room`.
    pub fn check_resume(&self, id: &str, room: &str, participant: &str) -> Result<(), ResumeError> {
        match self.by_id.get(id) {
            Some(e) if e.room == room && e.participant == participant => match e.overflowed {
                true => Err(ResumeError::Overflowed),
                false => Ok(()),
            },
            _ => Err(ResumeError::Unknown),
        }
    }

    /// The socket `socket` broke: the session buffers from now on. Returns
    /// the epoch the grace timer must find unchanged, or None if another
    /// socket holds the session.
    pub fn detach(&mut self, id: &str, socket: SocketId) -> Option<u64> {
        let entry = self.by_id.get_mut(id)?;
        match &entry.socket {
            Some((s, _)) if *s == socket => {
                entry.socket = None;
                entry.epoch += 1;
                Some(entry.epoch)
            }
            _ => None,
        }
    }

    /// Whether the session is still detached since `epoch`.
    pub fn still_detached(&self, id: &str, epoch: u64) -> bool {
        self.by_id
            .get(id)
            .is_some_and(|e| e.socket.is_none() && e.epoch == epoch)
    }

    /// Removes the session; returns its room and participant, and its socket.
    pub fn remove(&mut self, id: &str) -> Option<(String, String, Option<Outbox>)> {
        let entry = self.by_id.remove(id)?;
        if let Some(room) = self.rooms.get_mut(&entry.room) {
            if room.members.get(&entry.participant).map(String::as_str) == Some(id) {
                room.members.remove(&entry.participant);
            }
            if room.members.is_empty() {
                self.rooms.remove(&entry.room);
            }
        }
        Some((entry.room, entry.participant, entry.socket.map(|(_, o)| o)))
    }

    /// Marks the participant's session as known to the SFU; returns whether
    /// there is one.
    pub fn confirm(&mut self, room: &str, participant: &str) {
        if let Some(id) = self.find(room, participant).map(str::to_owned) {
            if let Some(e) = self.by_id.get_mut(&id) {
                e.confirmed = true;
            }
        }
    }

    /// The session a `left` event of the SFU is about, if any.
    pub fn confirmed(&self, room: &str, participant: &str) -> Option<String> {
        let id = self.find(room, participant)?;
        self.by_id
            .get(id)
            .filter(|e| e.confirmed)
            .map(|_| id.to_owned())
    }

    /// Notes the SFU's offer to the participant, then sends it.
    pub fn offer(&mut self, room: &str, participant: &str, sdp: String) {
        if let Some(id) = self.find(room, participant).map(str::to_owned) {
            if let Some(e) = self.by_id.get_mut(&id) {
                e.offer = Some(sdp.clone());
            }
            self.send(&id, ServerMessage::Offer { sdp });
        }
    }

    /// The client answered the SFU's offer.
    pub fn answered(&mut self, id: &str) {
        if let Some(e) = self.by_id.get_mut(id) {
            e.offer = None;
        }
    }

    /// Sends to one session, or buffers while it has no socket.
    pub fn send(&mut self, id: &str, message: ServerMessage) {
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        if let Some((_, outbox)) = &entry.socket {
            match outbox.try_send(message) {
                Ok(()) => return,
                // A client that reads nothing for a whole queue is treated
                // as gone: it resumes and gets what follows from the buffer.
                Err(mpsc::error::TrySendError::Full(message))
                | Err(mpsc::error::TrySendError::Closed(message)) => {
                    entry.socket = None;
                    entry.epoch += 1;
                    entry.overflowed = true;
                    entry.buffer.push_back(message);
                    return;
                }
            }
        }
        if entry.buffer.len() >= self.max_buffer {
            entry.overflowed = true;
            entry.buffer.pop_front();
        }
        entry.buffer.push_back(message);
    }

    pub fn send_to(&mut self, room: &str, participant: &str, message: ServerMessage) {
        if let Some(id) = self.find(room, participant).map(str::to_owned) {
            self.send(&id, message);
        }
    }

    /// Sends to every session in the room but `except`'s.
    pub fn broadcast(&mut self, room: &str, except: Option<&str>, message: &ServerMessage) {
        let Some(r) = self.rooms.get(room) else {
            return;
        };
        let ids: Vec<String> = r
            .members
            .iter()
            .filter(|(p, _)| Some(p.as_str()) != except)
            .map(|(_, id)| id.clone())
            .collect();
        for id in ids {
            self.send(&id, message.clone());
        }
    }

    /// The sessions of a room, to end them.
    pub fn members(&self, room: &str) -> Vec<String> {
        self.rooms
            .get(room)
            .map(|r| r.members.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pong(id: u32) -> ServerMessage {
        ServerMessage::Pong { id }
    }

    #[test]
    fn a_detached_session_buffers_and_hands_over_on_attach() {
        let mut s = Sessions::new(8);
        s.insert("a", "r", "alice");
        let (tx, mut rx) = mpsc::channel(16);
        s.attach("a", 1, tx, false);
        s.send("a", pong(1));
        assert_eq!(rx.try_recv().unwrap(), pong(1));
        let epoch = s.detach("a", 1).unwrap();
        s.send_to("r", "alice", pong(2));
        assert!(s.still_detached("a", epoch));
        let (tx2, mut rx2) = mpsc::channel(16);
        assert!(s.attach("a", 2, tx2, true).is_none());
        assert_eq!(rx2.try_recv().unwrap(), pong(2));
        assert!(!s.still_detached("a", epoch));
    }

    #[test]
    fn a_resumed_session_gets_the_unanswered_offer_once_and_last() {
        let mut s = Sessions::new(8);
        s.insert("a", "r", "alice");
        let (tx, _rx) = mpsc::channel(16);
        s.attach("a", 1, tx, false);
        s.offer("r", "alice", "o1".into());
        s.detach("a", 1);
        s.offer("r", "alice", "o2".into());
        s.send("a", pong(1));
        let (tx2, mut rx2) = mpsc::channel(16);
        s.attach("a", 2, tx2, true);
        assert_eq!(rx2.try_recv().unwrap(), pong(1));
        assert_eq!(
            rx2.try_recv().unwrap(),
            ServerMessage::Offer { sdp: "o2".into() }
        );
        assert!(rx2.try_recv().is_err());
        // Once answered, a later resume has nothing to resend.
        s.answered("a");
        s.detach("a", 2);
        let (tx3, mut rx3) = mpsc::channel(16);
        s.attach("a", 3, tx3, true);
        assert!(rx3.try_recv().is_err());
    }

    #[test]
    fn a_stale_socket_cannot_detach_a_taken_over_session() {
        let mut s = Sessions::new(8);
        s.insert("a", "r", "alice");
        let (tx, _rx) = mpsc::channel(16);
        s.attach("a", 1, tx.clone(), false);
        assert!(s.attach("a", 2, tx, true).is_some());
        assert_eq!(s.detach("a", 1), None);
        assert!(s.detach("a", 2).is_some());
    }

    #[test]
    fn resume_is_refused_for_others_and_after_overflow() {
        let mut s = Sessions::new(2);
        s.insert("a", "r", "alice");
        assert_eq!(s.check_resume("a", "r", "alice"), Ok(()));
        assert_eq!(s.check_resume("a", "r", "bob"), Err(ResumeError::Unknown));
        assert_eq!(
            s.check_resume("a", "r2", "alice"),
            Err(ResumeError::Unknown)
        );
        assert_eq!(
            s.check_resume("zz", "r", "alice"),
            Err(ResumeError::Unknown)
        );
        for i in 0..3 {
            s.send("a", pong(i));
        }
        assert_eq!(
            s.check_resume("a", "r", "alice"),
            Err(ResumeError::Overflowed)
        );
    }

    #[test]
    fn removing_the_last_member_drops_the_room_and_a_replaced_id_stays() {
        let mut s = Sessions::new(2);
        s.insert("a", "r", "alice");
        s.insert("b", "r", "alice");
        s.remove("a");
        assert_eq!(s.find("r", "alice"), Some("b"));
        s.remove("b");
        assert_eq!(s.rooms(), 0);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn left_events_apply_only_once_the_sfu_confirmed_the_join() {
        let mut s = Sessions::new(2);
        s.insert("a", "r", "alice");
        assert_eq!(s.confirmed("r", "alice"), None);
        s.confirm("r", "alice");
        assert_eq!(s.confirmed("r", "alice").as_deref(), Some("a"));
    }
}
