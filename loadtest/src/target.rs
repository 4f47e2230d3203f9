//! What a scenario runs against: a server that lets synthetic participants
//! publish and subscribe. DeepInfluence is one (`crate::deepinfluence`);
//! another SFU plugs in by implementing `Target`, so the same scenarios,
//! media and measurements compare them.

use std::sync::Arc;

use async_trait::async_trait;
use simpeer::{Options, Peer, Size, Stats};

/// Why a participant could not join.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The server refused (a token, a full room): its reason.
    #[error("refused: {0}")]
    Refused(String),
    /// The server could not be reached or answered nonsense.
    #[error("{0}")]
    Transport(String),
}

/// Where to read the server's own cost: its Prometheus endpoint and, when it
/// runs on this machine, its process id (`/proc`).
#[derive(Debug, Clone, Default)]
pub struct ServerProbe {
    pub metrics_url: Option<String>,
    pub pid: Option<u32>,
}

/// A joined participant: its media peer, whose statistics the scenario
/// reads, and its signalling session, which keeps it in the room.
pub struct Participant {
    pub peer: Arc<Peer>,
    pub session: Box<dyn Session>,
}

impl Participant {
    pub fn stats(&self) -> Stats {
        self.peer.stats()
    }
}

/// A participant's signalling with the server.
pub trait Session: Send + Sync {
    /// Leaves the room (the media stops when the participant is dropped).
    fn leave(&self);
}

#[async_trait]
pub trait Target: Send + Sync {
    /// A short name for reports ("deepinfluence").
    fn name(&self) -> &str;

    /// Joins `room` as `name` publishing what `options` says. The
    /// participant also receives everyone else's tracks in the room (the
    /// `meeting` and `consultations` scenarios rely on it).
    async fn publish(
        &self,
        room: &str,
        name: &str,
        options: Options,
    ) -> Result<Participant, TargetError>;

    /// Joins `room` as `name`, receive-only, asking for video at `want`
    /// (the rendered size: the server picks the simulcast layer); `options`
    /// says whether to decode.
    async fn subscribe(
        &self,
        room: &str,
        name: &str,
        want: Size,
        options: Options,
    ) -> Result<Participant, TargetError>;

    fn server(&self) -> ServerProbe;
}
