//! The SFU: a sans-IO core (rooms, routing, simulcast layer choice, presence
//! accounting) driven by thin UDP and QUIC drivers. Built so far: presence
//! accounting and its outbox, simulcast layer choice and stream rewriting,
//! active-speaker detection, the whiteboard log, and the room (members,
//! tracks, subscriptions, moderation, per-packet routing). Until the forwarding core and its drivers exist,
//! `deepinfluence sfu` serves only its health and metrics endpoints.

pub mod outbox;
pub mod presence;
pub mod room;
pub mod simulcast;
pub mod speaker;
pub mod whiteboard;
