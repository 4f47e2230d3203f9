//! Outgoing datagrams collected while a burst of input is handled, then
//! handed to the kernel with one `sendmmsg` call per 64: one packet in fans
//! out to every subscriber, and a system call per copy would cost more than
//! everything else the worker does for it.

use std::net::SocketAddr;
use std::os::fd::RawFd;

/// Datagrams per `sendmmsg` call.
const CHUNK: usize = 64;

#[derive(Default)]
pub struct Batch {
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

/// The kernel's view of one chunk; it points into the queued datagrams, so
/// it lives only for the duration of one flush.
struct Chunk {
    addrs: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub datagrams: usize,
    pub bytes: usize,
    /// Refused by the kernel (full buffer, unreachable address).
    pub failed: usize,
}

impl Batch {
    pub fn push(&mut self, to: SocketAddr, datagram: Vec<u8>) {
        self.datagrams.push((to, datagram));
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// Sends everything queued on `fd`; the queue is empty afterwards.
    pub fn flush(&mut self, fd: RawFd) -> Sent {
        let mut sent = Sent::default();
        let mut chunk = Chunk {
            addrs: Vec::with_capacity(CHUNK),
            iovecs: Vec::with_capacity(CHUNK),
            headers: Vec::with_capacity(CHUNK),
        };
        let mut start = 0;
        while start < self.datagrams.len() {
            let end = (start + CHUNK).min(self.datagrams.len());
            chunk.prepare(&mut self.datagrams[start..end]);
            // SAFETY: `headers` points into `iovecs`, `addrs` and the queued
            // datagrams, all alive and unmoved until this call returns.
            let n =
                unsafe { libc::sendmmsg(fd, chunk.headers.as_mut_ptr(), (end - start) as u32, 0) };
            if n <= 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // The first datagram of the chunk is refused: count it and
                // go on with the next, so one bad address cannot stall the rest.
                tracing::debug!(error = %e, to = %self.datagrams[start].0, "sendmmsg");
                sent.failed += 1;
                start += 1;
                continue;
            }
            let n = n as usize;
            sent.datagrams += n;
            sent.bytes += self.datagrams[start..start + n]
                .iter()
                .map(|(_, d)| d.len())
                .sum::<usize>();
            start += n;
        }
        self.datagrams.clear();
        sent
    }
}

impl Chunk {
    fn prepare(&mut self, datagrams: &mut [(SocketAddr, Vec<u8>)]) {
        self.addrs.clear();
        self.iovecs.clear();
        self.headers.clear();
        for (to, datagram) in datagrams.iter_mut() {
            self.addrs.push(sockaddr(*to));
            self.iovecs.push(libc::iovec {
                iov_base: datagram.as_mut_ptr().cast(),
                iov_len: datagram.len(),
            });
        }
        for (i, (to, _)) in datagrams.iter().enumerate() {
            // SAFETY: an all-zero msghdr is a valid empty header.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = match to {
                SocketAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
                SocketAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
            } as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iovecs[i];
            h.msg_hdr.msg_iovlen = 1;
            self.headers.push(h);
        }
    }
}

fn sockaddr(addr: SocketAddr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
        }
    }
    storage
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_datagram_arrives_whole_and_in_order() {
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&a, &b] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        }
        let mut batch = Batch::default();
        // More than one chunk, to two destinations.
        for i in 0..150u32 {
            let to = if i % 2 == 0 { &a } else { &b };
            batch.push(
                to.local_addr().unwrap(),
                i.to_be_bytes().repeat(i as usize % 7 + 1),
            );
        }
        let sent = batch.flush(sender.as_raw_fd());
        assert_eq!(sent.datagrams, 150);
        assert_eq!(sent.failed, 0);
        assert!(batch.is_empty());
        let mut buf = [0u8; 64];
        for (socket, parity) in [(&a, 0), (&b, 1)] {
            for i in (parity..150u32).step_by(2) {
                let n = socket.recv(&mut buf).unwrap();
                assert_eq!(
                    &buf[..n],
                    i.to_be_bytes().repeat(i as usize % 7 + 1).as_slice()
                );
            }
        }
    }

    #[test]
    fn a_refused_datagram_does_not_stop_the_rest() {
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ok = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        ok.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut batch = Batch::default();
        // An IPv6 destination on an IPv4 socket is refused by the kernel.
        batch.push("[::1]:9".parse().unwrap(), vec![1]);
        batch.push(ok.local_addr().unwrap(), vec![2]);
        let sent = batch.flush(sender.as_raw_fd());
        assert_eq!(sent.failed, 1);
        assert_eq!(sent.datagrams, 1);
        let mut buf = [0u8; 4];
        assert_eq!(ok.recv(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], 2);
    }
}
