//! The SFU's internal API: what the signalling service asks of a media node
//! and what the node reports back. The same types travel in-process (serve)
//! and as JSON over the bus (services run apart), so they are plain data.
//!
//! Names are the caller's: a room and a participant are strings chosen by the
//! control plane; a track is a number unique within its room, assigned by the
//! SFU when it is published.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The expert: may moderate.
    Host,
    Participant,
    /// Receives only.
    Viewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Camera,
    Microphone,
    Screen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

impl Source {
    pub fn kind(self) -> Kind {
        match self {
            Source::Microphone => Kind::Audio,
            Source::Camera | Source::Screen => Kind::Video,
        }
    }
}

/// What a subscriber asks of one video track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Want {
    /// The rendered size of the video element, in pixels.
    Size { width: u32, height: u32 },
    /// The video element is hidden: forward nothing.
    Paused,
}

/// One simulcast encoding of a published video track, as the client set it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LayerSpec {
    /// The RTP stream id (`a=rid`) of the encoding.
    pub rid: String,
    pub width: u32,
    pub height: u32,
}

/// What an m-line the client sends on carries. An undeclared sending m-line
/// is taken as the camera (video) or microphone (audio) without simulcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackSpec {
    pub mid: String,
    pub source: Source,
    /// Simulcast encodings, smallest first; empty for a single encoding.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
}

/// A participant entering a room on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub room: String,
    pub participant: String,
    pub role: Role,
    /// What the room token allows this participant to publish.
    pub may_publish: Vec<Source>,
    /// The client's SDP offer; without one the SFU makes the offer.
    pub offer: Option<String>,
    #[serde(default)]
    pub tracks: Vec<TrackSpec>,
}

/// An SDP exchange step: the SFU's answer to an offer, or its own offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "type", content = "sdp")]
pub enum Sdp {
    Offer(String),
    Answer(String),
}

/// Everything the signalling service may ask once a participant has joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Request {
    /// The client renegotiates (publishes or stops a track).
    Offer {
        sdp: String,
        #[serde(default)]
        tracks: Vec<TrackSpec>,
    },
    /// The client answers the SFU's last offer.
    Answer {
        sdp: String,
    },
    Want {
        track: u32,
        want: Want,
    },
    /// Mute or unmute a track: the owner's own, or (host only) someone else's.
    Mute {
        track: u32,
        muted: bool,
    },
    /// Host only.
    Remove {
        target: String,
    },
    Leave,
}

/// Why the SFU refused a request. Every variant names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "code", content = "detail")]
pub enum SfuError {
    #[error("the room is full ({0} participants)")]
    RoomFull(usize),
    #[error("{0} is already in the room")]
    AlreadyJoined(String),
    #[error("no participant {0} in this room")]
    UnknownParticipant(String),
    #[error("no track {0} in this room")]
    UnknownTrack(u32),
    #[error("not allowed to publish {0:?}")]
    PublishDenied(Source),
    #[error("only the host may do this")]
    NotHost,
    #[error("invalid SDP: {0}")]
    BadSdp(String),
    #[error("an offer of the SFU is waiting for its answer; answer it first")]
    OfferPending,
    #[error("no offer of the SFU is waiting for an answer")]
    NoOfferPending,
    #[error("whiteboard: {0}")]
    Whiteboard(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("the media node is shutting down")]
    Unavailable,
}

/// A track as the other participants learn of it. `stream` and `id` are the
/// msid the SFU puts on the m-line it sends the track on, so a client can
/// match an incoming m-line to this announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackInfo {
    pub track: u32,
    pub owner: String,
    pub source: Source,
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ParticipantInfo {
    pub participant: String,
    pub role: Role,
}

/// The SFU's side of a join: its answer (or offer), and the room as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub sdp: Sdp,
    pub participants: Vec<ParticipantInfo>,
    pub tracks: Vec<TrackInfo>,
}

/// What a media node reports, for one room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    Joined {
        room: String,
        participant: String,
        role: Role,
    },
    Left {
        room: String,
        participant: String,
        removed_by_host: bool,
    },
    Published {
        room: String,
        track: TrackInfo,
    },
    Unpublished {
        room: String,
        track: u32,
    },
    Muted {
        room: String,
        track: u32,
        muted: bool,
        by_host: bool,
    },
    /// The simulcast encodings of a track someone would watch (dynacast):
    /// the publisher may stop the others until they are listed again.
    Layers {
        room: String,
        participant: String,
        track: u32,
        rids: Vec<String>,
    },
    /// Loudest first; sent when the set changes.
    Speakers {
        room: String,
        participants: Vec<String>,
    },
    /// The SFU needs a new offer/answer round with this participant (tracks
    /// to add or stop): pass the offer to the client, return its answer.
    Renegotiate {
        room: String,
        participant: String,
        offer: String,
    },
    /// Something the participant did failed after the request returned
    /// (e.g. a whiteboard operation over the limit).
    Error {
        room: String,
        participant: String,
        error: SfuError,
    },
}

impl Event {
    pub fn room(&self) -> &str {
        match self {
            Event::Joined { room, .. }
            | Event::Left { room, .. }
            | Event::Published { room, .. }
            | Event::Unpublished { room, .. }
            | Event::Muted { room, .. }
            | Event::Layers { room, .. }
            | Event::Speakers { room, .. }
            | Event::Renegotiate { room, .. }
            | Event::Error { room, .. } => room,
        }
    }
}

/// Labels of the data channels the SFU relays within a room.
pub mod channels {
    /// Reliable, ordered; the SFU keeps the log for late joiners.
    pub const WHITEBOARD: &str = "whiteboard";
    /// Reliable, ordered.
    pub const CHAT: &str = "chat";
    /// Unreliable, unordered: cursors and other data worth only while fresh.
    pub const LOSSY: &str = "lossy";
    /// A whiteboard message with exactly this content empties the board.
    pub const WHITEBOARD_CLEAR: &[u8] = b"clear";
}
