//! Wire types shared by every DeepInfluence part. Nothing here does I/O, so the
//! SFU, the signalling service, the control plane and the generated SDK types
//! can all depend on it without pulling in a runtime.

pub mod presence;
pub mod problem;
pub mod room_token;
pub mod sfu;
pub mod signal;

pub use presence::{PresenceReport, Seconds};
pub use problem::{FieldError, Problem};
