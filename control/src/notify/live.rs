//! Live delivery to open streams. A delivery job publishes the notification
//! on the bus; every replica receives it through one subscription and hands
//! it to its own streams of that account. With Redis this reaches streams
//! on every replica, and a replica holds one Redis subscription however many
//! clients it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use platform::bus::{Bus, BusError};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, OnceCell};

use super::centre::Notification;

const TOPIC: &str = "notifications.live";
/// Notifications one stream may fall behind by before it is cut off (the
/// client reconnects and replays what it missed).
const STREAM_BUFFER: usize = 256;

/// What travels on the bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveMessage {
    pub account_id: String,
    /// The stream position (`Last-Event-ID`) of this notification.
    pub cursor: String,
    pub notification: Notification,
}

type Senders = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<LiveMessage>>>>>;

pub struct Live {
    bus: Bus,
    local: Senders,
    listening: OnceCell<()>,
}

/// One open stream's feed; unregisters itself when dropped.
pub struct Feed {
    pub receiver: broadcast::Receiver<Arc<LiveMessage>>,
    account_id: String,
    local: Senders,
}

impl Drop for Feed {
    fn drop(&mut self) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        // This feed's receiver is still alive here: one left means it was the last.
        if local
            .get(&self.account_id)
            .is_some_and(|s| s.receiver_count() <= 1)
        {
            local.remove(&self.account_id);
        }
    }
}

impl Live {
    pub fn new(bus: Bus) -> Live {
        Live {
            bus,
            local: Senders::default(),
            listening: OnceCell::new(),
        }
    }

    pub async fn publish(&self, message: &LiveMessage) -> Result<(), BusError> {
        let payload = serde_json::to_vec(message).expect("a live message is plain data");
        self.bus.publish(TOPIC, payload).await
    }

    /// A feed of `account_id`'s notifications published from now on.
    pub async fn feed(&self, account_id: &str) -> Result<Feed, BusError> {
        self.listening
            .get_or_try_init(|| async {
                let subscription = self.bus.subscribe(TOPIC).await?;
                tokio::spawn(relay(self.bus.clone(), subscription, self.local.clone()));
                Ok::<_, BusError>(())
            })
            .await?;
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let receiver = local
            .entry(account_id.to_owned())
            .or_insert_with(|| broadcast::channel(STREAM_BUFFER).0)
            .subscribe();
        Ok(Feed {
            receiver,
            account_id: account_id.to_owned(),
            local: self.local.clone(),
        })
    }
}

/// Hands bus messages to this replica's streams, for as long as the process
/// lives; a lost bus subscription is made again (streams open meanwhile miss
/// what was published, and get it when they reconnect with their last id).
async fn relay(bus: Bus, mut subscription: platform::bus::Subscription, local: Senders) {
    loop {
        while let Some(payload) = subscription.next().await {
            let Ok(message) = serde_json::from_slice::<LiveMessage>(&payload) else {
                tracing::warn!("unreadable live notification on the bus");
                continue;
            };
            let local = local.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(sender) = local.get(&message.account_id) {
                // No receiver left is fine: the stream just closed.
                let _ = sender.send(Arc::new(message));
            }
        }
        tracing::warn!("live notifications subscription ended; subscribing again");
        subscription = loop {
            match bus.subscribe(TOPIC).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to live notifications");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
    }
}
