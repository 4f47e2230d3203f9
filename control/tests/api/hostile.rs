//! Input a hostile or careless client sends: odd bytes, missing fields,
//! parallel guessing. Every answer is a documented 4xx; nothing is a 500.

use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    nul_characters_are_refused_wherever_a_client_can_put_them,
    missing_fields_are_named_on_every_endpoint,
    parallel_guesses_cannot_get_past_the_lockout,
    an_unknown_address_locks_like_a_registered_one,
    guessing_the_current_password_is_limited_too,
    ids_in_paths_that_are_not_uuids_name_nothing,
);

/// A NUL byte or any non-UUID where a path names a record is 404, never a
/// database error (PostgreSQL refuses NUL in text).
async fn ids_in_paths_that_are_not_uuids_name_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    for id in ["%00", "not-a-uuid"] {
        for (method, path) in [
            (
                reqwest::Method::GET,
                format!("/api/v1/wallet/purchases/{id}"),
            ),
            (
                reqwest::Method::GET,
                format!("/api/v1/payments/return/{id}"),
            ),
            (reqwest::Method::GET, format!("/api/v1/experts/{id}")),
            (
                reqwest::Method::GET,
                format!("/api/v1/experts/{id}/documents"),
            ),
            (reqwest::Method::GET, format!("/api/v1/admin/experts/{id}")),
            (
                reqwest::Method::POST,
                format!("/api/v1/admin/experts/{id}/approve"),
            ),
            (reqwest::Method::GET, format!("/api/v1/bookings/{id}")),
            (
                reqwest::Method::POST,
                format!("/api/v1/notifications/{id}/read"),
            ),
            (
                reqwest::Method::GET,
                format!("/api/v1/payouts/{id}/statement"),
            ),
            (
                reqwest::Method::POST,
                format!("/api/v1/admin/payouts/{id}/approve"),
            ),
            (
                reqwest::Method::POST,
                format!("/api/v1/admin/reports/{id}/close"),
            ),
            (reqwest::Method::GET, format!("/api/v1/conversations/{id}")),
            (
                reqwest::Method::GET,
                format!("/api/v1/conversations/{id}/messages"),
            ),
            (
                reqwest::Method::POST,
                format!("/api/v1/conversations/{id}/read"),
            ),
            (reqwest::Method::GET, format!("/api/v1/uploads/{id}")),
            (reqwest::Method::GET, format!("/api/v1/messages/{id}/video")),
            (reqwest::Method::GET, format!("/api/v1/admin/messages/{id}")),
            (reqwest::Method::PUT, format!("/api/v1/blocks/{id}")),
        ] {
            let r = s
                .send(
                    s.req(method.clone(), &path, Some(&admin.access))
                        .json(&json!({ "action": "dismiss", "reason": "x" })),
                )
                .await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
            assert_eq!(r.code(), "not_found", "{method} {path}");
        }
    }
}

async fn nul_characters_are_refused_wherever_a_client_can_put_them(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    let me = s.user("nul@example.tn").await;
    let admin = s.admin().await;
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/resend-verification",
        "/api/v1/auth/password-reset/request",
    ] {
        let r = s
            .post(
                path,
                None,
                json!({ "email": "a\u{0}@example.tn", "password": PASSWORD }),
            )
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [("email".to_owned(), "invalid".to_owned())],
            "{path}"
        );
    }
    let r = s
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "first_name": "A", "last_name": "B", "email": "x@example.tn", "password": PASSWORD, "bio": "hi\u{0}" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(r.field_codes(), [("bio".to_owned(), "invalid".to_owned())]);
    let r = s
        .patch(
            &format!("/api/v1/accounts/{}", me.id),
            Some(&me.access),
            json!({ "interests": ["ok", "bad\u{0}"] }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("interests[1]".to_owned(), "invalid".to_owned())]
    );
    s.patch(
        &format!("/api/v1/accounts/{}", me.id),
        Some(&me.access),
        json!({ "bio": "bell\u{7}" }),
    )
    .await
    .expect_problem(422, "validation_failed");
    s.get("/api/v1/accounts/%00", None)
        .await
        .expect_problem(404, "not_found");
    s.get("/api/v1/accounts/not-a-uuid/photo", None)
        .await
        .expect_problem(404, "not_found");
    s.get("/api/v1/admin/accounts?q=%00", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    s.post(
        "/api/v1/admin/accounts/%00/deactivate",
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    // Line breaks and tabs stay welcome in a bio.
    s.patch(
        &format!("/api/v1/accounts/{}", me.id),
        Some(&me.access),
        json!({ "bio": "line 1\n\tline 2" }),
    )
    .await
    .expect(200);
}

async fn missing_fields_are_named_on_every_endpoint(backend: Backend) {
    let s = Server::start(backend).await;
    let me = s.user("fields@example.tn").await;
    let cases = [
        ("/api/v1/auth/refresh", "refresh_token"),
        ("/api/v1/auth/logout", "refresh_token"),
        ("/api/v1/auth/verify-email", "token"),
        ("/api/v1/auth/resend-verification", "email"),
        ("/api/v1/auth/password-reset/request", "email"),
        ("/api/v1/auth/password-reset/confirm", "token"),
        ("/api/v1/me/password", "current_password"),
    ];
    for (path, field) in cases {
        let r = s
            .post(path, Some(&me.access), json!({}))
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            r.field_codes()
                .contains(&(field.to_owned(), "required".to_owned())),
            "{path}: {}",
            r.body
        );
    }
    let r = s
        .patch(
            &format!("/api/v1/accounts/{}", me.id),
            Some(&me.access),
            json!({ "nickname": "x" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("nickname".to_owned(), "unknown".to_owned())]
    );
    s.post("/api/v1/auth/refresh", None, json!([1, 2]))
        .await
        .expect_problem(422, "validation_failed");
}

async fn parallel_guesses_cannot_get_past_the_lockout(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    s.user("target@example.tn").await;
    let guesses = (0..20).map(|i| {
        s.login(
            "target@example.tn",
            if i == 19 { PASSWORD } else { "Wrong-Horse9" },
        )
    });
    let statuses: Vec<u16> = join_all(guesses).await.iter().map(|r| r.status).collect();
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 5,
        "at most 5 passwords checked per lockout, got {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
    if !statuses.contains(&200) {
        // The right password came after the lock: it is refused too.
        s.login("target@example.tn", PASSWORD)
            .await
            .expect_problem(429, "account_locked");
    }
}

async fn an_unknown_address_locks_like_a_registered_one(backend: Backend) {
    let s = Server::start(backend).await;
    s.user("known@example.tn").await;
    let mut answers = Vec::new();
    for email in ["known@example.tn", "unknown@example.tn"] {
        let mut codes = Vec::new();
        for _ in 0..6 {
            let r = s.login(email, "Wrong-Horse9").await;
            codes.push((
                r.status,
                r.code().to_owned(),
                r.header("retry-after").map(str::to_owned),
            ));
        }
        answers.push(codes);
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answers, so a lockout reveals nothing"
    );
    assert_eq!(answers[0][4].1, "account_locked");
}

async fn guessing_the_current_password_is_limited_too(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    let me = s.user("stolen@example.tn").await;
    let guess = json!({ "current_password": "Wrong-Horse9", "new_password": "Brand-New-Pass7" });
    for _ in 0..4 {
        s.post("/api/v1/me/password", Some(&me.access), guess.clone())
            .await
            .expect_problem(403, "wrong_password");
    }
    s.post("/api/v1/me/password", Some(&me.access), guess.clone())
        .await
        .expect_problem(429, "account_locked");
    let right = json!({ "current_password": PASSWORD, "new_password": "Brand-New-Pass7" });
    s.post("/api/v1/me/password", Some(&me.access), right)
        .await
        .expect_problem(429, "account_locked");
    s.login("stolen@example.tn", PASSWORD)
        .await
        .expect_problem(429, "account_locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_s_mailbox_can_be_flooded_with_links() {
    let s = Server::start_with(Backend::Sqlite, |c| c.auth.ip_requests_per_minute = 1000).await;
    s.signup("victim@example.tn").await.expect(201);
    for _ in 0..6 {
        s.request_reset("victim@example.tn").await.expect(202);
    }
    s.wait_for_mails("victim@example.tn", 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        s.mails_to("victim@example.tn").len(),
        3,
        "three links, then one per 10 minutes"
    );
    s.clock.advance(std::time::Duration::from_secs(600));
    s.request_reset("victim@example.tn").await.expect(202);
    assert_eq!(s.wait_for_mails("victim@example.tn", 4).await.len(), 4);
}
