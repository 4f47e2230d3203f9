//! Untrusted datagrams through everything that reads them before str0m:
//! classification, the STUN username and integrity readers, the
//! demultiplexer's tables, and the H.264 keyframe reader. None may panic,
//! and the tables must stay within their bounds.

#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use media::demux::{classify, stun_authentic, stun_username, Demux};

fuzz_target!(|data: &[u8]| {
    let mut demux = Demux::default();
    demux.insert(1u32, "aaaa", "password-one-is-long-enough");
    demux.insert(2u32, "bbbb", "password-two-is-long-enough");
    // The input is a sequence of datagrams: [port byte][length byte][bytes].
    let mut rest = data;
    while rest.len() >= 2 {
        let port = u16::from(rest[0]);
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let datagram = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let source = SocketAddr::from(([10, 0, 0, 1], port));
        let _ = classify(datagram);
        let _ = stun_username(datagram);
        let _ = stun_authentic(datagram, "password-one-is-long-enough");
        let _ = media::codec::h264_keyframe_start(datagram);
        if let Ok(peer) = demux.route(source, datagram) {
            assert!(peer == 1 || peer == 2);
        }
        assert!(demux.addresses() <= 2 * 4, "addresses per peer are bounded");
    }
});
