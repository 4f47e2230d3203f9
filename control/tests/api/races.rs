//! Concurrent requests that race for one thing: exactly one wins, the others
//! get the documented refusal, and none gets a 500 ("database is locked").

use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    concurrent_refreshes_of_one_token_have_exactly_one_winner,
    concurrent_signups_with_one_email_create_one_account,
);

async fn concurrent_refreshes_of_one_token_have_exactly_one_winner(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    let session = s.user("race@example.tn").await;
    let attempts = (0..16).map(|_| s.refresh(&session.refresh));
    let results = join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(
            ["refresh_token_reused", "session_revoked"].contains(&r.code()),
            "{}",
            r.body
        );
    }
    // The replays revoked the session, the winner's new token included.
    let winner = results.iter().find(|r| r.status == 200).unwrap();
    s.refresh(&winner.body["refresh_token"])
        .await
        .expect_problem(401, "session_revoked");
}

async fn concurrent_signups_with_one_email_create_one_account(backend: Backend) {
    let s = Server::start_with(backend, |c| c.auth.ip_requests_per_minute = 1000).await;
    let attempts = (0..12).map(|i| {
        let email = if i % 2 == 0 {
            "twin@example.tn"
        } else {
            "TWIN@example.tn"
        };
        s.post(
            "/api/v1/auth/signup",
            None,
            json!({ "first_name": "T", "last_name": "W", "email": email, "password": PASSWORD }),
        )
    });
    let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE email_normalized = $1")
            .bind("twin@example.tn")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(count, 1);
}
