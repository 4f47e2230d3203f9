//! Identity: passwords, tokens, sessions and brute-force throttling.

pub mod attempts;
pub mod links;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;
