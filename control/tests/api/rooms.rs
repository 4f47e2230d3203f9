use platform::Clock;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server};

both_backends!(
    an_administrator_mints_a_room_token_signalling_accepts,
    room_tokens_are_for_administrators_and_bad_requests_change_nothing,
);

async fn an_administrator_mints_a_room_token_signalling_accepts(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let minted = s
        .post(
            "/api/v1/admin/room-tokens",
            Some(&admin.access),
            json!({ "room": "trial", "participant": "Ines ✨", "role": "host", "ttl_seconds": 600 }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(minted["room"], "trial");
    assert_eq!(minted["participant"], "Ines ✨");
    assert_eq!(minted["publish"], json!(["camera", "microphone", "screen"]));
    assert!(minted["signalling_url"]
        .as_str()
        .unwrap()
        .ends_with("/v1/signal"));
    assert!(minted["signalling_url"]
        .as_str()
        .unwrap()
        .starts_with("ws://"));
    // What signalling checks: the claims, under the configured secret,
    // expiring with the clock the server runs on.
    let token = minted["token"].as_str().unwrap();
    let claims = s
        .state
        .room_tokens
        .verify(token, s.clock.now_ms() / 1000)
        .expect("a valid room token");
    assert_eq!(claims.room, "trial");
    assert_eq!(claims.sub, "Ines ✨");
    assert_eq!(claims.role, proto::sfu::Role::Host);
    assert_eq!(claims.exp - claims.iat, 600);
    assert_eq!(
        s.state
            .room_tokens
            .verify(token, s.clock.now_ms() / 1000 + 600),
        Err(platform::room_token::RoomTokenError::Expired)
    );

    let viewer = s
        .post(
            "/api/v1/admin/room-tokens",
            Some(&admin.access),
            json!({ "room": "trial", "participant": "v", "role": "viewer" }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(viewer["publish"], json!([]));
}

async fn room_tokens_are_for_administrators_and_bad_requests_change_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let user = s.user("someone@example.tn").await;
    let body = json!({ "room": "r", "participant": "p", "role": "host" });
    s.post(
        "/api/v1/admin/room-tokens",
        Some(&user.access),
        body.clone(),
    )
    .await
    .expect_problem(403, "forbidden");
    s.post("/api/v1/admin/room-tokens", None, body)
        .await
        .expect(401);
    let admin = s.admin().await;
    let bad = s
        .post(
            "/api/v1/admin/room-tokens",
            Some(&admin.access),
            json!({ "room": "", "participant": "a\u{7}b", "role": "viewer", "publish": ["camera"], "ttl_seconds": 999999999 }),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut fields: Vec<String> = bad.field_codes().into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(fields, ["participant", "publish", "room", "ttl_seconds"]);
    s.post(
        "/api/v1/admin/room-tokens",
        Some(&admin.access),
        json!({ "room": "r", "participant": "p", "role": "emperor" }),
    )
    .await
    .expect(422);
}
