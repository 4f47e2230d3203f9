//! Simulcast forwarding decisions for one subscriber of one video track:
//! which layer to forward (`layers`) and how to keep the forwarded stream
//! continuous across layer switches (`rewrite`). No packets are parsed here;
//! the driver passes header fields in and writes the answers out (str0m
//! patches the VP8 payload descriptor with the values chosen here).

pub mod layers;
pub mod rewrite;
