use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    password_reset_works_once_and_ends_every_session,
    reset_links_expire_and_are_refused_when_tampered,
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
);

const NEW: &str = "Brand-New-Pass7";

async fn password_reset_works_once_and_ends_every_session(backend: Backend) {
    let s = Server::start(backend).await;
    let session = s.user("ines@example.tn").await;
    s.request_reset("nobody@example.tn").await.expect(202);
    s.request_reset("Ines@example.tn").await.expect(202);
    let token = s.link_token("ines@example.tn", "/reset-password").await;

    // The page the link opens is served.
    let page = s
        .get(&format!("/reset-password?token={token}"), None)
        .await
        .expect(200);
    assert!(String::from_utf8_lossy(&page.bytes).contains("/api/v1/auth/password-reset/confirm"));

    let weak = s
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({ "token": token, "new_password": "weakweakweak" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        weak.field_codes(),
        [("new_password".to_owned(), "weak".to_owned())]
    );
    s.login("ines@example.tn", PASSWORD).await.expect(200);

    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "new_password": NEW }),
    )
    .await
    .expect(204);
    s.login("ines@example.tn", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    s.login("ines@example.tn", NEW).await.expect(200);
    s.get("/api/v1/me", Some(&session.access))
        .await
        .expect_problem(401, "session_revoked");

    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "new_password": "Another-Pass8" }),
    )
    .await
    .expect_problem(400, "token_used");
    s.login("ines@example.tn", NEW).await.expect(200);
}

async fn reset_links_expire_and_are_refused_when_tampered(backend: Backend) {
    let s = Server::start(backend).await;
    s.user("walid@example.tn").await;
    s.request_reset("walid@example.tn").await.expect(202);
    let token = s.link_token("walid@example.tn", "/reset-password").await;
    // A verification link's token is signed by the same server but is not a reset token.
    let verification = s.mails_to("walid@example.tn").into_iter().next().unwrap();
    let verification = crate::common::token_in(&verification, "/api/v1/auth/verify-email").unwrap();
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": verification, "new_password": NEW }),
    )
    .await
    .expect_problem(400, "invalid_token");
    // A different account id in the payload, the signature kept.
    let (payload, signature) = token.split_once('.').unwrap();
    let mut bytes = payload.as_bytes().to_vec();
    bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
    let forged = format!("{}.{signature}", String::from_utf8(bytes).unwrap());
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": forged, "new_password": NEW }),
    )
    .await
    .expect_problem(400, "invalid_token");
    let tampered = format!("{}x", token);
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": tampered, "new_password": NEW }),
    )
    .await
    .expect_problem(400, "invalid_token");
    s.clock.advance(Duration::from_secs(3601));
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "new_password": NEW }),
    )
    .await
    .expect_problem(400, "token_expired");
    s.login("walid@example.tn", PASSWORD).await.expect(200);
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(backend: Backend) {
    let s = Server::start(backend).await;
    let phone = s.user("mouna@example.tn").await;
    let laptop = s.login("mouna@example.tn", PASSWORD).await.expect(200);
    let laptop_access = laptop.body["access_token"].as_str().unwrap();

    let r = s
        .post(
            "/api/v1/me/password",
            Some(laptop_access),
            json!({ "current_password": "Wrong-Horse9", "new_password": NEW }),
        )
        .await
        .expect_problem(403, "wrong_password");
    assert_eq!(
        r.field_codes(),
        [("current_password".to_owned(), "wrong".to_owned())]
    );
    s.post(
        "/api/v1/me/password",
        Some(laptop_access),
        json!({ "current_password": PASSWORD, "new_password": "mouna2024abc" }),
    )
    .await
    .expect_problem(422, "validation_failed");

    let r = s
        .post(
            "/api/v1/me/password",
            Some(laptop_access),
            json!({ "current_password": PASSWORD, "new_password": NEW }),
        )
        .await
        .expect(200);
    s.get("/api/v1/me", r.body["access_token"].as_str())
        .await
        .expect(200);
    s.get("/api/v1/me", Some(laptop_access))
        .await
        .expect_problem(401, "session_revoked");
    s.get("/api/v1/me", Some(&phone.access))
        .await
        .expect_problem(401, "session_revoked");
    s.login("mouna@example.tn", NEW).await.expect(200);
}
