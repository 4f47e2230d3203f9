//! The bus on Redis: PUBLISH/SUBSCRIBE for live events, Streams with consumer
//! groups (XADD, XREADGROUP, XAUTOCLAIM, XACK) for durable ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::{AsyncCommands, Client, RedisError, Value};

use super::{BusError, Entry, ReadOptions, Subscription};

const PAYLOAD_FIELD: &str = "p";

#[derive(Clone)]
pub struct RedisBus {
    client: Client,
    conn: ConnectionManager,
    /// Blocking reads hold their connection for the whole wait, so they get
    /// connections of their own, kept for reuse.
    blocking: Arc<Mutex<Vec<MultiplexedConnection>>>,
    redeliver_after: Duration,
}

impl RedisBus {
    pub async fn connect(url: &str, redeliver_after: Duration) -> Result<Self, BusError> {
        let client = Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(RedisBus {
            client,
            conn,
            blocking: Arc::default(),
            redeliver_after,
        })
    }

    pub async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError> {
        let _: i64 = self.conn.clone().publish(topic, payload.as_ref()).await?;
        Ok(())
    }

    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(topic).await?;
        Ok(Box::pin(
            pubsub
                .into_on_message()
                .map(|m| Bytes::copy_from_slice(m.get_payload_bytes())),
        ))
    }

    pub async fn append(&self, stream: &str, payload: Bytes) -> Result<String, BusError> {
        let id: String = redis::cmd("XADD")
            .arg(stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(super::STREAM_RETENTION)
            .arg("*")
            .arg(PAYLOAD_FIELD)
            .arg(payload.as_ref())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(id)
    }

    pub async fn read(&self, stream: &str, opts: ReadOptions<'_>) -> Result<Vec<Entry>, BusError> {
        let mut conn = self.conn.clone();
        self.ensure_group(&mut conn, stream, opts.group).await?;
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(stream)
            .arg(opts.group)
            .arg(opts.consumer)
            .arg(millis(self.redeliver_after))
            .arg("0-0")
            .arg("COUNT")
            .arg(opts.max)
            .query_async(&mut conn)
            .await?;
        if !claimed.claimed.is_empty() {
            return self.usable(stream, opts.group, claimed.claimed).await;
        }
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(opts.group)
            .arg(opts.consumer)
            .arg("COUNT")
            .arg(opts.max);
        if !opts.block.is_zero() {
            cmd.arg("BLOCK").arg(millis(opts.block));
        }
        cmd.arg("STREAMS").arg(stream).arg(">");
        let reply: Option<StreamReadReply> = if opts.block.is_zero() {
            cmd.query_async(&mut conn).await?
        } else {
            let mut blocking = self.checkout().await?;
            let reply = cmd.query_async(&mut blocking).await;
            if reply.is_ok() {
                self.blocking.lock().expect("pool lock").push(blocking);
            }
            reply?
        };
        let ids = reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default();
        self.usable(stream, opts.group, ids).await
    }

    /// Entries with a payload. One without (written by something else) is
    /// acknowledged and skipped, or it would be redelivered forever.
    async fn usable(
        &self,
        stream: &str,
        group: &str,
        ids: Vec<StreamId>,
    ) -> Result<Vec<Entry>, BusError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut malformed = Vec::new();
        for id in ids {
            match id.map.get(PAYLOAD_FIELD) {
                Some(Value::BulkString(b)) => out.push(Entry {
                    payload: Bytes::copy_from_slice(b),
                    id: id.id,
                }),
                _ => malformed.push(id.id),
            }
        }
        if !malformed.is_empty() {
            tracing::warn!(stream, entries = ?malformed, "skipping stream entries without a payload");
            self.ack(stream, group, &malformed).await?;
        }
        Ok(out)
    }

    pub async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: i64 = self.conn.clone().xack(stream, group, ids).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), BusError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn ensure_group(
        &self,
        conn: &mut ConnectionManager,
        stream: &str,
        group: &str,
    ) -> Result<(), BusError> {
        // From id 0 with MKSTREAM: a group created late still sees earlier entries.
        let created: Result<Value, RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(conn)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other.map(drop).map_err(Into::into),
        }
    }

    async fn checkout(&self) -> Result<MultiplexedConnection, BusError> {
        let pooled = self.blocking.lock().expect("pool lock").pop();
        match pooled {
            Some(c) => Ok(c),
            None => Ok(self.client.get_multiplexed_async_connection().await?),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
