//! Which peer a datagram on a shared UDP port belongs to, in constant time.
//!
//! A known source address maps straight to its peer. From an unknown address
//! only a STUN binding request can open the way: its USERNAME attribute is
//! `<our ufrag>:<their ufrag>`, and our ufrag names the peer. The request's
//! MESSAGE-INTEGRITY is checked here with the peer's ICE password before the
//! address is learnt: otherwise anyone who saw a ufrag could point addresses
//! at a peer and push its real one out of the table. A client that changes
//! network (new NAT binding, ICE restart) is found again by its next request.
//! Everything else from an unknown address is dropped and counted by reason.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

/// Most addresses remembered for one peer; a flood of spoofed requests with
/// a leaked ufrag cannot grow the table past this.
const MAX_ADDRS_PER_PEER: usize = 4;

const STUN_HEADER: usize = 20;
const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const STUN_BINDING_REQUEST: u16 = 0x0001;
const STUN_USERNAME: u16 = 0x0006;
const STUN_MESSAGE_INTEGRITY: u16 = 0x0008;
const MESSAGE_INTEGRITY_LEN: usize = 20;

/// What the first byte says a datagram is (RFC 7983).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Stun,
    Dtls,
    Rtp,
    Other,
}

impl Class {
    /// Metric labels, indexed by `Class as usize`.
    pub const LABELS: [&'static str; 4] = ["stun", "dtls", "rtp", "other"];
}

pub fn classify(datagram: &[u8]) -> Class {
    match datagram.first() {
        Some(0..=3) => Class::Stun,
        Some(20..=63) => Class::Dtls,
        Some(128..=191) => Class::Rtp,
        _ => Class::Other,
    }
}

/// Why a datagram was not given to any peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drop {
    /// Not STUN, DTLS, RTP or RTCP.
    NotWebrtc,
    /// STUN that is not a well-formed binding request with a username.
    BadStun,
    /// A binding request for a ufrag no peer has.
    UnknownUfrag,
    /// A binding request whose MESSAGE-INTEGRITY is missing or wrong.
    BadStunAuth,
    /// DTLS or RTP from an address no peer has used.
    UnknownSource,
}

impl Drop {
    pub const ALL: [Drop; 5] = [
        Drop::NotWebrtc,
        Drop::BadStun,
        Drop::UnknownUfrag,
        Drop::BadStunAuth,
        Drop::UnknownSource,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Drop::NotWebrtc => "not_webrtc",
            Drop::BadStun => "bad_stun",
            Drop::UnknownUfrag => "unknown_ufrag",
            Drop::BadStunAuth => "bad_stun_auth",
            Drop::UnknownSource => "unknown_source",
        }
    }
}

/// The local ufrag a STUN binding request is addressed to, if the datagram
/// is one with a USERNAME attribute.
pub fn stun_username(datagram: &[u8]) -> Option<&str> {
    let header = datagram.get(..STUN_HEADER)?;
    let kind = u16::from_be_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if kind != STUN_BINDING_REQUEST || header[4..8] != STUN_MAGIC || len % 4 != 0 {
        return None;
    }
    let mut attrs = datagram.get(STUN_HEADER..STUN_HEADER + len)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + len)?;
        if kind == STUN_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split_once(':').map(|(local, _)| local);
        }
        let padded = 4 + len.div_ceil(4) * 4;
        attrs = attrs.get(padded..)?;
    }
    None
}

/// Whether a STUN message carries a MESSAGE-INTEGRITY made with `password`
/// (RFC 8489 section 14.5: HMAC-SHA1 over the message before the attribute,
/// with the header length counting up to the attribute's end).
pub fn stun_authentic(datagram: &[u8], password: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some(mut attrs) = datagram.get(STUN_HEADER..) else {
        return false;
    };
    let mut offset = STUN_HEADER;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        if kind == STUN_MESSAGE_INTEGRITY {
            let Some(mac) = attrs.get(4..4 + MESSAGE_INTEGRITY_LEN) else {
                return false;
            };
            if len != MESSAGE_INTEGRITY_LEN {
                return false;
            }
            let covered_len = (offset + 4 + MESSAGE_INTEGRITY_LEN - STUN_HEADER) as u16;
            let Ok(mut h) = Hmac::<sha1::Sha1>::new_from_slice(password.as_bytes()) else {
                return false;
            };
            h.update(&datagram[..2]);
            h.update(&covered_len.to_be_bytes());
            h.update(&datagram[4..offset]);
            return h.verify_slice(mac).is_ok();
        }
        let padded = 4 + len.div_ceil(4) * 4;
        offset += padded;
        let Some(rest) = attrs.get(padded..) else {
            return false;
        };
        attrs = rest;
    }
    false
}

/// A binding request as a client sends it (USERNAME, PRIORITY,
/// MESSAGE-INTEGRITY, FINGERPRINT): for tests and benchmarks of the routing.
pub fn signed_binding_request(username: &str, password: &str) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&STUN_USERNAME.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    // An attribute (PRIORITY) after the padded username.
    attrs.extend_from_slice(&[0x00, 0x24, 0, 4, 1, 2, 3, 4]);
    let mut d = Vec::new();
    d.extend_from_slice(&STUN_BINDING_REQUEST.to_be_bytes());
    d.extend_from_slice(&((attrs.len() + 24) as u16).to_be_bytes());
    d.extend_from_slice(&STUN_MAGIC);
    d.extend_from_slice(&[7; 12]);
    d.extend_from_slice(&attrs);
    let mut h = Hmac::<sha1::Sha1>::new_from_slice(password.as_bytes())
        .expect("HMAC takes a key of any length");
    h.update(&d);
    d.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    d.extend_from_slice(&h.finalize().into_bytes());
    // FINGERPRINT follows and is not covered (its value is not checked here).
    let with_fingerprint = (d.len() - STUN_HEADER + 8) as u16;
    d[2..4].copy_from_slice(&with_fingerprint.to_be_bytes());
    d.extend_from_slice(&[0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4]);
    d
}

/// The routing tables of one UDP socket.
#[derive(Debug)]
pub struct Demux<K> {
    by_addr: HashMap<SocketAddr, K>,
    /// Our ufrag to the peer and its ICE password.
    by_ufrag: HashMap<String, (K, String)>,
    addrs: HashMap<K, Vec<SocketAddr>>,
}

impl<K: Copy + Eq + Hash> Default for Demux<K> {
    fn default() -> Self {
        Demux {
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            addrs: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Demux<K> {
    /// A peer that will answer to binding requests for `ufrag` signed with
    /// `password`.
    pub fn insert(&mut self, peer: K, ufrag: &str, password: &str) {
        self.by_ufrag
            .insert(ufrag.to_owned(), (peer, password.to_owned()));
        self.addrs.entry(peer).or_default();
    }

    pub fn remove(&mut self, peer: K, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        for addr in self.addrs.remove(&peer).unwrap_or_default() {
            self.by_addr.remove(&addr);
        }
    }

    /// A peer's credentials changed (ICE restart).
    pub fn rename(&mut self, peer: K, old: &str, new: &str, password: &str) {
        self.by_ufrag.remove(old);
        self.by_ufrag
            .insert(new.to_owned(), (peer, password.to_owned()));
    }

    pub fn peers(&self) -> usize {
        self.by_ufrag.len()
    }

    pub fn addresses(&self) -> usize {
        self.by_addr.len()
    }

    /// The peer `datagram` from `source` is for.
    pub fn route(&mut self, source: SocketAddr, datagram: &[u8]) -> Result<K, Drop> {
        let class = classify(datagram);
        if class == Class::Other {
            return Err(Drop::NotWebrtc);
        }
        if class == Class::Stun {
            // A binding request always goes by its username, so a peer
            // whose address moved to another peer's old one is still found.
            let ufrag = stun_username(datagram).ok_or(Drop::BadStun)?;
            let (peer, password) = self.by_ufrag.get(ufrag).ok_or(Drop::UnknownUfrag)?;
            if !stun_authentic(datagram, password) {
                return Err(Drop::BadStunAuth);
            }
            let peer = *peer;
            self.learn(peer, source);
            return Ok(peer);
        }
        self.by_addr
            .get(&source)
            .copied()
            .ok_or(Drop::UnknownSource)
    }

    fn learn(&mut self, peer: K, source: SocketAddr) {
        match self.by_addr.insert(source, peer) {
            Some(previous) if previous == peer => return,
            Some(previous) => {
                if let Some(list) = self.addrs.get_mut(&previous) {
                    list.retain(|a| *a != source);
                }
            }
            None => {}
        }
        let list = self.addrs.entry(peer).or_default();
        list.push(source);
        if list.len() > MAX_ADDRS_PER_PEER {
            let oldest = list.remove(0);
            self.by_addr.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "the-ice-password-of-the-peer";

    fn binding_request(username: &str) -> Vec<u8> {
        signed_binding_request(username, PASS)
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn reads_the_local_ufrag() {
        assert_eq!(stun_username(&binding_request("srv1:cli")), Some("srv1"));
        assert_eq!(stun_username(&binding_request("odd:")), Some("odd"));
        assert_eq!(stun_username(&binding_request("nocolon")), None);
        let mut truncated = binding_request("srv1:cli");
        truncated.truncate(30);
        assert_eq!(stun_username(&truncated), None);
        let mut response = binding_request("srv1:cli");
        response[0] = 0x01; // 0x0101: binding success response
        assert_eq!(stun_username(&response), None);
    }

    #[test]
    fn learns_addresses_from_binding_requests() {
        let mut d = Demux::default();
        d.insert(1u32, "aaaa", PASS);
        d.insert(2u32, "bbbb", PASS);
        let rtp = [0x80, 96, 0, 1];
        assert_eq!(d.route(addr(5000), &rtp), Err(Drop::UnknownSource));
        assert_eq!(d.route(addr(5000), &binding_request("bbbb:x")), Ok(2));
        assert_eq!(d.route(addr(5000), &rtp), Ok(2));
        assert_eq!(d.route(addr(5000), &[22, 254, 253]), Ok(2), "DTLS");
        assert_eq!(
            d.route(addr(5001), &binding_request("cccc:x")),
            Err(Drop::UnknownUfrag)
        );
        assert_eq!(d.route(addr(5001), &[0x50]), Err(Drop::NotWebrtc));
        assert_eq!(d.route(addr(5001), &[0, 1, 0]), Err(Drop::BadStun));
        assert_eq!(d.route(addr(5001), &[]), Err(Drop::NotWebrtc));
    }

    #[test]
    fn an_address_taken_over_moves_to_the_new_peer() {
        let mut d = Demux::default();
        d.insert(1u32, "aaaa", PASS);
        d.insert(2u32, "bbbb", PASS);
        d.route(addr(5000), &binding_request("aaaa:x")).unwrap();
        d.route(addr(5000), &binding_request("bbbb:x")).unwrap();
        assert_eq!(d.route(addr(5000), &[0x80]), Ok(2));
        d.remove(1, "aaaa");
        assert_eq!(d.route(addr(5000), &[0x80]), Ok(2), "not removed with 1");
        d.remove(2, "bbbb");
        assert_eq!(d.addresses(), 0);
        assert_eq!(d.peers(), 0);
    }

    #[test]
    fn addresses_per_peer_are_bounded() {
        let mut d = Demux::default();
        d.insert(1u32, "aaaa", PASS);
        for port in 0..100 {
            d.route(addr(port), &binding_request("aaaa:x")).unwrap();
        }
        assert_eq!(d.addresses(), MAX_ADDRS_PER_PEER);
        assert_eq!(d.route(addr(99), &[0x80]), Ok(1));
        assert_eq!(d.route(addr(0), &[0x80]), Err(Drop::UnknownSource));
    }

    #[test]
    fn a_forged_request_teaches_nothing() {
        let mut d = Demux::default();
        d.insert(1u32, "aaaa", PASS);
        d.route(addr(1), &binding_request("aaaa:x")).unwrap();
        for port in 2..10 {
            assert_eq!(
                d.route(addr(port), &signed_binding_request("aaaa:x", "guessed")),
                Err(Drop::BadStunAuth)
            );
        }
        let mut flipped = binding_request("aaaa:x");
        let n = flipped.len();
        flipped[n - 20] ^= 1; // inside the MAC
        assert_eq!(d.route(addr(11), &flipped), Err(Drop::BadStunAuth));
        assert_eq!(d.route(addr(1), &[0x80]), Ok(1), "the real address stays");
        assert_eq!(d.addresses(), 1);
    }

    #[test]
    fn ice_restart_renames() {
        let mut d = Demux::default();
        d.insert(1u32, "old0", PASS);
        d.rename(1, "old0", "new0", PASS);
        assert_eq!(
            d.route(addr(1), &binding_request("old0:x")),
            Err(Drop::UnknownUfrag)
        );
        assert_eq!(d.route(addr(1), &binding_request("new0:x")), Ok(1));
    }
}
