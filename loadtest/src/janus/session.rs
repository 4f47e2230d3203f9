//! One Janus session over the HTTP API: requests, and a long poll that
//! delivers asynchronous plugin events to the request waiting for them (and
//! keeps the session from expiring).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};

use super::JanusError;

/// How long a plugin may take to answer an asynchronous request.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

pub(crate) struct Session {
    http: reqwest::Client,
    /// `<server>/<session id>`.
    url: String,
    waiting: Waiting,
    poll: tokio::task::JoinHandle<()>,
    /// Set once Janus reports the session's PeerConnection up (DTLS done).
    webrtc_up: watch::Receiver<bool>,
    transactions: AtomicU64,
    destroyed: AtomicBool,
}

impl Session {
    /// Creates a session on the Janus at `server` (`http://host:port/janus`).
    pub(crate) async fn create(http: reqwest::Client, server: &str) -> Result<Session, JanusError> {
        let reply = post(
            &http,
            server,
            json!({"janus": "create", "transaction": "create"}),
        )
        .await?;
        let id = reply["data"]["id"]
            .as_u64()
            .ok_or_else(|| JanusError::protocol("create", &reply))?;
        let url = format!("{server}/{id}");
        let waiting = Waiting::default();
        let (up, webrtc_up) = watch::channel(false);
        let poll = tokio::spawn(long_poll(http.clone(), url.clone(), waiting.clone(), up));
        Ok(Session {
            http,
            url,
            waiting,
            poll,
            webrtc_up,
            transactions: AtomicU64::new(0),
            destroyed: AtomicBool::new(false),
        })
    }

    /// Attaches to `plugin`: the new handle's id.
    pub(crate) async fn attach(&self, plugin: &str) -> Result<u64, JanusError> {
        let reply = self
            .request(None, json!({"janus": "attach", "plugin": plugin}))
            .await?;
        reply["data"]["id"]
            .as_u64()
            .ok_or_else(|| JanusError::protocol("attach", &reply))
    }

    /// Sends `body` (with an optional JSEP) to the plugin behind `handle` and
    /// returns its answer: the plugin's data and the JSEP, if any. A plugin
    /// error (`error_code`) is a `Refused`.
    pub(crate) async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(Value, Option<Value>), JanusError> {
        let request = body["request"].as_str().unwrap_or("message").to_owned();
        let mut message = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        let reply = self.request(Some(handle), message).await?;
        let data = reply["plugindata"]["data"].clone();
        if let Some(code) = data["error_code"].as_i64() {
            return Err(JanusError::Refused {
                request,
                code,
                reason: data["error"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok((data, reply.get("jsep").cloned()))
    }

    /// Until Janus reports the session's PeerConnection up (`webrtcup`):
    /// a publisher's feed can be subscribed to only from then on.
    pub(crate) async fn webrtc_up(&self) -> Result<(), JanusError> {
        let mut up = self.webrtc_up.clone();
        let up = tokio::time::timeout(EVENT_TIMEOUT, up.wait_for(|up| *up))
            .await
            .map(|r| r.map(|_| ()));
        match up {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(JanusError::Closed),
            Err(_) => Err(JanusError::Timeout("webrtcup".to_owned())),
        }
    }

    /// A request to the session (or to one of its handles): a synchronous
    /// `success`, or, after an `ack`, the event carrying its transaction.
    async fn request(&self, handle: Option<u64>, mut body: Value) -> Result<Value, JanusError> {
        let transaction = format!("t{}", self.transactions.fetch_add(1, Ordering::Relaxed));
        body["transaction"] = json!(transaction);
        // Registered before sending: the event may come back on the long
        // poll before the POST returns its ack.
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .expect("waiting")
            .insert(transaction.clone(), tx);
        let url = match handle {
            Some(h) => format!("{}/{h}", self.url),
            None => self.url.clone(),
        };
        let result = self.exchange(&url, body, rx).await;
        self.waiting.lock().expect("waiting").remove(&transaction);
        result
    }

    async fn exchange(
        &self,
        url: &str,
        body: Value,
        event: oneshot::Receiver<Value>,
    ) -> Result<Value, JanusError> {
        let what = body["janus"].as_str().unwrap_or_default().to_owned();
        let reply = post(&self.http, url, body).await?;
        match reply["janus"].as_str() {
            Some("success") => Ok(reply),
            Some("ack") => match tokio::time::timeout(EVENT_TIMEOUT, event).await {
                Ok(Ok(event)) => Ok(event),
                Ok(Err(_)) => Err(JanusError::Closed),
                Err(_) => Err(JanusError::Timeout(what)),
            },
            _ => Err(JanusError::protocol(&what, &reply)),
        }
    }

    /// Destroys the session: Janus hangs up its peer connections and
    /// detaches its handles.
    pub(crate) async fn destroy(&self) -> Result<(), JanusError> {
        self.poll.abort();
        self.destroyed.store(true, Ordering::Relaxed);
        post(
            &self.http,
            &self.url,
            json!({"janus": "destroy", "transaction": "destroy"}),
        )
        .await?;
        Ok(())
    }
}

impl Drop for Session {
    /// A session dropped without `destroy` is destroyed in the background
    /// (when a runtime is still there), so its peer connections do not
    /// linger on the server until the session times out.
    fn drop(&mut self) {
        self.poll.abort();
        if self.destroyed.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (http, url) = (self.http.clone(), self.url.clone());
            runtime.spawn(async move {
                let body = json!({"janus": "destroy", "transaction": "destroy"});
                let _ = post(&http, &url, body).await;
            });
        }
    }
}

/// POSTs one Janus request; a core error (`"janus": "error"`) is a `Refused`.
async fn post(http: &reqwest::Client, url: &str, body: Value) -> Result<Value, JanusError> {
    let what = body["janus"].as_str().unwrap_or_default().to_owned();
    let reply: Value = http.post(url).json(&body).send().await?.json().await?;
    if reply["janus"] == "error" {
        return Err(JanusError::Refused {
            request: what,
            code: reply["error"]["code"].as_i64().unwrap_or_default(),
            reason: reply["error"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok(reply)
}

/// Janus answers a long poll with up to `maxev` events as an array, or with
/// a keepalive after 30 s of silence. Besides the answers to requests only
/// `webrtcup` matters; other events (`media`, publishers joining) are
/// dropped. Ends when the session is gone; the requests still waiting then
/// fail as `Closed`.
async fn long_poll(http: reqwest::Client, url: String, waiting: Waiting, up: watch::Sender<bool>) {
    let poll = format!("{url}?maxev=10");
    loop {
        let reply: Value = match http.get(&poll).send().await {
            Ok(r) => match r.json().await {
                Ok(v) => v,
                Err(_) => break,
            },
            Err(_) => break,
        };
        if reply["janus"] == "error" {
            break;
        }
        let events = match reply {
            Value::Array(events) => events,
            event => vec![event],
        };
        for event in events {
            if event["janus"] == "webrtcup" {
                up.send_replace(true);
            }
            let Some(transaction) = event["transaction"].as_str() else {
                continue;
            };
            if let Some(tx) = waiting.lock().expect("waiting").remove(transaction) {
                let _ = tx.send(event);
            }
        }
    }
    waiting.lock().expect("waiting").clear();
}
