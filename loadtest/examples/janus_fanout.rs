//! Janus's CPU per forwarded packet in the fan-out scenario, measured with
//! the Janus target alone: one publisher (three simulcast layers and Opus,
//! two seconds of video encoded once and looped, as `bench`'s sfu-forward)
//! to N subscribers that count without decoding, on a Janus of our own
//! (or the one at `$JANUS_URL`, with its process id in `$JANUS_PID`).
//!
//! Janus's process CPU (utime + stime from `/proc/<pid>/stat`) over a window
//! after a warm-up, divided by the RTP packets all subscribers received in
//! it; its RSS growth from before the joins, per subscriber.
//!
//! `cargo run --release -p loadtest --example janus_fanout -- [subscribers] [seconds]`

use std::time::{Duration, Instant};

use loadtest::janus::{Janus, JanusServer, RoomConfig};
use simpeer::{Options, Size, SIMULCAST};

/// What the subscribers ask for: the middle layer.
const WANTED: Size = SIMULCAST[1].1;

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th of them.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat has a command")
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // SAFETY: sysconf reads a constant of the system.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let (_server, url, pid) = match (std::env::var("JANUS_URL"), std::env::var("JANUS_PID")) {
        (Ok(url), Ok(pid)) => (None, url, pid.parse().expect("JANUS_PID")),
        _ => {
            let server = JanusServer::start().await.expect("janus starts");
            let (url, pid) = (server.url().to_owned(), server.pid());
            (Some(server), url, pid)
        }
    };
    println!("janus pid {pid} at {url}: 1 publisher (3 simulcast layers + Opus) -> {subscribers} subscribers at {}x{}, {seconds}s measured", WANTED.width, WANTED.height);
    let janus = Janus::connect(&url).await.expect("connect");
    let room = janus
        .create_room(RoomConfig { publishers: 1 })
        .await
        .expect("room");
    let rss_before = rss_kib(pid);
    let publisher = Options {
        camera: SIMULCAST.to_vec(),
        fps: 30,
        prerecorded: Some(60),
        ..Options::default()
    };
    let publisher = janus
        .publish(room, "publisher", publisher)
        .await
        .expect("publish");
    let feed = publisher.feed().expect("feed").clone();
    let options = Options {
        decode: false,
        ..Options::default()
    };
    let mut subs = Vec::new();
    for _ in 0..subscribers {
        subs.push(
            janus
                .subscribe(room, &feed, WANTED, options.clone())
                .await
                .expect("subscribe"),
        );
    }
    // Every leg connected and every layer settled before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let received = || subs.iter().map(|s| s.stats().rtp_received).sum::<u64>();
    let (p0, c0) = (received(), cpu_seconds(pid));
    let start = Instant::now();
    println!("measuring from now for {seconds}s (e.g. perf record -g -p {pid} -- sleep {seconds})");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (p1, c1, wall) = (received(), cpu_seconds(pid), start.elapsed());
    let rss_after = rss_kib(pid);
    let packets = (p1 - p0) as f64;
    let connected = subs.iter().filter(|s| s.stats().connected).count();
    println!(
        "{connected}/{subscribers} connected  received {packets:.0} pkt ({:.0}/s)  janus CPU {:.2}s  =>  {:.2} us/packet  RSS +{} KiB ({:.0} KiB/subscriber)",
        packets / wall.as_secs_f64(),
        c1 - c0,
        (c1 - c0) * 1e6 / packets,
        rss_after.saturating_sub(rss_before),
        rss_after.saturating_sub(rss_before) as f64 / subscribers as f64,
    );
    for s in subs {
        let _ = s.leave().await;
    }
    let _ = publisher.leave().await;
    let _ = janus.destroy_room(room).await;
}
