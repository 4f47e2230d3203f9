//! A booked call end to end, on both backends: the control plane, a media
//! node and the signalling service in this process on one bus. Two Rust
//! participants (simpeer) join through signalling with the tokens the
//! control plane minted for the booking, talk for about 20 seconds and
//! leave; the SFU's presence reports reach the control plane over the bus,
//! and the call settles for exactly the 10-minute minimum, 80/20, with the
//! presence recorded within a second of the time they were connected.
//! Tokens for another call or outside their window are refused.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use media::node::relay::{Relay, PRESENCE_STREAM};
use media::node::{Config, Node};
use platform::room_token::RoomTokens;
use platform::{Clock, SystemClock};
use proto::room_token::RoomClaims;
use proto::sfu::{Role, Source};
use proto::signal::{ClientMessage, ErrorCode};
use serde_json::json;
use simpeer::signal::{Client, JoinError};
use simpeer::Options;

use crate::both_backends;
use crate::common::{Backend, Server, Session};

both_backends!(a_booked_call_through_signalling_is_billed_from_presence);

const SECRET: &str = "an end-to-end secret of at least 32 characters";
const WAIT: Duration = Duration::from_secs(15);

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Moves the server's clock to the real time (presence is real seconds).
fn sync_clock(s: &Server) {
    let ahead = unix_ms() - s.clock.now_ms();
    if ahead > 0 {
        s.clock.advance(Duration::from_millis(ahead as u64));
    }
}

async fn join_call(s: &Server, booking: &str, who: &Session) -> (String, String) {
    let r = s
        .post(
            &format!("/api/v1/calls/{booking}/join"),
            Some(&who.access),
            json!({}),
        )
        .await
        .expect(200);
    (
        r.body["token"].as_str().unwrap().to_owned(),
        r.body["signalling_url"].as_str().unwrap().to_owned(),
    )
}

fn refusal(r: Result<Client, JoinError>) -> ErrorCode {
    match r {
        Err(JoinError::Refused(e)) => e.code,
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("joined"),
    }
}

async fn a_booked_call_through_signalling_is_billed_from_presence(backend: Backend) {
    // Signalling's address first, so the control plane hands it out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "ws://{}{}",
        listener.local_addr().unwrap(),
        signalling::PATH
    );
    let signalling_url = url.clone();
    let s = Server::start_with(backend, move |c| {
        c.auth.ip_requests_per_minute = 100_000;
        c.bookings = crate::booking_support::booking_settings();
        c.calls.room_token_secret = Some(SECRET.into());
        c.calls.signalling_url = Some(signalling_url);
    })
    .await;
    sync_clock(&s);
    assert_eq!(control::calls::PRESENCE_STREAM, PRESENCE_STREAM);

    // The media node and signalling on the control plane's bus.
    let registry = prometheus::Registry::new();
    let config = Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        workers: 1,
        node: format!("node-{}", uuid::Uuid::new_v4()),
        ..Config::default()
    };
    let (node, reports) = Node::start(config, &registry).expect("node starts");
    let (events, _) = tokio::sync::broadcast::channel(1024);
    tokio::spawn(
        Relay {
            bus: s.bus.clone(),
            events: events.clone(),
            publish_events: false,
        }
        .run(reports),
    );
    let tokens = RoomTokens::new(SECRET.as_bytes());
    let service = signalling::Signalling::start(
        signalling::Settings::default(),
        tokens.clone(),
        signalling::Media::Local {
            node: Arc::new(node),
            events,
        },
        s.bus.clone(),
        Arc::new(SystemClock),
        &registry,
    )
    .await
    .expect("signalling starts");
    let router = service.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    // The control plane's presence consumer, as `maintenance` runs it.
    let calls = s.state.calls.clone();
    let consumer = tokio::spawn(async move {
        loop {
            if let Err(e) = calls.consume("e2e", 100, Duration::from_millis(200)).await {
                panic!("presence consumer: {e}");
            }
        }
    });

    // A 30-minute booking starting at the next whole minute (the window
    // opens 10 minutes before).
    let expert = s
        .expert_with_hours(
            "sami@example.tn",
            "Sami",
            3,
            true,
            crate::booking_support::daily_hours("00:00", "24:00"),
        )
        .await;
    let user = s.user("user@example.tn").await;
    s.fund(&user, 200).await;
    let start = (s.clock.now_ms() / 60_000 + 1) * 60_000;
    let start_text = jiff::Timestamp::from_millisecond(start)
        .unwrap()
        .to_string();
    let r = s.book(&user, &expert, &start_text, 30).await.expect(201);
    let booking = r.body["id"].as_str().unwrap().to_owned();
    // Another call of the same user, for the wrong-room refusal.
    let other = s
        .book(
            &user,
            &expert,
            &jiff::Timestamp::from_millisecond(start + 3_600_000)
                .unwrap()
                .to_string(),
            10,
        )
        .await
        .expect(201);
    let other = other.body["id"].as_str().unwrap().to_owned();

    let (user_token, got_url) = join_call(&s, &booking, &user).await;
    let (expert_token, _) = join_call(&s, &booking, &expert).await;
    assert_eq!(got_url, url);
    // A token for this call does not open another call's room, and a token
    // whose window has closed is refused.
    assert_eq!(
        refusal(Client::join(&url, &other, &user_token, Options::default()).await),
        ErrorCode::TokenWrongRoom
    );
    let now = unix_ms() / 1000;
    let expired = tokens.mint(&RoomClaims {
        sub: user.id.clone(),
        room: booking.clone(),
        role: Role::Participant,
        publish: vec![Source::Camera, Source::Microphone],
        call: Some(booking.clone()),
        iat: now - 3600,
        exp: now - 60,
    });
    assert_eq!(
        refusal(Client::join(&url, &booking, &expired, Options::default()).await),
        ErrorCode::TokenExpired
    );

    // The call: both connect, about 20 seconds together, both leave.
    let expert_client = Client::join(&url, &booking, &expert_token, Options::default())
        .await
        .expect("the expert joins");
    assert_eq!(expert_client.welcome.role, Role::Host);
    assert_eq!(
        expert_client.welcome.call.as_deref(),
        Some(booking.as_str())
    );
    expert_client
        .peer
        .wait_for(WAIT, |st| st.connected)
        .expect("the expert connects");
    let expert_from = Instant::now();
    let user_client = Client::join(&url, &booking, &user_token, Options::default())
        .await
        .expect("the user joins");
    user_client
        .peer
        .wait_for(WAIT, |st| st.connected)
        .expect("the user connects");
    let user_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    user_client.send(&ClientMessage::Leave);
    let user_for = user_from.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    expert_client.send(&ClientMessage::Leave);
    let expert_for = expert_from.elapsed().as_secs_f64();

    // The presence reports arrive; both are gone.
    let deadline = Instant::now() + WAIT;
    let view = loop {
        let v = s
            .get(&format!("/api/v1/calls/{booking}"), Some(&user.access))
            .await
            .expect(200)
            .body;
        let totals: Vec<i64> = [&user, &expert]
            .iter()
            .filter_map(|who| {
                v["presence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["participant"] == who.id.as_str())
                    .and_then(|p| p["total_seconds"].as_i64())
            })
            .collect();
        let (user_s, expert_s) = (totals.first().copied(), totals.get(1).copied());
        if user_s.is_some_and(|u| u as f64 >= user_for - 1.0)
            && expert_s.is_some_and(|e| e as f64 >= expert_for - 1.0)
        {
            break v;
        }
        assert!(Instant::now() < deadline, "presence recorded: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let total = |who: &Session| {
        view["presence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["participant"] == who.id.as_str())
            .unwrap()["total_seconds"]
            .as_i64()
            .unwrap() as f64
    };
    assert!(
        (total(&user) - user_for).abs() <= 1.0,
        "the user was connected {user_for:.2} s, recorded {}",
        total(&user)
    );
    assert!(
        (total(&expert) - expert_for).abs() <= 1.0,
        "the expert was connected {expert_for:.2} s, recorded {}",
        total(&expert)
    );

    // Everyone left: once nobody came back within the grace, it settles.
    // (The reports saying they left may still be on their way.)
    sync_clock(&s);
    s.clock
        .advance(s.settings.calls.empty_grace + Duration::from_secs(2));
    let deadline = Instant::now() + WAIT;
    while s.state.calls.tick(100).await.unwrap().settled == 0 {
        if Instant::now() > deadline {
            let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                "SELECT participant, ranges, newest_seq, left_seq FROM call_presence",
            )
            .fetch_all(s.db.pool())
            .await
            .unwrap();
            panic!("the call did not settle once both left: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(s.state.calls.tick(100).await.unwrap().settled, 0);
    consumer.abort();
    let view = s
        .get(&format!("/api/v1/calls/{booking}"), Some(&expert.access))
        .await
        .expect(200)
        .body;
    assert_eq!(view["end_reason"], "completed");
    let billed = view["billed_seconds"].as_i64().unwrap() as f64;
    assert!(
        (billed - user_for).abs() <= 1.0,
        "billed {billed} s of {user_for:.2}"
    );
    // The 10-minute minimum at 3 coins a minute: 30 coins = 15,000 millimes,
    // 12,000 to the expert and 3,000 to the platform.
    assert_eq!(view["owed"], 15_000);
    assert_eq!(
        s.money(&user).await,
        (200 * 500 - 15_000 - 15_000, 15_000, 0),
        "paid the minimum; the other booking is still held"
    );
    assert_eq!(s.money(&expert).await, (0, 0, 12_000));
    let (revenue,): (i64,) =
        sqlx::query_as("SELECT balance FROM ledger_accounts WHERE id = 'revenue'")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(revenue, 3_000);
    s.assert_ledger_clean().await;
}
