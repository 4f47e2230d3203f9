//! A signalling service on loopback in front of a real media node, and raw
//! protocol sockets for the tests that look at single messages.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use media::node::relay::Relay;
use media::node::{Config, Node};
use platform::bus::Bus;
use platform::room_token::RoomTokens;
use platform::SystemClock;
use proto::room_token::RoomClaims;
use proto::sfu::{Role, Source};
use proto::signal::{ClientMessage, ServerMessage};
use signalling::{Media, Settings, Signalling};
use tokio_tungstenite::tungstenite::Message;

pub const SECRET: &[u8] = b"a test secret of at least 32 characters";

pub struct Service {
    pub url: String,
    pub bus: Bus,
    pub signalling: Signalling,
    pub node: Arc<Node>,
    pub registry: prometheus::Registry,
    tokens: RoomTokens,
}

pub fn media_config() -> Config {
    Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        workers: 1,
        node: format!("node-{}", rand_suffix()),
        ..Config::default()
    }
}

pub fn rand_suffix() -> String {
    format!("{:x}", rand::random::<u64>())
}

impl Service {
    pub async fn start() -> Service {
        Service::with(
            Settings::default(),
            media_config(),
            Bus::connect(None, Duration::from_secs(5)).await.unwrap(),
            false,
        )
        .await
    }

    /// The service with `settings` on a node with `config`; with `remote`,
    /// the node is reached over `bus` as when the SFU runs apart.
    pub async fn with(settings: Settings, config: Config, bus: Bus, remote: bool) -> Service {
        let registry = prometheus::Registry::new();
        let name = config.node.clone();
        let (node, reports) = Node::start(config, &registry).expect("node starts");
        let node = Arc::new(node);
        let (events, _) = tokio::sync::broadcast::channel(1024);
        tokio::spawn(
            Relay {
                bus: bus.clone(),
                events: events.clone(),
                publish_events: remote,
            }
            .run(reports),
        );
        let media = match remote {
            false => Media::Local {
                node: node.clone(),
                events,
            },
            true => {
                tokio::spawn(media::node::remote::serve(
                    bus.clone(),
                    node.clone(),
                    name.clone(),
                ));
                Media::Remote(Arc::new(
                    media::node::remote::RemoteNode::connect(bus.clone(), &name)
                        .await
                        .unwrap(),
                ))
            }
        };
        let tokens = RoomTokens::new(SECRET);
        let signalling = Signalling::start(
            settings,
            tokens.clone(),
            media,
            bus.clone(),
            Arc::new(SystemClock),
            &registry,
        )
        .await
        .expect("signalling starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "ws://{}{}",
            listener.local_addr().unwrap(),
            signalling::PATH
        );
        let router = signalling.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Service {
            url,
            bus,
            signalling,
            node,
            registry,
            tokens,
        }
    }

    /// A token for `participant` of `room`, valid for a minute.
    pub fn token(&self, room: &str, participant: &str, role: Role) -> String {
        self.token_with(room, participant, role, 60)
    }

    pub fn token_with(&self, room: &str, participant: &str, role: Role, ttl: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let publish = match role {
            Role::Viewer => vec![],
            _ => vec![Source::Camera, Source::Microphone, Source::Screen],
        };
        self.tokens.mint(&RoomClaims {
            sub: participant.into(),
            room: room.into(),
            role,
            publish,
            call: Some("call-1".into()),
            iat: now,
            exp: now + ttl,
        })
    }

    /// A Rust participant with the default camera and microphone.
    pub async fn participant(&self, room: &str, name: &str, role: Role) -> simpeer::signal::Client {
        simpeer::signal::Client::join(
            &self.url,
            room,
            &self.token(room, name, role),
            simpeer::Options::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{name} joins: {e}"))
    }

    pub fn metric(&self, name: &str, label: &str) -> f64 {
        self.registry
            .gather()
            .iter()
            .filter(|f| f.name() == name)
            .flat_map(|f| f.get_metric().to_vec())
            .filter(|m| label.is_empty() || m.get_label().iter().any(|l| l.value() == label))
            // A series is a counter or a gauge; the other reads 0.
            .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
            .sum()
    }
}

/// A bare protocol socket.
pub struct Raw {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Raw {
    pub async fn connect(url: &str) -> Raw {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Raw { socket }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&serde_json::to_string(message).unwrap())
            .await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.socket
            .send(Message::Binary(data.to_vec().into()))
            .await
            .unwrap();
    }

    /// The next protocol message, or None once the socket closed.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        let deadline = Duration::from_secs(10);
        loop {
            let frame = tokio::time::timeout(deadline, self.socket.next())
                .await
                .expect("a message within 10 s");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("a protocol message"))
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next message if one comes within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerMessage> {
        match tokio::time::timeout(wait, self.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(&text).ok(),
            _ => None,
        }
    }

    /// Reads until a message matches, failing on close.
    pub async fn until(&mut self, check: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let m = self.next().await.expect("socket open");
            if check(&m) {
                return m;
            }
        }
    }
}

pub fn join(room: &str, token: &str) -> ClientMessage {
    ClientMessage::Join {
        room: room.into(),
        token: token.into(),
        resume: None,
        offer: None,
        tracks: vec![],
    }
}
