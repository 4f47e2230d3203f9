//! Janus as a load-test `Target`, for the `fanout` scenario: rooms are
//! created on first use, the publisher's feed is remembered, and each
//! subscriber subscribes to it with the simulcast layer that fits.
//!
//! Only `fanout` runs against it: a Janus publisher receives nothing on its
//! own PeerConnection (it would need a subscription per other publisher),
//! so the scenarios where publishers also receive are refused up front.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use simpeer::{Options, Size};

use super::{Feed, Janus, JanusError, JanusParticipant, RoomConfig};
use crate::target::{Participant, ServerProbe, Session, Target, TargetError};

/// How long a subscriber waits for its room's publisher to be up: the
/// scenario starts joins at its rate, not after the publisher is ready.
const FEED_WAIT: Duration = Duration::from_secs(30);

pub struct JanusTarget {
    janus: Janus,
    pid: Option<u32>,
    /// Our room names to Janus's room ids and their publishers' feeds.
    rooms: tokio::sync::Mutex<HashMap<String, u64>>,
    feeds: Mutex<HashMap<String, Vec<Feed>>>,
}

impl JanusTarget {
    /// The Janus whose HTTP API answers at `url`; `pid` is its process when
    /// it runs on this machine (CPU and memory from `/proc`).
    pub async fn connect(url: &str, pid: Option<u32>) -> Result<JanusTarget, TargetError> {
        Ok(JanusTarget {
            janus: Janus::connect(url).await.map_err(error)?,
            pid,
            rooms: tokio::sync::Mutex::new(HashMap::new()),
            feeds: Mutex::new(HashMap::new()),
        })
    }

    async fn room(&self, name: &str) -> Result<u64, TargetError> {
        let mut rooms = self.rooms.lock().await;
        if let Some(id) = rooms.get(name) {
            return Ok(*id);
        }
        let id = self
            .janus
            .create_room(RoomConfig { publishers: 1 })
            .await
            .map_err(error)?;
        rooms.insert(name.to_owned(), id);
        Ok(id)
    }

    fn feed(&self, room: &str) -> Option<Feed> {
        self.feeds
            .lock()
            .expect("feeds")
            .get(room)?
            .first()
            .cloned()
    }
}

fn error(e: JanusError) -> TargetError {
    match e {
        JanusError::Refused { .. } => TargetError::Refused(e.to_string()),
        other => TargetError::Transport(other.to_string()),
    }
}

/// Holds the participant's Janus session; leaving destroys it.
struct Seat(Mutex<Option<JanusParticipant>>);

impl Session for Seat {
    fn leave(&self) {
        if let Some(p) = self.0.lock().expect("seat").take() {
            tokio::spawn(async move {
                let _ = p.leave().await;
            });
        }
    }
}

fn seated(p: JanusParticipant) -> Participant {
    Participant {
        peer: p.peer().clone(),
        session: Box::new(Seat(Mutex::new(Some(p)))),
    }
}

#[async_trait]
impl Target for JanusTarget {
    fn name(&self) -> &str {
        "janus"
    }

    async fn publish(
        &self,
        room: &str,
        name: &str,
        options: Options,
    ) -> Result<Participant, TargetError> {
        let id = self.room(room).await?;
        let p = self.janus.publish(id, name, options).await.map_err(error)?;
        if let Some(feed) = p.feed() {
            self.feeds
                .lock()
                .expect("feeds")
                .entry(room.to_owned())
                .or_default()
                .push(feed.clone());
        }
        Ok(seated(p))
    }

    async fn subscribe(
        &self,
        room: &str,
        _name: &str,
        want: Size,
        options: Options,
    ) -> Result<Participant, TargetError> {
        let id = self.room(room).await?;
        let deadline = tokio::time::Instant::now() + FEED_WAIT;
        let feed = loop {
            if let Some(feed) = self.feed(room) {
                break feed;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(TargetError::Refused(format!(
                    "no publisher in room {room} after {FEED_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let p = self
            .janus
            .subscribe(id, &feed, want, options)
            .await
            .map_err(error)?;
        Ok(seated(p))
    }

    fn server(&self) -> ServerProbe {
        ServerProbe {
            metrics_url: None,
            pid: self.pid,
        }
    }
}
