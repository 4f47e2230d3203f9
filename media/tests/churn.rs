//! 200 participants join and leave a room one after another: afterwards the
//! node holds exactly what the remaining participant needs, the process has
//! no thread of a departed participant, and live heap memory has grown less than a
//! stated bound. Heap is counted by a wrapping allocator rather than read
//! from RSS, which per-thread malloc arenas inflate without any leak.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

mod common;

use std::time::Duration;

use common::Sfu;
use proto::sfu::{Role, Source};
use simpeer::Options;

const CYCLES: usize = 200;
const WARM_UP: usize = 20;
/// Live heap the whole process (node, simulated clients, event log) may
/// gain per cycle. Leaking one peer's state per cycle (str0m's buffers
/// alone are over 100 KB) would exceed it many times over.
const HEAP_PER_CYCLE_KB: i64 = 24;
/// What the long-lived participant's own leg on the SFU may gain per
/// guest that came and went: the guest's m-line stays in the session,
/// stopped, as RFC 8829 requires until the slot is recycled.
const LEG_PER_CYCLE_KB: i64 = 4;

/// Threads of this process whose name starts with `prefix` (the runtime's
/// own blocking threads come and go on their own schedule).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_cycles_leak_nothing() {
    let sfu = Sfu::start(1).await;
    let host = sfu
        .join(
            "churn",
            "host",
            Role::Host,
            Options {
                camera: vec![],
                ..Options::default()
            },
        )
        .await;
    let guest = || Options {
        camera: vec![],
        microphone: true,
        ..Options::default()
    };
    let mut baseline = 0;
    for i in 0..CYCLES + WARM_UP {
        if i == WARM_UP {
            tokio::time::sleep(Duration::from_millis(500)).await;
            baseline = LIVE.load(Ordering::Relaxed);
        }
        let name = format!("guest-{i}");
        let peer = sfu.join("churn", &name, Role::Participant, guest()).await;
        let mic = sfu.track_of(&name, Source::Microphone).await;
        // The host hears the guest before the guest goes.
        host.wait_for(Duration::from_secs(10), |s| {
            s.tracks.get(&mic).is_some_and(|r| r.audio_frames > 0)
        })
        .unwrap_or_else(|s| panic!("cycle {i}: host got {:?}", s.tracks.keys()));
        sfu.leave("churn", &name).await;
        drop(peer);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = sfu.node.counts().await;
    assert_eq!(counts.rooms, 1);
    assert_eq!(counts.peers, 1, "only the host");
    assert_eq!(counts.demux_peers, 1);
    assert!(counts.demux_addresses <= 1, "{counts:?}");
    assert_eq!(counts.timers, 1);
    assert_eq!(counts.presence, 1, "left guests are reported and forgotten");
    let heap = (LIVE.load(Ordering::Relaxed) - baseline) / 1024;
    println!("after {CYCLES} cycles: live heap {heap:+} KB");
    assert!(
        heap < HEAP_PER_CYCLE_KB * CYCLES as i64,
        "live heap grew {heap} KB"
    );
    assert_eq!(threads_named("simpeer"), 1, "every guest's thread ended");
    assert_eq!(threads_named("sfu-worker"), 1);
    assert_eq!(sfu.metric("sfu_participants"), 1.0);

    // What the host's leg held is freed when the host leaves, and the node
    // is empty again.
    let before = LIVE.load(Ordering::Relaxed);
    sfu.leave("churn", "host").await;
    let counts = sfu.node.counts().await;
    let leg = (before - LIVE.load(Ordering::Relaxed)) / 1024;
    println!("the host's leg held {leg} KB");
    assert!(leg < LEG_PER_CYCLE_KB * CYCLES as i64, "leg held {leg} KB");
    assert_eq!(
        counts,
        media::node::Counts {
            presence: 1,
            ..Default::default()
        },
        "only the final report is pending"
    );
    drop(host);
}
