//! A participant that joins through the signalling service, as the JS SDK
//! does: a WebSocket speaking `proto::signal`, with the peer's SDP steps
//! driven by what the service sends. Tests, the e2e run next to Chromium
//! and the load generator use it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proto::sfu::Sdp;
use proto::signal::{ClientMessage, ServerMessage, SignalError, Welcome};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message;

use crate::{Offerer, Options, Peer};

/// Why a join failed.
#[derive(Debug)]
pub enum JoinError {
    /// The service refused the join with this error.
    Refused(SignalError),
    /// The socket, the SDP or the peer failed.
    Other(String),
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinError::Refused(e) => write!(f, "refused: {:?}: {}", e.code, e.message),
            JoinError::Other(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for JoinError {}

fn other(e: impl std::fmt::Display) -> JoinError {
    JoinError::Other(e.to_string())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A joined participant. Dropping it closes the socket (without `leave`, as
/// a broken connection would).
pub struct Client {
    pub welcome: Welcome,
    pub peer: Arc<Peer>,
    outgoing: mpsc::UnboundedSender<Message>,
    received: Arc<Mutex<Vec<ServerMessage>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// Opens a socket to `url` and sends `join`; returns the socket and the
/// first answer (a welcome, or the refusal).
pub async fn open(url: &str, join: &ClientMessage) -> Result<(Socket, ServerMessage), JoinError> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.map_err(other)?;
    let text = serde_json::to_string(join).map_err(other)?;
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(other)?;
    let first = next_message(&mut socket)
        .await
        .ok_or_else(|| other("the socket closed before any answer"))?;
    Ok((socket, first))
}

async fn next_message(socket: &mut Socket) -> Option<ServerMessage> {
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).ok();
        }
    }
    None
}

impl Client {
    /// Joins `room` with `token`, publishing what `options` says (nothing
    /// publishes as a receive-only participant answering the SFU's offer).
    pub async fn join(
        url: &str,
        room: &str,
        token: &str,
        options: Options,
    ) -> Result<Client, JoinError> {
        let publishes =
            !options.camera.is_empty() || options.microphone || options.screen.is_some();
        let (offerer, offer, tracks) = match publishes {
            true => {
                let (o, sdp, tracks) = Offerer::new(options.clone()).map_err(other)?;
                (Some(o), Some(sdp), tracks)
            }
            false => (None, None, Vec::new()),
        };
        let join = ClientMessage::Join {
            room: room.to_owned(),
            token: token.to_owned(),
            resume: None,
            offer,
            tracks,
        };
        let (socket, first) = open(url, &join).await?;
        let welcome = match first {
            ServerMessage::Welcome(w) => *w,
            ServerMessage::Error(e) => return Err(JoinError::Refused(e)),
            m => return Err(other(format!("expected a welcome, got {m:?}"))),
        };
        let (peer, answer) = match (offerer, &welcome.sdp) {
            (Some(o), Some(Sdp::Answer(a))) => (o.connect(a).map_err(other)?, None),
            (None, Some(Sdp::Offer(o))) => {
                let (peer, answer) = Peer::accept_with(o, options).map_err(other)?;
                (peer, Some(answer))
            }
            (_, sdp) => return Err(other(format!("unexpected SDP in the welcome: {sdp:?}"))),
        };
        let (outgoing, queue) = mpsc::unbounded_channel();
        if let Some(sdp) = answer {
            send(&outgoing, &ClientMessage::Answer { sdp });
        }
        let peer = Arc::new(peer);
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let task = tokio::spawn(drive(
            socket,
            queue,
            outgoing.clone(),
            peer.clone(),
            received.clone(),
            arrived.clone(),
        ));
        Ok(Client {
            welcome,
            peer,
            outgoing,
            received,
            arrived,
            task,
        })
    }

    pub fn send(&self, message: &ClientMessage) {
        send(&self.outgoing, message);
    }

    /// Everything the service sent since the welcome, but SDP steps.
    pub fn received(&self) -> Vec<ServerMessage> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until a received message matches `check`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        check: impl Fn(&ServerMessage) -> bool,
    ) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self.received().into_iter().find(|m| check(m)) {
                return Some(m);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn send(outgoing: &mpsc::UnboundedSender<Message>, message: &ClientMessage) {
    let text = serde_json::to_string(message).expect("protocol messages serialise");
    let _ = outgoing.send(Message::Text(text.into()));
}

/// Answers the service's offers, applies its answers, pings, and keeps the
/// rest for the test to read.
async fn drive(
    socket: Socket,
    mut queue: mpsc::UnboundedReceiver<Message>,
    outgoing: mpsc::UnboundedSender<Message>,
    peer: Arc<Peer>,
    received: Arc<Mutex<Vec<ServerMessage>>>,
    arrived: Arc<Notify>,
) {
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(Duration::from_secs(10));
    let mut pings = 0;
    loop {
        tokio::select! {
            Some(message) = queue.recv() => {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                pings += 1;
                send(&outgoing, &ClientMessage::Ping { id: pings });
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                let Message::Text(text) = frame else { continue };
                let Ok(message) = serde_json::from_str::<ServerMessage>(&text) else {
                    continue;
                };
                match message {
                    ServerMessage::Offer { sdp } => {
                        let p = peer.clone();
                        match tokio::task::spawn_blocking(move || p.answer(&sdp)).await {
                            Ok(Ok(sdp)) => send(&outgoing, &ClientMessage::Answer { sdp }),
                            other => tracing::warn!(?other, "could not answer the SFU's offer"),
                        }
                    }
                    ServerMessage::Answer { sdp } => {
                        let p = peer.clone();
                        if let Ok(Err(e)) =
                            tokio::task::spawn_blocking(move || p.accept_answer(&sdp)).await
                        {
                            tracing::warn!(error = %e, "could not apply the SFU's answer");
                        }
                    }
                    message => {
                        received.lock().expect("lock").push(message);
                        arrived.notify_waiters();
                    }
                }
            }
        }
    }
}
