//! The Janus VideoRoom target: the same simulated participants (`simpeer`,
//! real H.264 and Opus over str0m) joining rooms of a Janus server through
//! its HTTP API, so the load generator can drive Janus and our SFU alike.
//!
//! Each participant has its own Janus session and VideoRoom handle, as a
//! browser would: a publisher joins, publishes its offer and applies
//! Janus's answer; a subscriber joins a publisher's feed, answers Janus's
//! offer and starts. Simulcast layers are chosen at join time from the
//! size the subscriber wants.

mod server;
mod session;
mod target;
mod videoroom;

pub use server::JanusServer;
pub use target::JanusTarget;
pub use videoroom::{Feed, FeedStream, Janus, JanusParticipant, RoomConfig};

/// The VideoRoom plugin's error code for a room that does not exist.
pub const NO_SUCH_ROOM: i64 = 426;

/// Why a Janus request failed.
#[derive(Debug, thiserror::Error)]
pub enum JanusError {
    /// Janus or its VideoRoom plugin refused `request` with its error code
    /// (e.g. `NO_SUCH_ROOM`).
    #[error("Janus refused {request}: error {code}: {reason}")]
    Refused {
        request: String,
        code: i64,
        reason: String,
    },
    #[error("Janus HTTP API: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected Janus reply to {request}: {reply}")]
    Protocol { request: String, reply: String },
    #[error("no Janus event answered {0} in time")]
    Timeout(String),
    #[error("the Janus session closed")]
    Closed,
    /// The simulated participant could not offer or answer.
    #[error("peer: {0}")]
    Peer(String),
    #[error("starting Janus: {0}")]
    Start(String),
}

impl JanusError {
    fn protocol(request: &str, reply: &serde_json::Value) -> JanusError {
        JanusError::Protocol {
            request: request.to_owned(),
            reply: reply.to_string(),
        }
    }
}
