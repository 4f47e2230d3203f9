//! The internal API over the bus, for a signalling service in another
//! process: calls go on the node's durable request stream, answers come
//! back on the caller's own reply topic, room events on `EVENTS_TOPIC`.
//! A call carries its deadline, so a node that comes back after an outage
//! skips calls nobody waits for any more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use platform::bus::{Bus, ReadOptions};
use proto::sfu::{Event, Join, Request, Sdp, SfuError, Welcome};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::relay::EVENTS_TOPIC;
use super::Node;

/// How long a caller waits for a node's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const GROUP: &str = "sfu";

pub fn request_stream(node: &str) -> String {
    format!("sfu.{node}.requests")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
enum Call {
    Join(Join),
    Request {
        room: String,
        participant: String,
        request: Request,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    id: String,
    reply_to: String,
    /// Unix milliseconds after which nobody waits for the answer.
    deadline_ms: i64,
    call: Call,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
enum Answer {
    Welcome(Welcome),
    Sdp(Option<Sdp>),
}

#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    id: String,
    result: Result<Answer, SfuError>,
}

/// Serves the node's request stream until the bus fails for good.
pub async fn serve(bus: Bus, node: Arc<Node>, name: String) {
    let stream = request_stream(&name);
    loop {
        let opts = ReadOptions {
            group: GROUP,
            consumer: &name,
            max: 64,
            block: Duration::from_secs(1),
        };
        let entries = match bus.read(&stream, opts).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "reading SFU requests; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for entry in entries {
            match serde_json::from_slice::<Envelope>(&entry.payload) {
                Ok(envelope) if envelope.deadline_ms >= super::unix_ms() => {
                    answer(&bus, &node, envelope).await;
                }
                Ok(_) => tracing::debug!("skipped an expired SFU call"),
                Err(e) => tracing::warn!(error = %e, "malformed SFU call dropped"),
            }
            if let Err(e) = bus.ack(&stream, GROUP, &[entry.id]).await {
                tracing::warn!(error = %e, "SFU call not acknowledged");
            }
        }
    }
}

async fn answer(bus: &Bus, node: &Node, envelope: Envelope) {
    let result = match envelope.call {
        Call::Join(join) => node.join(join).await.map(Answer::Welcome),
        Call::Request {
            room,
            participant,
            request,
        } => node
            .request(&room, &participant, request)
            .await
            .map(Answer::Sdp),
    };
    let reply = Reply {
        id: envelope.id,
        result,
    };
    match serde_json::to_vec(&reply) {
        Ok(json) => {
            if let Err(e) = bus.publish(&envelope.reply_to, json).await {
                tracing::warn!(error = %e, "SFU answer not published");
            }
        }
        Err(e) => tracing::error!(error = %e, "SFU answer not serialisable"),
    }
}

pub type EventStream = std::pin::Pin<Box<dyn futures::Stream<Item = Event> + Send>>;

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<Answer, SfuError>>>>>;

/// A media node reached over the bus.
pub struct RemoteNode {
    bus: Bus,
    stream: String,
    reply_to: String,
    pending: Pending,
    listener: tokio::task::JoinHandle<()>,
}

impl RemoteNode {
    pub async fn connect(bus: Bus, node: &str) -> Result<RemoteNode, platform::bus::BusError> {
        let reply_to = format!("sfu.replies.{}", uuid::Uuid::new_v4());
        let mut replies = bus.subscribe(&reply_to).await?;
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        let listener = tokio::spawn(async move {
            while let Some(payload) = replies.next().await {
                let Ok(reply) = serde_json::from_slice::<Reply>(&payload) else {
                    tracing::warn!("malformed SFU reply dropped");
                    continue;
                };
                if let Some(tx) = waiting.lock().expect("pending lock").remove(&reply.id) {
                    let _ = tx.send(reply.result);
                }
            }
        });
        Ok(RemoteNode {
            bus,
            stream: request_stream(node),
            reply_to,
            pending,
            listener,
        })
    }

    async fn call(&self, call: Call) -> Result<Answer, SfuError> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending lock")
            .insert(id.clone(), tx);
        let envelope = Envelope {
            id: id.clone(),
            reply_to: self.reply_to.clone(),
            deadline_ms: super::unix_ms() + CALL_TIMEOUT.as_millis() as i64,
            call,
        };
        let json = serde_json::to_vec(&envelope).map_err(|e| SfuError::Invalid(e.to_string()))?;
        if let Err(e) = self.bus.append(&self.stream, json).await {
            self.pending.lock().expect("pending lock").remove(&id);
            tracing::warn!(error = %e, "SFU call not sent");
            return Err(SfuError::Unavailable);
        }
        let answer = tokio::time::timeout(CALL_TIMEOUT, rx).await;
        self.pending.lock().expect("pending lock").remove(&id);
        match answer {
            Ok(Ok(result)) => result,
            _ => Err(SfuError::Unavailable),
        }
    }

    pub async fn join(&self, join: Join) -> Result<Welcome, SfuError> {
        match self.call(Call::Join(join)).await? {
            Answer::Welcome(w) => Ok(w),
            Answer::Sdp(_) => Err(SfuError::Invalid("unexpected answer to a join".into())),
        }
    }

    pub async fn request(
        &self,
        room: &str,
        participant: &str,
        request: Request,
    ) -> Result<Option<Sdp>, SfuError> {
        let call = Call::Request {
            room: room.to_owned(),
            participant: participant.to_owned(),
            request,
        };
        match self.call(call).await? {
            Answer::Sdp(sdp) => Ok(sdp),
            Answer::Welcome(_) => Err(SfuError::Invalid("unexpected answer to a request".into())),
        }
    }

    /// Room events of every node, as they are published.
    pub async fn events(&self) -> Result<EventStream, platform::bus::BusError> {
        let sub = self.bus.subscribe(EVENTS_TOPIC).await?;
        Ok(Box::pin(sub.filter_map(|payload| async move {
            serde_json::from_slice(&payload).ok()
        })))
    }
}

impl Drop for RemoteNode {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
