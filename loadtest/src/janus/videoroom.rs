//! Rooms, publishers and subscribers of the Janus VideoRoom plugin.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;

use serde_json::{json, Value};
use simpeer::{Offerer, Options, Peer, Size, Stats};

use super::session::Session;
use super::JanusError;

const PLUGIN: &str = "janus.plugin.videoroom";

/// A Janus server's HTTP API, with an administrative session of its own to
/// create and destroy rooms.
pub struct Janus {
    http: reqwest::Client,
    url: String,
    admin: Session,
    handle: u64,
    /// Where the participants' peers bind (see `host_ip`).
    media_ip: IpAddr,
}

/// A room as a scenario needs it.
#[derive(Debug, Clone, Copy)]
pub struct RoomConfig {
    /// Most publishers at once.
    pub publishers: u32,
}

/// What a publisher published, for subscribers to ask for.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Janus's id of the publisher.
    pub id: u64,
    pub streams: Vec<FeedStream>,
}

/// One published m-line.
#[derive(Debug, Clone)]
pub struct FeedStream {
    /// The publisher's mid.
    pub mid: String,
    /// Simulcast sizes in the order published (smallest first); empty for
    /// audio and single-encoding video.
    pub layers: Vec<Size>,
}

/// A participant joined to a Janus room: its peer, and its session, which
/// is destroyed when the participant is dropped.
pub struct JanusParticipant {
    peer: Arc<Peer>,
    feed: Option<Feed>,
    session: Session,
}

impl Janus {
    /// Connects to the HTTP API at `url` (e.g. `http://127.0.0.1:8088/janus`)
    /// and attaches to the VideoRoom plugin.
    pub async fn connect(url: &str) -> Result<Janus, JanusError> {
        let http = reqwest::Client::new();
        let url = url.trim_end_matches('/').to_owned();
        let admin = Session::create(http.clone(), &url).await?;
        let handle = admin.attach(PLUGIN).await?;
        Ok(Janus {
            http,
            url,
            admin,
            handle,
            media_ip: host_ip(),
        })
    }

    /// Creates a room for H.264 and Opus with no bitrate cap (the load's
    /// bitrate is the publishers' own): Janus's id for it.
    pub async fn create_room(&self, config: RoomConfig) -> Result<u64, JanusError> {
        let body = json!({
            "request": "create",
            "publishers": config.publishers,
            "videocodec": "h264",
            "audiocodec": "opus",
            "bitrate": 0,
        });
        let (data, _) = self.admin.message(self.handle, body, None).await?;
        data["room"]
            .as_u64()
            .ok_or_else(|| JanusError::protocol("create", &data))
    }

    pub async fn destroy_room(&self, room: u64) -> Result<(), JanusError> {
        let body = json!({"request": "destroy", "room": room});
        self.admin.message(self.handle, body, None).await?;
        Ok(())
    }

    /// Joins `room` as a publisher named `display` and publishes what
    /// `options` says; returns once Janus has the PeerConnection up, when
    /// the feed can be subscribed to.
    pub async fn publish(
        &self,
        room: u64,
        display: &str,
        options: Options,
    ) -> Result<JanusParticipant, JanusError> {
        let (session, handle) = self.join().await?;
        let body =
            json!({"request": "join", "ptype": "publisher", "room": room, "display": display});
        let (joined, _) = session.message(handle, body, None).await?;
        let id = joined["id"]
            .as_u64()
            .ok_or_else(|| JanusError::protocol("join", &joined))?;
        let camera: Vec<Size> = match options.camera.len() {
            0 | 1 => Vec::new(),
            _ => options.camera.iter().map(|(_, size)| *size).collect(),
        };
        // Encoding a pre-recorded loop takes a while: off the runtime.
        let ip = self.media_ip;
        let (offerer, offer, tracks) =
            tokio::task::spawn_blocking(move || Offerer::new_on(ip, options))
                .await
                .map_err(|e| JanusError::Peer(e.to_string()))?
                .map_err(|e| JanusError::Peer(e.to_string()))?;
        let body = json!({"request": "publish", "videocodec": "h264", "audiocodec": "opus"});
        let jsep = json!({"type": "offer", "sdp": offer});
        let (_, answer) = session.message(handle, body, Some(jsep)).await?;
        let answer = sdp_of(answer, "answer")?;
        let peer = offerer.connect(&answer).map_err(JanusError::Peer)?;
        session.webrtc_up().await?;
        let streams = tracks
            .into_iter()
            .map(|t| FeedStream {
                layers: match t.source {
                    proto::sfu::Source::Camera => camera.clone(),
                    _ => Vec::new(),
                },
                mid: t.mid,
            })
            .collect();
        Ok(JanusParticipant {
            peer: Arc::new(peer),
            feed: Some(Feed { id, streams }),
            session,
        })
    }

    /// Subscribes to every stream of `feed` in `room`, receiving the largest
    /// simulcast layer that fits in `wanted` (the smallest if none does).
    /// Only the receiving options of `options` (`decode`) apply. Returns
    /// once Janus has the PeerConnection up.
    pub async fn subscribe(
        &self,
        room: u64,
        feed: &Feed,
        wanted: Size,
        options: Options,
    ) -> Result<JanusParticipant, JanusError> {
        let (session, handle) = self.join().await?;
        let streams: Vec<Value> = feed
            .streams
            .iter()
            .map(|s| match substream(&s.layers, wanted) {
                Some(n) => json!({"feed": feed.id, "mid": s.mid, "substream": n}),
                None => json!({"feed": feed.id, "mid": s.mid}),
            })
            .collect();
        let body =
            json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams});
        let (_, offer) = session.message(handle, body, None).await?;
        let offer = sdp_of(offer, "offer")?;
        let (peer, answer) =
            Peer::accept_on(self.media_ip, &offer, options).map_err(JanusError::Peer)?;
        let jsep = json!({"type": "answer", "sdp": answer});
        session
            .message(handle, json!({"request": "start"}), Some(jsep))
            .await?;
        session.webrtc_up().await?;
        Ok(JanusParticipant {
            peer: Arc::new(peer),
            feed: None,
            session,
        })
    }

    /// A participant's own session and VideoRoom handle.
    async fn join(&self) -> Result<(Session, u64), JanusError> {
        let session = Session::create(self.http.clone(), &self.url).await?;
        let handle = session.attach(PLUGIN).await?;
        Ok((session, handle))
    }
}

/// The host's own address, as Janus picks its local IP: the source of a
/// route to a public address (no packet is sent). Janus skips loopback
/// interfaces when it gathers candidates and libnice pairs no loopback
/// candidate with another, so on one machine both sides use this address;
/// the traffic still goes through the kernel's loopback device.
fn host_ip() -> IpAddr {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((Ipv4Addr::new(1, 2, 3, 4), 9)).map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Janus's substream for the largest layer that fits in `wanted` (else the
/// smallest). Janus takes a publisher's rids as listed highest quality
/// first, whatever their sizes, and numbers substreams from the lowest: the
/// last rid is substream 0. `layers` are in rid order.
fn substream(layers: &[Size], wanted: Size) -> Option<usize> {
    if layers.is_empty() {
        return None;
    }
    let fits = |s: &Size| s.width <= wanted.width && s.height <= wanted.height;
    let best = layers
        .iter()
        .enumerate()
        .filter(|(_, s)| fits(s))
        .max_by_key(|(_, s)| s.width * s.height)
        .or_else(|| {
            layers
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.width * s.height)
        });
    best.map(|(n, _)| layers.len() - 1 - n)
}

fn sdp_of(jsep: Option<Value>, kind: &str) -> Result<String, JanusError> {
    match jsep {
        Some(j) if j["type"] == kind => j["sdp"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| JanusError::protocol(kind, &j)),
        other => Err(JanusError::protocol(kind, &other.unwrap_or_default())),
    }
}

impl JanusParticipant {
    pub fn stats(&self) -> Stats {
        self.peer.stats()
    }

    pub fn peer(&self) -> &Arc<Peer> {
        &self.peer
    }

    /// What this participant published (none for a subscriber).
    pub fn feed(&self) -> Option<&Feed> {
        self.feed.as_ref()
    }

    /// Leaves: destroys the participant's session, which hangs up its peer
    /// connection on the server.
    pub async fn leave(self) -> Result<(), JanusError> {
        self.session.destroy().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn size(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    #[test]
    fn the_largest_layer_that_fits_else_the_smallest_counted_from_the_last_rid() {
        // As simpeer publishes: smallest first, so the largest is substream 0.
        let layers = [size(160, 90), size(320, 180), size(640, 360)];
        assert_eq!(substream(&layers, size(1280, 720)), Some(0));
        assert_eq!(substream(&layers, size(640, 360)), Some(0));
        assert_eq!(substream(&layers, size(400, 300)), Some(1));
        assert_eq!(substream(&layers, size(100, 100)), Some(2));
        assert_eq!(substream(&[], size(640, 360)), None);
    }
}
