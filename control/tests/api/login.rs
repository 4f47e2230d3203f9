use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    login_returns_tokens_and_refuses_wrong_passwords_alike,
    repeated_failures_lock_the_account_even_for_the_right_password,
    one_address_is_rate_limited_with_retry_after,
    refresh_rotates_and_a_reused_token_revokes_the_family,
    logout_ends_the_session_at_once,
    access_tokens_expire_and_bad_tokens_are_refused,
);

async fn login_returns_tokens_and_refuses_wrong_passwords_alike(backend: Backend) {
    let s = Server::start(backend).await;
    let id = s.signup("hela@example.tn").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.login("HELA@example.tn", PASSWORD).await.expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["account"]["id"], id.as_str());
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        s.get("/api/v1/me", Some(access)).await.expect(200).body["id"],
        id.as_str()
    );

    let wrong = s
        .login("hela@example.tn", "Wrong-Horse9")
        .await
        .expect_problem(401, "invalid_credentials");
    let unknown = s
        .login("nobody@example.tn", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(
        wrong.body, unknown.body,
        "no hint whether the account exists"
    );
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    let r = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "hela@example.tn" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("password".to_owned(), "required".to_owned())]
    );
}

async fn repeated_failures_lock_the_account_even_for_the_right_password(backend: Backend) {
    let s = Server::start(backend).await;
    s.signup("karim@example.tn").await.expect(201);
    for _ in 0..4 {
        s.login("karim@example.tn", "Wrong-Horse9")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    let fifth = s
        .login("karim@example.tn", "Wrong-Horse9")
        .await
        .expect_problem(429, "account_locked");
    assert_eq!(
        fifth.header("retry-after"),
        Some("900"),
        "locked for the configured 15 minutes"
    );
    let right = s
        .login("karim@example.tn", PASSWORD)
        .await
        .expect_problem(429, "account_locked");
    let retry: u64 = right.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));

    let metrics = s.metrics().await;
    assert!(metrics.contains("auth_lockouts_total 1\n"), "{metrics}");
    assert!(metrics.contains("auth_logins_total{outcome=\"locked\"} 1\n"));
    assert!(metrics.contains("auth_logins_total{outcome=\"invalid_credentials\"} 5\n"));

    s.clock.advance(Duration::from_secs(901));
    s.login("karim@example.tn", PASSWORD).await.expect(200);
    // A success resets the count: four more failures do not lock.
    for _ in 0..4 {
        s.login("karim@example.tn", "Wrong-Horse9")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    s.login("karim@example.tn", PASSWORD).await.expect(200);
}

async fn one_address_is_rate_limited_with_retry_after(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 3).await;
    for _ in 0..3 {
        s.login("nobody@example.tn", PASSWORD)
            .await
            .expect_problem(401, "invalid_credentials");
    }
    let r = s
        .login("nobody@example.tn", PASSWORD)
        .await
        .expect_problem(429, "rate_limited");
    assert_eq!(
        r.header("retry-after"),
        Some("20"),
        "one request every 20 s at 3 per minute"
    );
    s.signup("x@example.tn")
        .await
        .expect_problem(429, "rate_limited");
    s.clock.advance(Duration::from_secs(20));
    s.login("nobody@example.tn", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
}

async fn refresh_rotates_and_a_reused_token_revokes_the_family(backend: Backend) {
    let s = Server::start(backend).await;
    let session = s.user("rim@example.tn").await;
    let first = s.refresh(&session.refresh).await.expect(200);
    let second_refresh = first.body["refresh_token"].as_str().unwrap().to_owned();
    let new_access = first.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, session.refresh);
    s.get("/api/v1/me", Some(&new_access)).await.expect(200);

    // The spent token comes back: someone copied it. The whole family dies.
    s.refresh(&session.refresh)
        .await
        .expect_problem(401, "refresh_token_reused");
    s.refresh(&second_refresh)
        .await
        .expect_problem(401, "session_revoked");
    s.get("/api/v1/me", Some(&new_access))
        .await
        .expect_problem(401, "session_revoked");
    s.get("/api/v1/me", Some(&session.access))
        .await
        .expect_problem(401, "session_revoked");

    // Other sessions of the same person are untouched.
    let other = s.login("rim@example.tn", PASSWORD).await.expect(200);
    s.get("/api/v1/me", other.body["access_token"].as_str())
        .await
        .expect(200);
    s.refresh(&"made-up")
        .await
        .expect_problem(401, "invalid_refresh_token");

    // An unused refresh token past its 30 days is refused.
    s.clock.advance(Duration::from_secs(30 * 24 * 3600 + 1));
    s.refresh(&other.body["refresh_token"])
        .await
        .expect_problem(401, "refresh_token_expired");
}

async fn logout_ends_the_session_at_once(backend: Backend) {
    let s = Server::start(backend).await;
    let session = s.user("olfa@example.tn").await;
    s.post(
        "/api/v1/auth/logout",
        None,
        json!({ "refresh_token": session.refresh }),
    )
    .await
    .expect(204);
    s.get("/api/v1/me", Some(&session.access))
        .await
        .expect_problem(401, "session_revoked");
    s.refresh(&session.refresh)
        .await
        .expect_problem(401, "session_revoked");
    s.post(
        "/api/v1/auth/logout",
        None,
        json!({ "refresh_token": session.refresh }),
    )
    .await
    .expect(204);
}

async fn access_tokens_expire_and_bad_tokens_are_refused(backend: Backend) {
    let s = Server::start(backend).await;
    let session = s.user("anis@example.tn").await;
    s.get("/api/v1/me", None)
        .await
        .expect_problem(401, "unauthenticated");
    s.send(
        s.req(reqwest::Method::GET, "/api/v1/me", None)
            .header("authorization", "Basic abc"),
    )
    .await
    .expect_problem(401, "invalid_token");
    s.get("/api/v1/me", Some("not.a.jwt"))
        .await
        .expect_problem(401, "invalid_token");
    let mut forged = session.access.clone();
    forged.push('x');
    s.get("/api/v1/me", Some(&forged))
        .await
        .expect_problem(401, "invalid_token");

    s.clock.advance(Duration::from_secs(15 * 60));
    s.get("/api/v1/me", Some(&session.access))
        .await
        .expect_problem(401, "token_expired");
    let r = s.refresh(&session.refresh).await.expect(200);
    s.get("/api/v1/me", r.body["access_token"].as_str())
        .await
        .expect(200);
}
