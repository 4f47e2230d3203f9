//! The control-plane API over real HTTP, on SQLite and on PostgreSQL.

#[path = "../support/clictopay.rs"]
mod clictopay;
#[path = "../support/flouci.rs"]
mod flouci;
#[path = "../support/gateway.rs"]
mod gateway;
#[path = "../support/konnect.rs"]
mod konnect;
#[path = "../support/oauth.rs"]
mod oauth;
#[path = "../support/paypal.rs"]
mod paypal;
#[path = "../support/testdb.rs"]
mod testdb;

mod common;

mod hostile;

mod admin;
mod experts;
mod login;
mod mail;
mod maintenance;
mod moderation;
mod passwords;
mod payouts;
mod profile;
mod races;
mod reports;
mod search;
mod signup;
mod social;
mod surface;
mod verification;
mod wallet;
