//! CPU cost of forwarding: one publisher (three simulcast layers and Opus)
//! to N subscribers per room, over real UDP on loopback, through the real
//! media node. Reports worker CPU microseconds per forwarded packet (the
//! workers' thread CPU time over the packets they wrote to subscribers),
//! for one worker and for two workers carrying one room each.
//!
//! Then the kernel's floor for the same traffic: the same number of
//! datagrams of the same mean size sent with the workers' own `sendmmsg`
//! batching from one thread to as many loopback sockets, each read by a
//! blocked thread as the simulated subscribers read theirs, and that
//! thread's CPU time per datagram. No SFU can forward a packet on this
//! machine for less.
//!
//! `cargo run --release -p bench --bin sfu-forward -- [subscribers] [seconds]`

// The media tests' harness: a node on loopback whose offers are answered by
// the simulated participants, the way the signalling service will.
#[path = "../../../media/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{test_config, Sfu};
use media::node::Config;
use proto::sfu::Role;
use simpeer::Options;

struct Run {
    rooms: usize,
    forwarded: f64,
    cpu_seconds: f64,
    wall: Duration,
    /// Mean size of the datagrams the workers sent.
    datagram_bytes: f64,
}

impl Run {
    fn packets_per_cpu_second(&self) -> f64 {
        self.forwarded / self.cpu_seconds
    }
}

/// One room name per worker, each landing on a different one.
fn rooms_on_every_worker(sfu: &Sfu, workers: usize) -> Vec<String> {
    let mut rooms: Vec<Option<String>> = vec![None; workers];
    for i in 0.. {
        let name = format!("bench-{i}");
        rooms[sfu.node.worker_of(&name)].get_or_insert(name);
        if rooms.iter().all(Option::is_some) {
            return rooms.into_iter().flatten().collect();
        }
    }
    unreachable!("the loop returns once every worker has a room")
}

async fn run(workers: usize, subscribers: usize, seconds: u64) -> Run {
    let sfu = Sfu::with_config(Config {
        workers,
        room_capacity: subscribers + 1,
        ..test_config()
    })
    .await;
    let rooms = rooms_on_every_worker(&sfu, workers);
    for room in &rooms {
        // Two seconds of video, encoded once and looped.
        let publisher = Options {
            camera: simpeer::SIMULCAST.to_vec(),
            fps: 30,
            prerecorded: Some(60),
            ..Options::default()
        };
        let subscriber = Options {
            decode: false,
            ..Options::default()
        };
        sfu.join(room, "publisher", Role::Host, publisher).await;
        for i in 0..subscribers {
            sfu.watch_with(room, &format!("s{i}"), Role::Viewer, subscriber.clone())
                .await;
        }
    }
    // Let every leg connect and every layer settle before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let sample = || {
        (
            sfu.metric("sfu_forwarded_packets_total"),
            sfu.metric("sfu_worker_cpu_seconds_total"),
        )
    };
    let out = |name| sfu.metric_with(name, "direction", "out");
    let (p0, b0) = (out("sfu_packets_total"), out("sfu_bytes_total"));
    let (f0, c0) = sample();
    let start = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (f1, c1) = sample();
    let wall = start.elapsed();
    let datagram_bytes = (out("sfu_bytes_total") - b0) / (out("sfu_packets_total") - p0);
    for room in &rooms {
        sfu.leave(room, "publisher").await;
        for i in 0..subscribers {
            sfu.leave(room, &format!("s{i}")).await;
        }
    }
    Run {
        rooms: rooms.len(),
        forwarded: f1 - f0,
        cpu_seconds: c1 - c0,
        wall,
        datagram_bytes,
    }
}

/// Sender thread CPU microseconds per datagram for `per_second` datagrams
/// of `bytes` a second, fanned out to `receivers` loopback sockets in
/// bursts of one datagram each, for `seconds`.
fn kernel_floor(receivers: usize, per_second: f64, bytes: usize, seconds: u64) -> f64 {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    let sockets: Vec<UdpSocket> = (0..receivers)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("a loopback socket"))
        .collect();
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    for socket in sockets {
        socket
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("a read timeout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            // Ends when the benchmark exits; a timeout only loops.
            loop {
                let _ = socket.recv_from(&mut buf);
            }
        });
    }
    let sender = UdpSocket::bind("127.0.0.1:0").expect("a loopback socket");
    let burst = Duration::from_secs_f64(receivers as f64 / per_second);
    let mut batch = media::node::batch::Batch::default();
    let (cpu0, start) = (media::node::thread_cpu_seconds(), std::time::Instant::now());
    let mut next = start;
    let mut sent = 0usize;
    while start.elapsed() < Duration::from_secs(seconds) {
        for to in &addrs {
            batch.push(*to, vec![0x80; bytes]);
        }
        sent += batch.flush(sender.as_raw_fd()).datagrams;
        next += burst;
        std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
    }
    (media::node::thread_cpu_seconds() - cpu0) * 1e6 / sent as f64
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    println!(
        "1 publisher (3 simulcast layers + Opus) -> {subscribers} subscribers per room, {seconds}s measured"
    );
    let mut runs = Vec::new();
    for workers in [1, 2] {
        let r = run(workers, subscribers, seconds).await;
        println!(
            "workers {workers}  rooms {}  forwarded {:.0} pkt ({:.0}/s)  worker CPU {:.2}s  =>  {:.2} us/packet",
            r.rooms,
            r.forwarded,
            r.forwarded / r.wall.as_secs_f64(),
            r.cpu_seconds,
            1e6 / r.packets_per_cpu_second()
        );
        runs.push(r);
    }
    let scaling = runs[1].packets_per_cpu_second() * 2.0 / runs[0].packets_per_cpu_second();
    println!(
        "scaling, two workers over one (packets per CPU-second of each worker, times the workers): {scaling:.2}x"
    );
    let one = &runs[0];
    let per_second = one.forwarded / one.wall.as_secs_f64();
    let bytes = one.datagram_bytes.round() as usize;
    let floor = kernel_floor(subscribers, per_second, bytes, seconds);
    println!(
        "kernel floor: {per_second:.0} datagrams/s of {bytes} bytes to {subscribers} loopback sockets, \
         sendmmsg from one thread  =>  {floor:.2} us/datagram ({:.0} % of the SFU's cost)",
        100.0 * floor * one.packets_per_cpu_second() / 1e6
    );
}
