//! An open Server-Sent Events stream of the notification centre, as a
//! browser's EventSource reads it: what the notification and messaging
//! tests listen on.

use std::time::Duration;

use serde_json::Value;

use crate::common::Server;

/// An open Server-Sent Events stream.
pub struct Stream {
    pub body: reqwest::Response,
    pub buffer: String,
}

impl Stream {
    pub async fn open(s: &Server, url: &str, last_event_id: Option<&str>) -> Stream {
        let mut req = s.http.get(format!("{}{url}", s.base));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let r = req.timeout(Duration::from_secs(600)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            body: r,
            buffer: String::new(),
        }
    }

    /// The next `notification` event: its id and data.
    pub async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}:")))
                        .map(|v| v.trim_start().to_owned())
                };
                if field("event").as_deref() == Some("notification") {
                    let data = serde_json::from_str(&field("data").unwrap()).unwrap();
                    return (field("id").unwrap(), data);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream is open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
