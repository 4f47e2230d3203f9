//! Calls: a confirmed booking becomes a billed video call. Room tokens for
//! its parties inside the join window, the SFU's presence reports merged
//! per participant as sets of seconds, the call status pushed while it
//! runs, and settlement, exactly once, from the seconds the expert and the
//! paying user were both present.
//!
//! `billing` is the sans-IO core (overlap, charge, status, when and how a
//! call settles); the rest drives it through the database, the bus and the
//! ledger.

pub mod billing;
#[cfg(test)]
mod simulation;
