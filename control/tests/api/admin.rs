use std::collections::HashSet;

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    admins_search_and_page_through_accounts,
    a_deactivated_account_cannot_log_in_until_reactivated,
    deletion_anonymises_and_keeps_the_row,
);

async fn admins_search_and_page_through_accounts(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    let admin = s.admin().await;
    for i in 0..7 {
        s.signup(&format!("user{i}@example.tn")).await.expect(201);
    }
    s.post(
        "/api/v1/auth/signup",
        None,
        json!({ "first_name": "Mehdi", "last_name": "100%_Expert", "email": "mehdi@expert.tn", "password": PASSWORD, "role": "expert" }),
    )
    .await
    .expect(201);

    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/admin/accounts?limit=3&cursor={c}"),
            None => "/api/v1/admin/accounts?limit=3".to_owned(),
        };
        let page = s.get(&q, Some(&admin.access)).await.expect(200).body;
        for item in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_owned()),
                "no account twice"
            );
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        (seen.len(), pages),
        (9, 3),
        "7 users, 1 expert, 1 admin in pages of 3"
    );

    let r = s
        .get("/api/v1/admin/accounts?q=EXPERT.tn", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = s
        .get("/api/v1/admin/accounts?q=100%25_", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(
        r.body["items"][0]["email"], "mehdi@expert.tn",
        "% and _ match literally"
    );
    let r = s
        .get("/api/v1/admin/accounts?q=0%25", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        1,
        "only the literal '0%' matches"
    );
    let r = s
        .get("/api/v1/admin/accounts?role=expert", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    s.get("/api/v1/admin/accounts?limit=0", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    s.get("/api/v1/admin/accounts?role=wizard", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    s.get("/api/v1/admin/accounts?cursor=%%%", Some(&admin.access))
        .await
        .expect(400);
    s.get("/api/v1/admin/accounts?cursor=bm9wZQ", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
}

async fn a_deactivated_account_cannot_log_in_until_reactivated(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let user = s.user("fares@example.tn").await;
    let r = s
        .post(
            &format!("/api/v1/admin/accounts/{}/deactivate", user.id),
            Some(&admin.access),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "deactivated");
    s.login("fares@example.tn", PASSWORD)
        .await
        .expect_problem(403, "account_deactivated");
    s.login("fares@example.tn", "Wrong-Horse9")
        .await
        .expect_problem(401, "invalid_credentials");
    s.get("/api/v1/me", Some(&user.access))
        .await
        .expect_problem(401, "session_revoked");
    s.refresh(&user.refresh)
        .await
        .expect_problem(401, "session_revoked");

    s.post(
        &format!("/api/v1/admin/accounts/{}/deactivate", admin.id),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect_problem(409, "cannot_target_self");
    s.post(
        "/api/v1/admin/accounts/missing/deactivate",
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");

    s.post(
        &format!("/api/v1/admin/accounts/{}/activate", user.id),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    s.login("fares@example.tn", PASSWORD).await.expect(200);

    let actions: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, admin_id FROM admin_actions WHERE account_id = $1 ORDER BY at, action DESC",
    )
    .bind(&user.id)
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            ("deactivate".to_owned(), admin.id.clone()),
            ("activate".to_owned(), admin.id.clone())
        ]
    );
}

async fn deletion_anonymises_and_keeps_the_row(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let user = s.user("dalia@example.tn").await;
    s.patch(
        &format!("/api/v1/accounts/{}", user.id),
        Some(&user.access),
        json!({ "bio": "personal story", "interests": ["poetry"] }),
    )
    .await
    .expect(200);
    let png = {
        let img = image::RgbImage::new(8, 8);
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    s.send(
        s.req(
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/photo", user.id),
            Some(&user.access),
        )
        .header("content-type", "image/png")
        .body(png),
    )
    .await
    .expect(200);
    s.delete(
        &format!("/api/v1/admin/accounts/{}", user.id),
        Some(&admin.access),
    )
    .await
    .expect(204);

    s.login("dalia@example.tn", PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    s.get(&format!("/api/v1/accounts/{}", user.id), None)
        .await
        .expect_problem(404, "not_found");
    let kept = s
        .get(
            &format!("/api/v1/admin/accounts/{}", user.id),
            Some(&admin.access),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(kept["status"], "deleted");
    assert_eq!(kept["bio"], serde_json::Value::Null);
    let text = kept.to_string();
    for personal in ["dalia", "Amira", "Ben Salah", "poetry", "personal story"] {
        assert!(!text.contains(personal), "{personal} left in {kept}");
    }
    assert_eq!(kept["photo_url"], serde_json::Value::Null);
    assert!(
        std::fs::read_dir(s.objects().join("photos")).map_or(true, |mut d| d.all(|e| {
            std::fs::read_dir(e.unwrap().path())
                .unwrap()
                .next()
                .is_none()
        })),
        "the photo file is gone"
    );
    let (search_text, email_normalized): (String, String) =
        sqlx::query_as("SELECT search_text, email_normalized FROM accounts WHERE id = $1")
            .bind(&user.id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert!(
        !search_text.contains("dalia") && !search_text.contains("amira"),
        "{search_text}"
    );
    assert!(!email_normalized.contains("dalia"));
    s.delete(
        &format!("/api/v1/admin/accounts/{}", user.id),
        Some(&admin.access),
    )
    .await
    .expect_problem(409, "account_deleted");
    // The address is free again for a new sign-up.
    s.signup("dalia@example.tn").await.expect(201);
}
