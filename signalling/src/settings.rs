//! `[signalling]` in the configuration file.

use std::time::Duration;

use proto::signal::IceServer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address of the WebSocket endpoint (`/v1/signal`), the demo page and
    /// the operational endpoints.
    pub listen: String,
    /// How long a session whose socket broke waits for the client to resume
    /// it before its participant leaves the room.
    #[serde(with = "humantime_serde")]
    pub resume_grace: Duration,
    /// A socket silent for this long is taken as broken (clients ping every
    /// 10 s), so a path that died without a close frame is noticed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Largest client message accepted, in bytes (SDP offers included).
    pub max_message_bytes: usize,
    /// STUN/TURN servers handed to clients; the SFU itself needs none
    /// (ICE-lite on its announced address).
    pub ice_servers: Vec<IceServer>,
    /// The media node rooms are placed on when the SFU runs in another
    /// process (its `sfu.media.node`).
    pub sfu_node: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8081".to_owned(),
            resume_grace: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(30),
            max_message_bytes: 256 * 1024,
            ice_servers: Vec::new(),
            sfu_node: "sfu-1".to_owned(),
        }
    }
}
