//! Process plumbing every DeepInfluence service shares: configuration loading,
//! telemetry (logs, metrics, health), the database, the bus and the clock.
//! Domain logic lives in the service crates; this crate only carries it.

pub mod bus;
pub mod clock;
pub mod config;
pub mod db;
pub mod http;
pub mod room_token;
pub mod telemetry;

pub use bus::Bus;
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::{Backend, Database};
