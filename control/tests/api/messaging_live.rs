//! Real-time messaging on the notification stream, on both backends: two
//! connected clients receive each other's messages in order, and a client
//! that reconnects with its last event id receives what it missed.

use crate::both_backends;
use crate::common::{Backend, Server, Session};
use crate::messaging_support::*;
use crate::sse::Stream;

both_backends!(
    two_clients_receive_each_others_messages_in_order_and_catch_up_after_reconnecting,
    sends_beyond_the_rate_are_refused,
);

fn stream_url(who: &Session) -> String {
    format!("/api/v1/notifications/stream?access_token={}", who.access)
}

/// The next message on `stream`: (event id, sender, body).
async fn next_message(stream: &mut Stream) -> (String, String, String) {
    loop {
        let (position, n) = stream.next().await;
        if n["kind"] == "message_received" {
            let m = &n["data"]["message"];
            return (
                position,
                m["sender_id"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
            );
        }
    }
}

async fn two_clients_receive_each_others_messages_in_order_and_catch_up_after_reconnecting(
    backend: Backend,
) {
    let s: Server = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let mut user = Stream::open(&s, &stream_url(&p.user), None).await;
    let mut expert = Stream::open(&s, &stream_url(&p.expert), None).await;

    for body in ["un 👋", "deux", "trois"] {
        s.text(&p.user, &p.conversation, body).await.expect(201);
    }
    let mut last = String::new();
    for body in ["un 👋", "deux", "trois"] {
        let (position, from, got) = next_message(&mut expert).await;
        assert_eq!((from.as_str(), got.as_str()), (p.user.id.as_str(), body));
        last = position;
    }
    s.text(&p.expert, &p.conversation, "réponse")
        .await
        .expect(201);
    let (_, from, got) = next_message(&mut user).await;
    assert_eq!(
        (from.as_str(), got.as_str()),
        (p.expert.id.as_str(), "réponse")
    );

    // The expert's client drops; what is sent meanwhile comes on reconnection,
    // in order, then the live feed goes on.
    drop(expert);
    for body in ["manqué 1", "manqué 2"] {
        s.text(&p.user, &p.conversation, body).await.expect(201);
    }
    // Let the deliveries run while nobody listens.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut expert = Stream::open(&s, &stream_url(&p.expert), Some(&last)).await;
    for body in ["manqué 1", "manqué 2"] {
        assert_eq!(next_message(&mut expert).await.2, body);
    }
    s.text(&p.user, &p.conversation, "en direct")
        .await
        .expect(201);
    assert_eq!(next_message(&mut expert).await.2, "en direct");
}

async fn sends_beyond_the_rate_are_refused(backend: Backend) {
    let s = messaging_server(backend, |c| c.messaging.sends_per_minute = 2).await;
    let p = s.pair(100).await;
    s.text(&p.user, &p.conversation, "1").await.expect(201);
    s.text(&p.user, &p.conversation, "2").await.expect(201);
    let r = s
        .text(&p.user, &p.conversation, "3")
        .await
        .expect_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        s.money(&p.user).await,
        (50_000 - 3000, 3000, 0),
        "nothing held for it"
    );
    // Each sender has their own allowance, and it comes back with time.
    s.text(&p.expert, &p.conversation, "ok").await.expect(201);
    s.clock.advance(std::time::Duration::from_secs(30));
    s.text(&p.user, &p.conversation, "3").await.expect(201);
}
