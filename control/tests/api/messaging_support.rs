//! What the messaging tests share: an expert with message prices, a funded
//! user and their conversation, sends, money and message states.

use serde_json::{json, Value};

use crate::booking_support::server_at_with;
use crate::common::{Backend, Resp, Server, Session};

pub const NOW: &str = "2031-06-02T08:00:00Z";

/// Coins an expert charges for a text and a video message in these tests.
pub const TEXT: i64 = 3;
pub const VIDEO: i64 = 10;

/// A server on a fixed date with sessions that outlive the days the tests
/// move through; `tweak` applies last.
pub async fn messaging_server(
    backend: Backend,
    tweak: impl FnOnce(&mut control::settings::Settings),
) -> Server {
    server_at_with(backend, NOW, tweak).await
}

pub struct Pair {
    pub expert: Session,
    pub user: Session,
    /// Their conversation.
    pub conversation: String,
}

impl Server {
    /// A listed expert `first` with the tests' prices (and 2 coins a minute
    /// for calls).
    pub async fn messaging_expert(&self, email: &str, first: &str) -> Session {
        self.approved_expert(
            email,
            first,
            "Expert",
            json!({ "bio": "Conseil", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "text_message": TEXT, "video_message": VIDEO, "video_call": 2 } }),
        )
        .await
    }

    /// `user` opens their conversation with `expert`; its id.
    pub async fn open_conversation(&self, user: &Session, expert: &Session) -> String {
        let r = self
            .post(
                "/api/v1/conversations",
                Some(&user.access),
                json!({ "expert_id": expert.id }),
            )
            .await;
        assert!(matches!(r.status, 200 | 201), "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// An expert, a user funded with `coins`, and their conversation.
    pub async fn pair(&self, coins: i64) -> Pair {
        let expert = self.messaging_expert("amira@example.tn", "Amira").await;
        let user = self.user("user@example.tn").await;
        if coins > 0 {
            self.fund(&user, coins).await;
        }
        let conversation = self.open_conversation(&user, &expert).await;
        Pair {
            expert,
            user,
            conversation,
        }
    }

    pub async fn send_message(&self, who: &Session, conversation: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            Some(&who.access),
            body,
        )
        .await
    }

    /// Sends the text `body`; the response.
    pub async fn text(&self, who: &Session, conversation: &str, body: &str) -> Resp {
        self.send_message(who, conversation, json!({ "body": body }))
            .await
    }

    /// The conversation's messages as `who` sees them, newest first (one
    /// page of up to 100).
    pub async fn history(&self, who: &Session, conversation: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/api/v1/conversations/{conversation}/messages?limit=100"),
                Some(&who.access),
            )
            .await
            .expect(200);
        r.body["items"].as_array().unwrap().clone()
    }

    /// Message `id` as `who` sees it in the conversation.
    pub async fn message(&self, who: &Session, conversation: &str, id: &str) -> Value {
        self.history(who, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no message {id}"))
    }

    /// The platform's revenue account, in millimes.
    pub async fn revenue(&self) -> i64 {
        self.ledger()
            .balance(&control::ledger::Account::Revenue)
            .await
            .unwrap()
    }
}

pub fn id(r: &Resp) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}
