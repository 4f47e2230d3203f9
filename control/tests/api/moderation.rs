//! Reports and moderation over HTTP: filing reports, the administrators'
//! queue, hiding experts, suspending accounts, and the record of actions.

use std::time::Duration;

use platform::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::*;

both_backends!(
    profiles_are_reported_once_with_valid_fields,
    the_queue_is_oldest_first_and_pages_without_duplicates,
    hidden_experts_leave_search_until_unhidden,
    closing_a_report_dismisses_hides_or_suspends,
    moderation_is_for_administrators_and_every_action_is_recorded,
);

async fn server(backend: Backend) -> Server {
    // Many accounts sign up and log in from one address.
    Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await
}

async fn listed_expert(s: &Server, email: &str, last: &str) -> Session {
    s.approved_expert(
        email,
        "Nour",
        last,
        json!({ "bio": "Coaching", "domains": ["well-being"], "prices": { "text_message": 3 } }),
    )
    .await
}

async fn report(s: &Server, by: &Session, target: &str, reason: &str) -> Resp {
    s.post(
        "/api/v1/reports",
        Some(&by.access),
        json!({ "target_kind": "profile", "target_id": target, "reason": reason }),
    )
    .await
}

async fn close(s: &Server, admin: &Session, report: &Value, action: &str) -> Resp {
    let id = report["id"].as_str().unwrap();
    s.post(
        &format!("/api/v1/admin/reports/{id}/close"),
        Some(&admin.access),
        json!({ "action": action, "reason": format!("{action} after review") }),
    )
    .await
}

async fn open_queue(s: &Server, admin: &Session) -> Vec<Value> {
    let r = s
        .get("/api/v1/admin/reports", Some(&admin.access))
        .await
        .expect(200);
    r.body["items"].as_array().unwrap().clone()
}

/// The public page, as an anonymous visitor asks for it.
async fn page_status(s: &Server, expert: &Session) -> u16 {
    s.get(&format!("/api/v1/experts/{}", expert.id), None)
        .await
        .status
}

async fn profiles_are_reported_once_with_valid_fields(backend: Backend) {
    let s = server(backend).await;
    let expert = listed_expert(&s, "nour@example.tn", "Gharbi").await;
    let user = s.user("user@example.tn").await;
    let other = s.user("other@example.tn").await;

    let r = s
        .post(
            "/api/v1/reports",
            Some(&user.access),
            json!({ "target_kind": "profile", "target_id": expert.id, "reason": "fraud",
                    "details": "  Asks for payment outside the platform  " }),
        )
        .await
        .expect(201);
    assert_eq!(r.body["state"], "open");
    assert_eq!(r.body["reason"], "fraud");
    assert_eq!(r.body["details"], "Asks for payment outside the platform");
    // The same report again: the one already open, nothing new queued.
    let again = report(&s, &user, &expert.id, "spam").await.expect(200);
    assert_eq!(again.body["id"], r.body["id"]);
    report(&s, &other, &expert.id, "abuse").await.expect(201);
    let admin = s.admin().await;
    let queue = open_queue(&s, &admin).await;
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[0]["open_reports_on_target"], 2);
    assert_eq!(queue[0]["reporter"]["first_name"], "Amira");
    assert_eq!(queue[0]["target"]["last_name"], "Gharbi");
    assert_eq!(queue[0]["target"]["role"], "expert");
    assert_eq!(queue[0]["target"]["status"], "active");
    assert_eq!(queue[0]["target"]["hidden"], false);

    let bad = report(&s, &user, &expert.id, "boring")
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(bad.field_codes()[0].0, "reason");
    let long = s
        .post(
            "/api/v1/reports",
            Some(&user.access),
            json!({ "target_kind": "profile", "target_id": expert.id, "reason": "other",
                    "details": "x".repeat(2001) }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        long.field_codes(),
        [("details".to_owned(), "too_long".to_owned())]
    );
    let myself = report(&s, &user, &user.id, "spam")
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        myself.field_codes(),
        [("target_id".to_owned(), "self".to_owned())]
    );
    // A message report names a message of one's own conversations; an
    // account id names none (messaging's tests cover the rest).
    s.post(
        "/api/v1/reports",
        Some(&user.access),
        json!({ "target_kind": "message", "target_id": expert.id, "reason": "abuse" }),
    )
    .await
    .expect_problem(404, "not_found");
    for unknown in [uuid::Uuid::new_v4().to_string(), "not-an-id".to_owned()] {
        report(&s, &user, &unknown, "spam")
            .await
            .expect_problem(404, "not_found");
    }
    s.post("/api/v1/reports", None, json!({}))
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(
        open_queue(&s, &admin).await.len(),
        2,
        "refusals queue nothing"
    );
}

async fn the_queue_is_oldest_first_and_pages_without_duplicates(backend: Backend) {
    let s = server(backend).await;
    let reporters = [s.user("r1@example.tn").await, s.user("r2@example.tn").await];
    let targets = [
        s.user("t1@example.tn").await,
        s.user("t2@example.tn").await,
        s.user("t3@example.tn").await,
    ];
    // (filed at, id), with two reports filed in the same millisecond.
    let mut filed = Vec::new();
    for (i, (by, target)) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 0)]
        .into_iter()
        .enumerate()
    {
        if i != 1 {
            s.clock.advance(Duration::from_millis(7));
        }
        let r = report(&s, &reporters[by], &targets[target].id, "spam").await;
        if i < 6 {
            let r = r.expect(201);
            filed.push((s.clock.now_ms(), r.body["id"].as_str().unwrap().to_owned()));
        } else {
            r.expect(200);
        }
    }
    filed.sort();
    let expected: Vec<String> = filed.into_iter().map(|(_, id)| id).collect();

    let admin = s.admin().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/reports?state=open&limit=4&cursor={c}"),
            None => "/api/v1/admin/reports?limit=4".to_owned(),
        };
        let page = s.get(&path, Some(&admin.access)).await.expect(200).body;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "oldest first, each once");

    s.get("/api/v1/admin/reports?cursor=bm9wZQ", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    s.get("/api/v1/admin/reports?limit=0", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    s.get("/api/v1/admin/reports?state=pending", Some(&admin.access))
        .await
        .expect_problem(400, "invalid_query");
    let closed = s
        .get("/api/v1/admin/reports?state=closed", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(closed.body["items"], json!([]));
}

async fn hidden_experts_leave_search_until_unhidden(backend: Backend) {
    let s = server(backend).await;
    let expert = listed_expert(&s, "nour@example.tn", "Gharbi").await;
    let user = s.user("user@example.tn").await;
    let admin = s.admin().await;
    let hide = format!("/api/v1/admin/experts/{}/hide", expert.id);
    let unhide = format!("/api/v1/admin/experts/{}/unhide", expert.id);
    let listed = || async {
        let mut conn = s.db.pool().acquire().await.unwrap();
        let listed: i64 = sqlx::query_scalar("SELECT listed FROM experts WHERE account_id = $1")
            .bind(&expert.id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let terms: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM expert_terms WHERE account_id = $1")
                .bind(&expert.id)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        (listed, terms > 0)
    };
    assert_eq!(page_status(&s, &expert).await, 200);
    assert_eq!(listed().await, (1, true));

    for body in [json!({}), json!({ "reason": "  " })] {
        s.post(&hide, Some(&admin.access), body)
            .await
            .expect_problem(422, "validation_failed");
    }
    s.post(
        &format!("/api/v1/admin/experts/{}/hide", user.id),
        Some(&admin.access),
        json!({ "reason": "not an expert" }),
    )
    .await
    .expect_problem(404, "not_found");

    let r = s
        .post(
            &hide,
            Some(&admin.access),
            json!({ "reason": "Fake credentials" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (r.body["hidden"].clone(), r.body["listed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(page_status(&s, &expert).await, 404);
    assert_eq!(listed().await, (0, false), "out of search");
    let own = s
        .get("/api/v1/experts/me", Some(&expert.access))
        .await
        .expect(200);
    assert_eq!(own.body["hidden"], true, "the expert sees why");

    s.post(
        &unhide,
        Some(&admin.access),
        json!({ "reason": "Credentials checked" }),
    )
    .await
    .expect(200);
    assert_eq!(page_status(&s, &expert).await, 200);
    assert_eq!(listed().await, (1, true));
}

async fn closing_a_report_dismisses_hides_or_suspends(backend: Backend) {
    let s = server(backend).await;
    let nour = listed_expert(&s, "nour@example.tn", "Gharbi").await;
    let sami = listed_expert(&s, "sami@example.tn", "Trabelsi").await;
    let u1 = s.user("u1@example.tn").await;
    let u2 = s.user("u2@example.tn").await;
    let admin = s.admin().await;

    // Dismissing one report closes every open report on that profile.
    let first = report(&s, &u1, &nour.id, "spam").await.expect(201).body;
    report(&s, &u2, &nour.id, "abuse").await.expect(201);
    let r = close(&s, &admin, &first, "dismiss").await.expect(200);
    assert_eq!(r.body["state"], "closed");
    assert_eq!(r.body["closed_by"], admin.id.as_str());
    assert!(open_queue(&s, &admin).await.is_empty());
    let closed = s
        .get("/api/v1/admin/reports?state=closed", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(closed.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        page_status(&s, &nour).await,
        200,
        "dismissal leaves the profile"
    );
    close(&s, &admin, &first, "dismiss")
        .await
        .expect_problem(409, "report_closed");
    let unknown = json!({ "id": uuid::Uuid::new_v4().to_string() });
    close(&s, &admin, &unknown, "dismiss")
        .await
        .expect_problem(404, "not_found");

    // Once handled, the same person may report again.
    let second = report(&s, &u1, &nour.id, "fraud").await.expect(201).body;
    assert_ne!(second["id"], first["id"]);
    let r = close(&s, &admin, &second, "hide_profile").await.expect(200);
    assert_eq!(r.body["target"]["hidden"], true);
    assert_eq!(page_status(&s, &nour).await, 404);

    // Suspension: the account's tokens stop working and its page goes.
    let third = report(&s, &u2, &sami.id, "fraud").await.expect(201).body;
    close(&s, &admin, &third, "suspend_account")
        .await
        .expect(200);
    s.get("/api/v1/experts/me", Some(&sami.access))
        .await
        .expect_problem(401, "session_revoked");
    s.login("sami@example.tn", PASSWORD)
        .await
        .expect_problem(403, "account_deactivated");
    assert_eq!(page_status(&s, &sami).await, 404);

    // The direct route does the same; administrators cannot suspend themselves.
    let suspended = s
        .post(
            &format!("/api/v1/admin/accounts/{}/suspend", u1.id),
            Some(&admin.access),
            json!({ "reason": "Harassing experts" }),
        )
        .await
        .expect(200);
    assert_eq!(suspended.body["status"], "deactivated");
    s.get("/api/v1/me", Some(&u1.access))
        .await
        .expect_problem(401, "session_revoked");
    s.post(
        &format!("/api/v1/admin/accounts/{}/suspend", admin.id),
        Some(&admin.access),
        json!({ "reason": "oops" }),
    )
    .await
    .expect_problem(409, "cannot_target_self");
}

async fn moderation_is_for_administrators_and_every_action_is_recorded(backend: Backend) {
    let s = server(backend).await;
    let nour = listed_expert(&s, "nour@example.tn", "Gharbi").await;
    let user = s.user("user@example.tn").await;
    let admin = s.admin().await;
    let filed = report(&s, &user, &nour.id, "inappropriate")
        .await
        .expect(201)
        .body;
    let id = filed["id"].as_str().unwrap();

    let because = json!({ "reason": "x" });
    for token in [&user.access, &nour.access] {
        for path in [
            "/api/v1/admin/reports".to_owned(),
            "/api/v1/admin/moderation/actions".to_owned(),
        ] {
            s.get(&path, Some(token))
                .await
                .expect_problem(403, "forbidden");
        }
        for path in [
            format!("/api/v1/admin/experts/{}/hide", nour.id),
            format!("/api/v1/admin/experts/{}/unhide", nour.id),
            format!("/api/v1/admin/accounts/{}/suspend", nour.id),
        ] {
            s.post(&path, Some(token), because.clone())
                .await
                .expect_problem(403, "forbidden");
        }
        s.post(
            &format!("/api/v1/admin/reports/{id}/close"),
            Some(token),
            json!({ "action": "dismiss", "reason": "x" }),
        )
        .await
        .expect_problem(403, "forbidden");
    }
    assert_eq!(page_status(&s, &nour).await, 200, "refusals change nothing");

    s.post(
        &format!("/api/v1/admin/experts/{}/hide", nour.id),
        Some(&admin.access),
        json!({ "reason": "Under review" }),
    )
    .await
    .expect(200);
    s.clock.advance(Duration::from_secs(1));
    close(&s, &admin, &filed, "dismiss").await.expect(200);
    s.clock.advance(Duration::from_secs(1));
    s.post(
        &format!("/api/v1/admin/accounts/{}/suspend", user.id),
        Some(&admin.access),
        json!({ "reason": "False reports" }),
    )
    .await
    .expect(200);

    let all = s
        .get("/api/v1/admin/moderation/actions", Some(&admin.access))
        .await
        .expect(200);
    let summary: Vec<(String, String, String)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["admin"]["id"], admin.id.as_str());
            assert_eq!(a["admin"]["last_name"], "Admin");
            let s = |k: &str| a[k].as_str().unwrap().to_owned();
            (s("action"), s("target_id"), s("reason"))
        })
        .collect();
    let want = [
        ("suspend_account", &user.id, "False reports"),
        ("dismiss", &nour.id, "dismiss after review"),
        ("hide_profile", &nour.id, "Under review"),
    ]
    .map(|(a, t, r)| (a.to_owned(), t.clone(), r.to_owned()));
    assert_eq!(summary, want, "newest first, with author and reason");
    assert_eq!(all.body["items"][1]["report_id"], id);

    let on_nour = s
        .get(
            &format!(
                "/api/v1/admin/moderation/actions?target_id={}&limit=1",
                nour.id
            ),
            Some(&admin.access),
        )
        .await
        .expect(200);
    assert_eq!(on_nour.body["items"][0]["action"], "dismiss");
    let cursor = on_nour.body["next_cursor"].as_str().unwrap();
    let rest = s
        .get(
            &format!(
                "/api/v1/admin/moderation/actions?target_id={}&cursor={cursor}",
                nour.id
            ),
            Some(&admin.access),
        )
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["action"], "hide_profile");
    assert_eq!(rest.body["next_cursor"], Value::Null);

    // Ids that are not ids name nothing, whatever bytes they carry.
    let closing = json!({ "action": "dismiss", "reason": "x" });
    for (path, body) in [
        ("/api/v1/admin/experts/%00/hide", &because),
        ("/api/v1/admin/experts/not-an-id/unhide", &because),
        ("/api/v1/admin/accounts/%00/suspend", &because),
        ("/api/v1/admin/reports/%00/close", &closing),
    ] {
        s.post(path, Some(&admin.access), body.clone())
            .await
            .expect_problem(404, "not_found");
    }
    s.get(
        "/api/v1/admin/moderation/actions?target_id=%00",
        Some(&admin.access),
    )
    .await
    .expect_problem(400, "invalid_query");
}
