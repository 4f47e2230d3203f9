//! Carries what the workers report to the rest of the system: room events to
//! in-process subscribers (and to the bus when signalling runs apart), and
//! presence reports to the durable presence stream through the outbox, so a
//! bus outage delays reports but loses no second.

use std::time::Duration;

use platform::bus::Bus;
use proto::sfu::Event;
use tokio::sync::{broadcast, mpsc};

use super::NodeEvent;
use crate::outbox::Outbox;

/// Durable stream of `PresenceReport` JSON, read by the control plane.
pub const PRESENCE_STREAM: &str = "sfu.presence";
/// Pub/sub topic of room `Event` JSON, for a signalling service elsewhere.
pub const EVENTS_TOPIC: &str = "sfu.events";

/// A report the bus has not taken is offered again after this long.
const RESEND_AFTER_MS: i64 = 2_000;
const RETRY_EVERY: Duration = Duration::from_millis(500);

pub struct Relay {
    pub bus: Bus,
    /// In-process subscribers of room events.
    pub events: broadcast::Sender<Event>,
    /// Also publish room events on the bus.
    pub publish_events: bool,
}

impl Relay {
    /// Runs until the node stops (its event channel closes), then makes a
    /// last attempt to hand over the reports still waiting.
    pub async fn run(self, mut from_node: mpsc::UnboundedReceiver<NodeEvent>) {
        let mut outbox = Outbox::new(RESEND_AFTER_MS);
        let mut retry = tokio::time::interval(RETRY_EVERY);
        loop {
            tokio::select! {
                event = from_node.recv() => match event {
                    Some(NodeEvent::Presence(report)) => outbox.push(report),
                    Some(NodeEvent::Room(event)) => self.room_event(event).await,
                    None => break,
                },
                _ = retry.tick() => {}
            }
            self.hand_over(&mut outbox).await;
        }
        self.hand_over(&mut outbox).await;
        if !outbox.is_empty() {
            tracing::error!(
                reports = outbox.len(),
                "presence reports not handed to the bus at shutdown"
            );
        }
    }

    async fn room_event(&self, event: Event) {
        if self.publish_events {
            match serde_json::to_vec(&event) {
                Ok(json) => {
                    if let Err(e) = self.bus.publish(EVENTS_TOPIC, json).await {
                        tracing::warn!(error = %e, "room event not published");
                    }
                }
                Err(e) => tracing::error!(error = %e, "room event not serialisable"),
            }
        }
        // No subscriber is fine: nobody is watching that room here.
        let _ = self.events.send(event);
    }

    async fn hand_over(&self, outbox: &mut Outbox) {
        for report in outbox.due(super::unix_ms()) {
            let Ok(json) = serde_json::to_vec(&report) else {
                continue;
            };
            match self.bus.append(PRESENCE_STREAM, json).await {
                Ok(_) => outbox.confirm(&report.room, &report.participant, report.seq),
                Err(e) => {
                    tracing::warn!(error = %e, "presence report kept for retry");
                    return;
                }
            }
        }
    }
}
