//! The in-process bus: the same contract as Redis, for the one-process default.
//! Streams live in memory, so they survive a consumer's restart but not the
//! process's; that is the embedded default's trade-off.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tokio_stream::wrappers::BroadcastStream;

use super::{Entry, ReadOptions, Subscription};

/// A subscriber more than this many messages behind loses the oldest ones,
/// as a slow Redis pub/sub client would be disconnected.
const TOPIC_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

struct Inner {
    redeliver_after: Duration,
    topics: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    streams: Mutex<HashMap<String, StreamState>>,
    appended: Notify,
}

#[derive(Default)]
struct StreamState {
    next_seq: u64,
    entries: BTreeMap<u64, Bytes>,
    groups: HashMap<String, Group>,
}

#[derive(Default)]
struct Group {
    /// Highest sequence handed out to this group.
    delivered: u64,
    /// Handed out, not yet acknowledged: sequence -> when.
    pending: BTreeMap<u64, Instant>,
}

impl MemoryBus {
    pub fn new(redeliver_after: Duration) -> Self {
        MemoryBus {
            inner: Arc::new(Inner {
                redeliver_after,
                topics: Mutex::default(),
                streams: Mutex::default(),
                appended: Notify::new(),
            }),
        }
    }

    pub fn publish(&self, topic: &str, payload: Bytes) {
        let topics = self.inner.topics.lock().expect("bus lock");
        if let Some(tx) = topics.get(topic) {
            // No receiver is not an error: pub/sub reaches whoever listens now.
            let _ = tx.send(payload);
        }
    }

    pub fn subscribe(&self, topic: &str) -> Subscription {
        let mut topics = self.inner.topics.lock().expect("bus lock");
        let rx = topics
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe();
        Box::pin(BroadcastStream::new(rx).filter_map(|m| async move { m.ok() }))
    }

    pub fn append(&self, stream: &str, payload: Bytes) -> String {
        let mut streams = self.inner.streams.lock().expect("bus lock");
        let s = streams.entry(stream.to_owned()).or_default();
        s.next_seq += 1;
        let seq = s.next_seq;
        s.entries.insert(seq, payload);
        if s.entries.len() > super::STREAM_RETENTION {
            if let Some((gone, _)) = s.entries.pop_first() {
                for g in s.groups.values_mut() {
                    g.pending.remove(&gone);
                }
            }
        }
        drop(streams);
        self.inner.appended.notify_waiters();
        seq.to_string()
    }

    pub async fn read(&self, stream: &str, opts: ReadOptions<'_>) -> Vec<Entry> {
        let deadline = Instant::now() + opts.block;
        loop {
            // Register interest before looking, so an append in between wakes us.
            let notified = self.inner.appended.notified();
            let found = self.take(stream, &opts);
            if !found.is_empty() {
                return found;
            }
            let now = Instant::now();
            if now >= deadline {
                return found;
            }
            // Wake for appends, and in time for a pending entry to come due.
            let wait = (deadline - now).min(self.inner.redeliver_after);
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }

    fn take(&self, stream: &str, opts: &ReadOptions<'_>) -> Vec<Entry> {
        let now = Instant::now();
        let mut streams = self.inner.streams.lock().expect("bus lock");
        let s = streams.entry(stream.to_owned()).or_default();
        let group = s.groups.entry(opts.group.to_owned()).or_default();
        let mut out = Vec::new();
        for (seq, at) in group.pending.iter_mut() {
            if out.len() == opts.max {
                break;
            }
            if now.duration_since(*at) >= self.inner.redeliver_after {
                if let Some(payload) = s.entries.get(seq) {
                    *at = now;
                    out.push(Entry {
                        id: seq.to_string(),
                        payload: payload.clone(),
                    });
                }
            }
        }
        if !out.is_empty() {
            return out;
        }
        for (seq, payload) in s.entries.range(group.delivered + 1..).take(opts.max) {
            group.pending.insert(*seq, now);
            group.delivered = *seq;
            out.push(Entry {
                id: seq.to_string(),
                payload: payload.clone(),
            });
        }
        out
    }

    pub fn ack(&self, stream: &str, group: &str, ids: &[String]) {
        let mut streams = self.inner.streams.lock().expect("bus lock");
        let Some(s) = streams.get_mut(stream) else {
            return;
        };
        let Some(g) = s.groups.get_mut(group) else {
            return;
        };
        for id in ids {
            if let Ok(seq) = id.parse::<u64>() {
                g.pending.remove(&seq);
            }
        }
    }
}
