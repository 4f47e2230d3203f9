//! The signalling protocol: JSON messages over one WebSocket between a client
//! (the JS SDK, the Rust test client) and the signalling service. Each message
//! is an object whose `type` names it. The TypeScript types of the SDK are
//! generated from these definitions (`sdk/js/src/protocol/`), and a test
//! keeps the checked-in copy equal to what this file generates.
//!
//! A session: the client sends `join` first; the service checks the room
//! token, joins the SFU and answers `welcome`. Either side may then offer
//! (the client to publish or stop tracks, the service when tracks of others
//! come or go); the other answers. A client whose socket breaks sends `join`
//! again on a new socket with `resume` set to its session id, within the
//! grace period the welcome states, and keeps its tracks and subscriptions.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::sfu::{ParticipantInfo, Role, Sdp, Source, TrackInfo, TrackSpec, Want};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ClientMessage {
    /// The first message on a socket. `room` must be the token's room.
    Join {
        room: String,
        token: String,
        /// The session id of an earlier welcome, to take that session over
        /// after a broken socket.
        #[serde(default)]
        #[ts(optional)]
        resume: Option<String>,
        /// The client's offer, with what its sending m-lines carry. Without
        /// one, the welcome carries the SFU's offer (with the data channels).
        #[serde(default)]
        #[ts(optional)]
        offer: Option<String>,
        #[serde(default)]
        tracks: Vec<TrackSpec>,
    },
    /// Publish or stop tracks, or restart ICE; the service answers `answer`.
    Offer {
        sdp: String,
        /// What each sending m-line carries (source and simulcast layers).
        #[serde(default)]
        tracks: Vec<TrackSpec>,
    },
    /// The answer to the service's last `offer`.
    Answer {
        sdp: String,
    },
    /// The subscription preference for another participant's video track.
    Subscribe {
        track: u32,
        want: Want,
    },
    /// Mute one's own track, or (host only) someone else's.
    Mute {
        track: u32,
        muted: bool,
    },
    /// Host only: remove a participant from the room.
    Remove {
        participant: String,
    },
    /// Leave the room for good; the socket is closed after `closed`.
    Leave,
    Ping {
        id: u32,
    },
}

/// What the service sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ServerMessage {
    Welcome(Box<Welcome>),
    /// The SFU needs a new offer/answer round: answer with `answer`.
    Offer {
        sdp: String,
    },
    /// The answer to the client's `offer`.
    Answer {
        sdp: String,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant: String,
        reason: LeftReason,
    },
    TrackPublished {
        track: TrackInfo,
    },
    TrackUnpublished {
        track: u32,
    },
    TrackMuted {
        track: u32,
        muted: bool,
        /// The host muted it, not its owner.
        by_host: bool,
    },
    /// Loudest first; sent when the set changes.
    Speakers {
        participants: Vec<String>,
    },
    /// Dynacast: the simulcast encodings of one's own track that someone
    /// watches; the others may be stopped until they are listed again.
    Layers {
        track: u32,
        rids: Vec<String>,
    },
    CallStatus(CallStatus),
    Error(SignalError),
    Pong {
        id: u32,
    },
    /// The last message before the service closes the socket.
    Closed {
        reason: ClosedReason,
    },
}

/// The service's answer to `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Welcome {
    /// Send it as `resume` to take this session over from a new socket.
    pub session: String,
    pub room: String,
    pub participant: String,
    pub role: Role,
    pub may_publish: Vec<Source>,
    /// The call this room belongs to, when it is a billed call.
    pub call: Option<String>,
    /// Everyone in the room, oneself included.
    pub participants: Vec<ParticipantInfo>,
    pub tracks: Vec<TrackInfo>,
    pub ice_servers: Vec<IceServer>,
    /// A fresh join: the answer to the client's offer, or the SFU's offer to
    /// answer. A resumed session: none; the client restarts ICE with an offer.
    pub sdp: Option<Sdp>,
    pub resumed: bool,
    /// How long the session waits for a new socket after the old one broke.
    pub resume_grace_ms: u32,
}

/// A STUN or TURN server for the client's peer connection (RTCIceServer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    Left,
    RemovedByHost,
    /// The socket broke and the grace period passed.
    Disconnected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// The client asked to leave.
    Left,
    RemovedByHost,
    /// Another socket joined as the same participant.
    Replaced,
    /// The call ended; the last `call_status` says why.
    CallEnded,
    /// The media path broke and did not come back within the SFU's grace.
    ConnectionLost,
    /// The service is shutting down.
    ShuttingDown,
    /// A fatal error, sent just before as `error`.
    Error,
}

/// Pushed by the control plane during a billed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallStatus {
    pub call: String,
    /// Seconds in which both the expert and the paying user were present.
    pub billed_seconds: u32,
    /// Coins owed so far (the 10-minute minimum included).
    pub coins_used: i64,
    /// The paying user's wallet balance, holds excluded.
    pub balance: i64,
    /// Set when the balance covers less than the warning threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub minutes_left: Option<u32>,
    /// Set once the call has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ended: Option<CallEnd>,
}

/// Bus topic on which the control plane publishes `CallStatusUpdate` JSON.
pub const CALL_STATUS_TOPIC: &str = "signalling.call_status";

/// A call status for the clients of one room (or one participant of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStatusUpdate {
    pub room: String,
    /// Only this participant; none means everyone in the room.
    #[serde(default)]
    pub participant: Option<String>,
    pub status: CallStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CallEnd {
    /// Everyone left.
    Completed,
    HostEnded,
    /// The booked time and the allowed overrun passed.
    TimeUp,
    BalanceExhausted,
}

/// A refusal. `fatal` errors end the session (the socket closes after them);
/// the others refuse one message and change nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignalError {
    pub code: ErrorCode,
    pub message: String,
    pub fatal: bool,
}

/// Stable error codes; docs/signalling.md says when each is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not a message of this protocol, or not JSON.
    BadMessage,
    /// The token's signature or shape is wrong.
    TokenInvalid,
    TokenExpired,
    /// The token is for another room than the one joined.
    TokenWrongRoom,
    /// A message other than `join` before joining.
    NotJoined,
    /// `join` on a socket that has already joined.
    AlreadyJoined,
    /// `resume` names no session waiting for a socket (or another one's).
    ResumeRefused,
    RoomFull,
    PublishDenied,
    NotHost,
    UnknownParticipant,
    UnknownTrack,
    BadSdp,
    /// Answer the service's offer before offering again.
    OfferPending,
    NoOfferPending,
    Whiteboard,
    /// The media server cannot be reached or is shutting down.
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_snake_case_objects() {
        let join: ClientMessage =
            serde_json::from_str(r#"{"type":"join","room":"r","token":"t"}"#).unwrap();
        assert_eq!(
            join,
            ClientMessage::Join {
                room: "r".into(),
                token: "t".into(),
                resume: None,
                offer: None,
                tracks: vec![],
            }
        );
        let error = ServerMessage::Error(SignalError {
            code: ErrorCode::TokenWrongRoom,
            message: "m".into(),
            fatal: true,
        });
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"type":"error","code":"token_wrong_room","message":"m","fatal":true}"#
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
    }
}
