//! WebSocket signalling: room-token checks, SDP negotiation with the SFU and
//! room-to-node routing. Not built yet: until it is, `deepinfluence
//! signalling` serves only its health and metrics endpoints.
