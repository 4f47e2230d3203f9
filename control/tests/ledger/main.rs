//! The ledger on SQLite and PostgreSQL: flows and refusals (payouts
//! included), races between requests, a process killed mid-request, and
//! random sequences checked against the ledger's invariants after every
//! step.

#[path = "../support/testdb.rs"]
mod testdb;

mod common;

mod crash;
mod flows;
mod payout_flows;
mod races;
mod sequences;
