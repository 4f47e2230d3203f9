//! Housekeeping deletes only what can no longer matter.

use std::time::Duration;

use control::maintenance::{purge, Purged};
use control::Settings;
use platform::Clock;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(expired_identity_rows_are_purged_and_live_ones_kept);

async fn expired_identity_rows_are_purged_and_live_ones_kept(backend: Backend) {
    let s = Server::start(backend).await;
    let auth = Settings::default().auth;
    let old = s.user("old@example.tn").await;
    s.post(
        "/api/v1/auth/password-reset/request",
        None,
        json!({ "email": "old@example.tn" }),
    )
    .await
    .expect(202);
    let token = s.link_token("old@example.tn", "/reset-password").await;
    s.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "new_password": "Brand-New-Pass7" }),
    )
    .await
    .expect(204);
    s.login("nobody@example.tn", PASSWORD).await.expect(401);

    // Nothing is past use yet.
    assert_eq!(
        purge(s.db.pool(), s.clock.now_ms(), &auth).await.unwrap(),
        Purged::default()
    );

    s.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let fresh = s.user("fresh@example.tn").await;
    let purged = purge(s.db.pool(), s.clock.now_ms(), &auth).await.unwrap();
    assert_eq!(purged.refresh_tokens, 1, "the old user's one login");
    assert_eq!(purged.sessions, 1);
    assert_eq!(purged.used_links, 1);
    assert_eq!(purged.login_attempts, 1, "nobody@'s failed attempt");

    // The fresh session works; the purged one is refused as unknown.
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": fresh.refresh }),
    )
    .await
    .expect(200);
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": old.refresh }),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
}
