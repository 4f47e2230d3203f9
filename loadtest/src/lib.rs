//! The load generator of `deepinfluence-loadtest`: synthetic participants
//! (simpeer) joining a server through its real signalling, scenarios, the
//! measurements and the SLO report, and the Janus VideoRoom target the
//! side-by-side comparison runs against. See `loadtest/README.md`.

pub mod deepinfluence;
pub mod janus;
pub mod layout;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod server;
pub mod slo;
pub mod target;
