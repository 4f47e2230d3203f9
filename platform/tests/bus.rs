//! One contract, two buses: every test here runs on the in-process bus and on
//! Redis (`TEST_REDIS_URL`, default redis://127.0.0.1:6379).

use std::time::Duration;

use futures::StreamExt;
use platform::bus::{Bus, ReadOptions};

const REDELIVER: Duration = Duration::from_millis(300);

async fn memory() -> Bus {
    Bus::connect(None, REDELIVER).await.unwrap()
}

async fn redis() -> Bus {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    Bus::connect(Some(&url), REDELIVER)
        .await
        .unwrap_or_else(|e| {
            panic!("Redis at {url} is required for this test (run scripts/test): {e}")
        })
}

/// Stream and topic names unique to one test run, so runs never share state.
fn unique(name: &str) -> String {
    format!("test:{name}:{}", uuid::Uuid::new_v4())
}

fn opts<'a>(group: &'a str, consumer: &'a str, block: Duration) -> ReadOptions<'a> {
    ReadOptions {
        group,
        consumer,
        max: 10,
        block,
    }
}

macro_rules! on_both_buses {
    ($($name:ident),* $(,)?) => {
        mod in_process { $( #[tokio::test] async fn $name() { super::$name(super::memory().await).await } )* }
        mod on_redis { $( #[tokio::test] async fn $name() { super::$name(super::redis().await).await } )* }
    };
}

on_both_buses!(
    publish_reaches_current_subscribers_in_order,
    each_entry_goes_to_one_consumer_of_a_group,
    unacked_entries_are_redelivered_and_acked_ones_are_not,
    a_late_group_sees_earlier_entries,
    a_blocking_read_wakes_on_append,
);

async fn publish_reaches_current_subscribers_in_order(bus: Bus) {
    let topic = unique("topic");
    bus.publish(&topic, "before anyone listens").await.unwrap();
    let mut a = bus.subscribe(&topic).await.unwrap();
    let mut b = bus.subscribe(&topic).await.unwrap();
    for i in 0..3 {
        bus.publish(&topic, format!("m{i}")).await.unwrap();
    }
    for sub in [&mut a, &mut b] {
        for i in 0..3 {
            let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                got,
                format!("m{i}").as_bytes(),
                "in order, and nothing from before subscribing"
            );
        }
    }
}

async fn each_entry_goes_to_one_consumer_of_a_group(bus: Bus) {
    let stream = unique("stream");
    for i in 0..4 {
        bus.append(&stream, format!("e{i}")).await.unwrap();
    }
    let first = bus
        .read(
            &stream,
            ReadOptions {
                max: 2,
                ..opts("g", "c1", Duration::ZERO)
            },
        )
        .await
        .unwrap();
    let second = bus
        .read(&stream, opts("g", "c2", Duration::ZERO))
        .await
        .unwrap();
    let got: Vec<_> = first
        .iter()
        .chain(&second)
        .map(|e| e.payload.clone())
        .collect();
    assert_eq!(got, ["e0", "e1", "e2", "e3"].map(bytes::Bytes::from));
    let again = bus
        .read(&stream, opts("g", "c3", Duration::ZERO))
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "nothing is handed out twice before its redelivery time"
    );
}

async fn unacked_entries_are_redelivered_and_acked_ones_are_not(bus: Bus) {
    let stream = unique("stream");
    bus.append(&stream, "kept").await.unwrap();
    bus.append(&stream, "acked").await.unwrap();
    let got = bus
        .read(&stream, opts("g", "crashed", Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    bus.ack(&stream, "g", &[got[1].id.clone()]).await.unwrap();

    tokio::time::sleep(REDELIVER + Duration::from_millis(200)).await;
    let redelivered = bus
        .read(&stream, opts("g", "restarted", Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(redelivered.len(), 1);
    assert_eq!(redelivered[0].payload, "kept");
    assert_eq!(redelivered[0].id, got[0].id, "the same entry, not a copy");
    bus.ack(&stream, "g", &[redelivered[0].id.clone()])
        .await
        .unwrap();

    tokio::time::sleep(REDELIVER + Duration::from_millis(200)).await;
    assert!(bus
        .read(&stream, opts("g", "restarted", Duration::ZERO))
        .await
        .unwrap()
        .is_empty());
}

async fn a_late_group_sees_earlier_entries(bus: Bus) {
    let stream = unique("stream");
    bus.append(&stream, "early").await.unwrap();
    let a = bus
        .read(&stream, opts("first", "c", Duration::ZERO))
        .await
        .unwrap();
    bus.ack(&stream, "first", &[a[0].id.clone()]).await.unwrap();
    let b = bus
        .read(&stream, opts("second", "c", Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        b.len(),
        1,
        "a group's acknowledgement does not hide entries from another group"
    );
    assert_eq!(b[0].payload, "early");
}

async fn a_blocking_read_wakes_on_append(bus: Bus) {
    let stream = unique("stream");
    // Create the group first so the append below is "new" for it.
    assert!(bus
        .read(&stream, opts("g", "c", Duration::ZERO))
        .await
        .unwrap()
        .is_empty());
    let reader = {
        let bus = bus.clone();
        let stream = stream.clone();
        tokio::spawn(async move {
            bus.read(&stream, opts("g", "c", Duration::from_secs(10)))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    bus.append(&stream, "wake").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(8), reader)
        .await
        .expect("read returned before its block time")
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, "wake");
}

/// Something else wrote to our stream: the entry is skipped and acknowledged
/// rather than stalling the group forever.
#[tokio::test]
async fn on_redis_an_entry_without_payload_is_skipped_not_stalling() {
    let bus = redis().await;
    let stream = unique("stream");
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut conn = ::redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: String = ::redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("other")
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    bus.append(&stream, "good").await.unwrap();
    let got = bus
        .read(&stream, opts("g", "c", Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
        ["good"]
    );
    bus.ack(&stream, "g", &[got[0].id.clone()]).await.unwrap();
    tokio::time::sleep(REDELIVER + Duration::from_millis(200)).await;
    assert!(
        bus.read(&stream, opts("g", "c", Duration::ZERO))
            .await
            .unwrap()
            .is_empty(),
        "nothing left pending"
    );
}
