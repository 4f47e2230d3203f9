//! Housekeeping deletes only what can no longer matter.

use std::time::Duration;

use control::maintenance::{purge, Purged};
use control::Settings;
use platform::Clock;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(expired_identity_rows_are_purged_and_live_ones_kept);

const DAY: u64 = 24 * 3600;

async fn expired_identity_rows_are_purged_and_live_ones_kept(backend: Backend) {
    let s = Server::start(backend).await;
    let auth = Settings::default().auth;
    // A session revoked by a password reset, a failed attempt, and a live
    // session that will rotate.
    let old = s.user("old@example.tn").await;
    s.request_reset("old@example.tn").await.expect(202);
    let token = s.link_token("old@example.tn", "/reset-password").await;
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "new_password": "Brand-New-Pass7" }),
    )
    .await
    .expect(204);
    s.login("nobody@example.tn", PASSWORD).await.expect(401);
    let rotator = s.user("rotator@example.tn").await;

    s.clock.advance(Duration::from_secs(29 * DAY));
    let rotated = s.refresh(&rotator.refresh).await.expect(200);
    s.clock.advance(Duration::from_secs(2 * DAY));
    let fresh = s.user("fresh@example.tn").await;

    let purged = purge(s.db.pool(), s.clock.now_ms(), &auth).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            refresh_tokens: 1,
            sessions: 1,
            used_links: 1,
            login_attempts: 1
        },
        "the revoked session and its token, the used reset link, the stale attempt"
    );
    assert_eq!(
        purge(s.db.pool(), s.clock.now_ms(), &auth).await.unwrap(),
        Purged::default()
    );

    // The rotator's spent token outlived its own expiry because its session
    // is alive: presenting it again still reveals the theft.
    s.refresh(&rotator.refresh)
        .await
        .expect_problem(401, "refresh_token_reused");
    s.refresh(&rotated.body["refresh_token"])
        .await
        .expect_problem(401, "session_revoked");
    s.refresh(&fresh.refresh).await.expect(200);
    s.refresh(&old.refresh)
        .await
        .expect_problem(401, "invalid_refresh_token");
}
