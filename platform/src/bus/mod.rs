//! The bus: best-effort publish/subscribe for live events, and durable streams
//! with consumer groups for what must not be lost (presence reports,
//! notifications). In-process by default; Redis (pub/sub and Streams) when
//! `REDIS_URL` is set. Both give the same guarantees:
//!
//! - `publish` reaches the subscribers connected at that moment, no one else.
//! - `append` stores an entry; `read` hands each entry to one consumer of a
//!   group; an entry not acknowledged within `redeliver_after` is handed out
//!   again (at-least-once), so consumers must be idempotent.
//! - A group created after entries were appended still receives them.
//! - A stream keeps its newest `STREAM_RETENTION` entries (Redis trims
//!   approximately, at least that many), acknowledged or not, because a group
//!   created later may still want them.

mod memory;
mod redis;

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

pub use self::memory::MemoryBus;
pub use self::redis::RedisBus;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}

pub const STREAM_RETENTION: usize = 100_000;

/// A live subscription; yields payloads in publish order.
pub type Subscription = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// An entry read from a durable stream. `id` is what `ack` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub payload: Bytes,
}

/// Where and how long a consumer reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    pub group: &'a str,
    pub consumer: &'a str,
    pub max: usize,
    /// How long to wait when nothing is available; zero returns at once.
    pub block: Duration,
}

#[derive(Clone)]
pub enum Bus {
    Memory(MemoryBus),
    Redis(RedisBus),
}

impl Bus {
    /// Entries unacknowledged this long are handed out again.
    pub const DEFAULT_REDELIVER_AFTER: Duration = Duration::from_secs(30);

    /// Redis when a URL is given, else the in-process bus.
    pub async fn connect(
        redis_url: Option<&str>,
        redeliver_after: Duration,
    ) -> Result<Bus, BusError> {
        Ok(match redis_url {
            Some(url) => Bus::Redis(RedisBus::connect(url, redeliver_after).await?),
            None => Bus::Memory(MemoryBus::new(redeliver_after)),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Bus::Memory(_) => "in-process",
            Bus::Redis(_) => "redis",
        }
    }

    pub async fn publish(&self, topic: &str, payload: impl Into<Bytes>) -> Result<(), BusError> {
        match self {
            Bus::Memory(b) => {
                b.publish(topic, payload.into());
                Ok(())
            }
            Bus::Redis(b) => b.publish(topic, payload.into()).await,
        }
    }

    /// Subscribes; messages published after this returns are received.
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        match self {
            Bus::Memory(b) => Ok(b.subscribe(topic)),
            Bus::Redis(b) => b.subscribe(topic).await,
        }
    }

    /// Appends to a durable stream and returns the entry id.
    pub async fn append(
        &self,
        stream: &str,
        payload: impl Into<Bytes>,
    ) -> Result<String, BusError> {
        match self {
            Bus::Memory(b) => Ok(b.append(stream, payload.into())),
            Bus::Redis(b) => b.append(stream, payload.into()).await,
        }
    }

    /// Entries for this consumer: first any whose delivery timed out, then new ones.
    pub async fn read(&self, stream: &str, opts: ReadOptions<'_>) -> Result<Vec<Entry>, BusError> {
        match self {
            Bus::Memory(b) => Ok(b.read(stream, opts).await),
            Bus::Redis(b) => b.read(stream, opts).await,
        }
    }

    pub async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        match self {
            Bus::Memory(b) => {
                b.ack(stream, group, ids);
                Ok(())
            }
            Bus::Redis(b) => b.ack(stream, group, ids).await,
        }
    }

    pub async fn ping(&self) -> Result<(), BusError> {
        match self {
            Bus::Memory(_) => Ok(()),
            Bus::Redis(b) => b.ping().await,
        }
    }
}
