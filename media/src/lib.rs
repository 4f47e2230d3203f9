//! The SFU: a sans-IO core (rooms, routing, simulcast layer choice, presence
//! accounting, the demultiplexer) driven by a thin UDP driver (`node`):
//! worker threads owning a socket each, with str0m in RTP mode for every
//! WebRTC leg.

pub mod codec;
pub mod demux;
pub mod node;
pub mod outbox;
pub mod presence;
pub mod room;
pub mod simulcast;
pub mod speaker;
pub mod whiteboard;
