//! One client WebSocket: reads client messages in order, hands them to the
//! hub, and writes what the session is sent through one queue, so replies
//! and room events reach the client in the order they were decided.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use proto::signal::{ClientMessage, ClosedReason, ErrorCode, ServerMessage, SignalError};
use tokio::sync::mpsc;

use crate::hub::{error, Hub, Joined};

/// Messages queued for a client that is not reading before it is taken as
/// gone (it can resume).
const QUEUE: usize = 1024;

fn kind(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Join { .. } => "join",
        ClientMessage::Offer { .. } => "offer",
        ClientMessage::Answer { .. } => "answer",
        ClientMessage::Subscribe { .. } => "subscribe",
        ClientMessage::Mute { .. } => "mute",
        ClientMessage::Remove { .. } => "remove",
        ClientMessage::Leave => "leave",
        ClientMessage::Ping { .. } => "ping",
    }
}

pub async fn serve(socket: WebSocket, hub: Arc<Hub>) {
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut queue) = mpsc::channel::<ServerMessage>(QUEUE);
    hub.metrics.sockets.inc();
    let writer = tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            let last = matches!(message, ServerMessage::Closed { .. });
            let json = serde_json::to_string(&message).expect("protocol messages serialise");
            if sink.send(Message::Text(json.into())).await.is_err() {
                break;
            }
            if last {
                let _ = sink.close().await;
                break;
            }
        }
    });

    let socket = hub.next_socket();
    let mut joined: Option<Joined> = None;
    let mut closed = false;
    let send_error = |e: SignalError| {
        hub.metrics
            .errors
            .with_label_values(&[serde_json::to_value(e.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
                .as_str()])
            .inc();
        let fatal = e.fatal;
        let _ = outbox.try_send(ServerMessage::Error(e));
        if fatal {
            let _ = outbox.try_send(ServerMessage::Closed {
                reason: ClosedReason::Error,
            });
        }
        fatal
    };
    loop {
        let frame = match tokio::time::timeout(hub.settings.idle_timeout, stream.next()).await {
            Ok(Some(Ok(frame))) => frame,
            // Silent for too long, closed, or broken.
            _ => break,
        };
        let text = match frame {
            Message::Text(text) => text,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                hub.metrics.messages.with_label_values(&["invalid"]).inc();
                send_error(error(
                    ErrorCode::BadMessage,
                    "messages are JSON text frames",
                    false,
                ));
                continue;
            }
        };
        let message: ClientMessage = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                hub.metrics.messages.with_label_values(&["invalid"]).inc();
                send_error(error(ErrorCode::BadMessage, e.to_string(), false));
                continue;
            }
        };
        hub.metrics
            .messages
            .with_label_values(&[kind(&message)])
            .inc();
        match &joined {
            None => match hub.join(socket, &outbox, message).await {
                Ok(j) => joined = Some(j),
                Err(e) => {
                    if send_error(e) {
                        closed = true;
                        break;
                    }
                }
            },
            Some(j) => {
                let leaving = matches!(message, ClientMessage::Leave);
                match hub.request(j, message).await {
                    Ok(Some(reply)) => {
                        let _ = outbox.try_send(reply);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        send_error(e);
                    }
                }
                if leaving {
                    closed = true;
                    break;
                }
            }
        }
    }
    if let (Some(j), false) = (&joined, closed) {
        hub.detach(j, socket);
    }
    drop(outbox);
    // The writer ends once every queue sender is gone: ours now, the
    // session's when it is detached, removed or taken over.
    let _ = writer.await;
    hub.metrics.sockets.dec();
}
