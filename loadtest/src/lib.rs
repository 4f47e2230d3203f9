//! Synthetic WebRTC and QUIC participants, load scenarios and the SLO report.
//! Arrives with the load-test issue, once there is an SFU to load.

pub mod janus;
