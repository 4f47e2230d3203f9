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
#[path = "../support/push.rs"]
mod push;
#[path = "../support/testdb.rs"]
mod testdb;
#[path = "../support/twilio.rs"]
mod twilio;

mod booking_support;
mod common;
mod messaging_support;
mod sse;

mod hostile;

mod admin;
mod booking_notices;
mod bookings;
mod calendar;
mod calls;
mod calls_e2e;
mod experts;
mod login;
mod mail;
mod maintenance;
mod messaging;
mod messaging_live;
mod messaging_video;
mod moderation;
mod notifications;
mod passwords;
mod payouts;
mod profile;
mod races;
mod reports;
mod rooms;
mod search;
mod search_plans;
mod signup;
mod social;
mod surface;
mod verification;
mod wallet;
