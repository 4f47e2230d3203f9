//! The SFU: a sans-IO core (rooms, routing, simulcast layer choice, presence
//! accounting) driven by thin UDP and QUIC drivers. Not built yet: until it
//! is, `deepinfluence sfu` serves only its health and metrics endpoints.
