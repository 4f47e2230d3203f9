//! The DeepInfluence target: room tokens minted by the control plane's
//! admin API (`POST /api/v1/admin/room-tokens`), joins through the
//! signalling WebSocket it names, as the JS SDK joins.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use proto::sfu::{Role, Source, Want};
use proto::signal::{ClientMessage, ServerMessage};
use serde_json::json;
use simpeer::signal::{Client, JoinError};
use simpeer::{Options, Size};

use crate::target::{Participant, ServerProbe, Session, Target, TargetError};

/// How the load test proves it is an administrator.
#[derive(Debug, Clone)]
pub enum AdminAuth {
    /// An access token of an administrator's session.
    Bearer(String),
    /// An administrator's email and password, to log in with.
    Password { email: String, password: String },
}

pub struct DeepInfluence {
    url: String,
    http: reqwest::Client,
    bearer: String,
    pid: Option<u32>,
}

fn transport(e: impl std::fmt::Display) -> TargetError {
    TargetError::Transport(e.to_string())
}

/// A problem document's `code` and `detail`, or the body as it is.
async fn problem(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(v) => format!(
            "{status} {} {}",
            v["code"].as_str().unwrap_or(""),
            v["detail"].as_str().unwrap_or("")
        ),
        Err(_) => format!("{status} {body}"),
    }
}

impl DeepInfluence {
    /// The server whose control plane answers at `url`
    /// (`http://127.0.0.1:8080`); logs in when given a password. `pid` is
    /// the server's process when it runs on this machine.
    pub async fn connect(
        url: &str,
        auth: AdminAuth,
        pid: Option<u32>,
    ) -> Result<DeepInfluence, TargetError> {
        let url = url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(transport)?;
        let bearer = match auth {
            AdminAuth::Bearer(token) => token,
            AdminAuth::Password { email, password } => {
                let r = http
                    .post(format!("{url}/api/v1/auth/login"))
                    .json(&json!({ "email": email, "password": password }))
                    .send()
                    .await
                    .map_err(transport)?;
                if !r.status().is_success() {
                    return Err(TargetError::Refused(format!(
                        "login as {email}: {}",
                        problem(r).await
                    )));
                }
                let body: serde_json::Value = r.json().await.map_err(transport)?;
                body["access_token"]
                    .as_str()
                    .ok_or_else(|| transport("the login answer has no access_token"))?
                    .to_owned()
            }
        };
        Ok(DeepInfluence {
            url,
            http,
            bearer,
            pid,
        })
    }

    /// A room token and the signalling URL to use it at.
    async fn mint(
        &self,
        room: &str,
        name: &str,
        role: Role,
    ) -> Result<(String, String), TargetError> {
        let r = self
            .http
            .post(format!("{}/api/v1/admin/room-tokens", self.url))
            .bearer_auth(&self.bearer)
            .json(&json!({ "room": room, "participant": name, "role": role }))
            .send()
            .await
            .map_err(transport)?;
        if !r.status().is_success() {
            return Err(TargetError::Refused(format!(
                "room token for {name} in {room}: {}",
                problem(r).await
            )));
        }
        let body: serde_json::Value = r.json().await.map_err(transport)?;
        match (body["token"].as_str(), body["signalling_url"].as_str()) {
            (Some(t), Some(u)) => Ok((t.to_owned(), u.to_owned())),
            _ => Err(transport(
                "the room-token answer lacks token or signalling_url",
            )),
        }
    }

    async fn join(
        &self,
        room: &str,
        name: &str,
        role: Role,
        options: Options,
    ) -> Result<Client, TargetError> {
        let (token, signalling) = self.mint(room, name, role).await?;
        Client::join(&signalling, room, &token, options)
            .await
            .map_err(|e| match e {
                JoinError::Refused(e) => {
                    TargetError::Refused(format!("{name} in {room}: {:?}: {}", e.code, e.message))
                }
                JoinError::Other(e) => TargetError::Transport(format!("{name} in {room}: {e}")),
            })
    }
}

struct Signalling {
    client: Arc<Client>,
    sizing: Option<tokio::task::JoinHandle<()>>,
}

impl Session for Signalling {
    fn leave(&self) {
        if let Some(task) = &self.sizing {
            task.abort();
        }
        self.client.send(&ClientMessage::Leave);
    }
}

impl Drop for Signalling {
    fn drop(&mut self) {
        if let Some(task) = &self.sizing {
            task.abort();
        }
    }
}

fn is_video(source: Source) -> bool {
    !matches!(source, Source::Microphone)
}

/// Asks for `want` on every video track of the room, those in the welcome
/// and those published later.
async fn size_every_video(client: Arc<Client>, want: Size) {
    let subscribe = |track: u32| {
        client.send(&ClientMessage::Subscribe {
            track,
            want: Want::Size {
                width: want.width,
                height: want.height,
            },
        })
    };
    for t in client.welcome.tracks.iter().filter(|t| is_video(t.source)) {
        subscribe(t.track);
    }
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let received = client.received();
        for m in received.iter().skip(seen) {
            if let ServerMessage::TrackPublished { track } = m {
                if is_video(track.source) {
                    subscribe(track.track);
                }
            }
        }
        seen = received.len();
    }
}

#[async_trait]
impl Target for DeepInfluence {
    fn name(&self) -> &str {
        "deepinfluence"
    }

    async fn publish(
        &self,
        room: &str,
        name: &str,
        options: Options,
    ) -> Result<Participant, TargetError> {
        let client = Arc::new(self.join(room, name, Role::Participant, options).await?);
        Ok(Participant {
            peer: client.peer.clone(),
            session: Box::new(Signalling {
                client,
                sizing: None,
            }),
        })
    }

    async fn subscribe(
        &self,
        room: &str,
        name: &str,
        want: Size,
        options: Options,
    ) -> Result<Participant, TargetError> {
        let receive_only = Options {
            camera: Vec::new(),
            microphone: false,
            screen: None,
            ..options
        };
        let client = Arc::new(self.join(room, name, Role::Viewer, receive_only).await?);
        let sizing = tokio::spawn(size_every_video(client.clone(), want));
        Ok(Participant {
            peer: client.peer.clone(),
            session: Box::new(Signalling {
                client,
                sizing: Some(sizing),
            }),
        })
    }

    fn server(&self) -> ServerProbe {
        ServerProbe {
            metrics_url: Some(format!("{}/metrics", self.url)),
            pid: self.pid,
        }
    }
}
