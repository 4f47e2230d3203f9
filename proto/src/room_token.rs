//! What a room token says. The control plane signs these claims (HS256 JWT,
//! `platform::room_token`) for one participant of one room; the signalling
//! service checks them before anyone reaches the SFU.

use serde::{Deserialize, Serialize};

use crate::sfu::{Role, Source};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomClaims {
    /// The participant's name in the room (an account id for billed calls).
    pub sub: String,
    pub room: String,
    pub role: Role,
    /// What the participant may publish.
    pub publish: Vec<Source>,
    /// The call (booking) the room belongs to, if it is billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// Issued and expiry times, Unix seconds.
    pub iat: i64,
    pub exp: i64,
}
