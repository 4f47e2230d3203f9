//! Linking LinkedIn and Instagram accounts by OAuth, against a local server
//! that speaks both providers' flows.

use serde_json::json;

use crate::both_backends;
use crate::common::*;
use crate::oauth::{param, Mode, OAuthServer, CLIENT_ID};

both_backends!(
    linkedin_and_instagram_accounts_are_linked_shown_and_unlinked,
    bad_replayed_and_expired_states_are_refused,
    a_flow_finished_in_another_browser_links_nothing,
    refusals_denials_and_outages_are_told_apart,
    only_experts_link_and_only_configured_providers,
);

async fn server(backend: Backend, o: &OAuthServer, providers: &[&str]) -> Server {
    Server::start_with(backend, |settings| {
        o.configure(&mut settings.social, providers)
    })
    .await
}

/// Starts linking `provider`; the provider's authorize URL.
async fn start(s: &Server, expert: &Session, provider: &str) -> String {
    let r = s
        .post(
            &format!("/api/v1/experts/me/social/{provider}"),
            Some(&expert.access),
            json!({}),
        )
        .await
        .expect(200);
    r.body["authorize_url"].as_str().unwrap().to_owned()
}

/// The browser landing on our callback, asking for JSON.
async fn land(s: &Server, callback: &str) -> Resp {
    s.send(s.http.get(callback).header("accept", "application/json"))
        .await
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}

async fn linkedin_and_instagram_accounts_are_linked_shown_and_unlinked(backend: Backend) {
    let o = OAuthServer::start().await;
    let s = server(backend, &o, &["linkedin", "instagram"]).await;
    let expert = s
        .approved_expert(
            "karim@example.tn",
            "Karim",
            "Haddad",
            json!({ "bio": "Fiscalité", "domains": ["finance"], "prices": { "text_message": 5 } }),
        )
        .await;

    // The authorize URL carries what the provider checks, and a state.
    let url = start(&s, &expert, "linkedin").await;
    assert!(
        url.starts_with(&format!("{}/linkedin/authorize?", o.base)),
        "{url}"
    );
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        param(&url, "scope").as_deref(),
        Some("openid profile email")
    );
    let redirect = format!("{}/api/v1/social/linkedin/callback", s.base);
    assert_eq!(param(&url, "redirect_uri"), Some(redirect.clone()));
    let callback = o.consent(&url).await;
    assert!(callback.starts_with(&redirect), "{callback}");
    let r = land(&s, &callback).await.expect(200);
    assert_eq!(r.body["provider"], "linkedin");
    assert_eq!(r.body["handle"], "Karim Haddad");
    // LinkedIn's OpenID Connect profile has no public address.
    assert_eq!(r.body["url"], serde_json::Value::Null);

    o.sign_in_as("17841405822304914", "karim.fiscalite");
    let url = start(&s, &expert, "instagram").await;
    assert_eq!(
        param(&url, "scope").as_deref(),
        Some("instagram_business_basic")
    );
    let r = land(&s, &o.consent(&url).await).await.expect(200);
    assert_eq!(r.body["handle"], "karim.fiscalite");
    assert_eq!(r.body["url"], "https://www.instagram.com/karim.fiscalite");

    let mine = s
        .get("/api/v1/experts/me/social", Some(&expert.access))
        .await
        .expect(200);
    let handles: Vec<_> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["handle"].clone())
        .collect();
    // By provider name.
    assert_eq!(handles, [json!("karim.fiscalite"), json!("Karim Haddad")]);
    let page = s
        .get(&format!("/api/v1/experts/{}", expert.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["social"], mine.body);

    // A browser gets a page; signing in again replaces the link, and the
    // provider's text is shown as text.
    o.sign_in_as("9bbtaQ", "Karim <b>Haddad</b>");
    let callback = o.consent(&start(&s, &expert, "linkedin").await).await;
    let r = s.send(s.http.get(&callback)).await.expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let html = String::from_utf8(r.bytes).unwrap();
    assert!(html.contains("Karim &lt;b&gt;Haddad&lt;/b&gt;"), "{html}");
    let page = s
        .get(&format!("/api/v1/experts/{}", expert.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["social"][1]["handle"], "Karim <b>Haddad</b>");
    assert_eq!(page.body["social"].as_array().unwrap().len(), 2);

    s.delete("/api/v1/experts/me/social/instagram", Some(&expert.access))
        .await
        .expect(204);
    s.delete("/api/v1/experts/me/social/instagram", Some(&expert.access))
        .await
        .expect_problem(404, "not_found");
    let page = s
        .get(&format!("/api/v1/experts/{}", expert.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["social"].as_array().unwrap().len(), 1);
}

async fn bad_replayed_and_expired_states_are_refused(backend: Backend) {
    let o = OAuthServer::start().await;
    let s = server(backend, &o, &["linkedin", "instagram"]).await;
    let expert = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;
    let callback = o.consent(&start(&s, &expert, "linkedin").await).await;

    // Missing, forged, or another provider's.
    let base = format!("{}/api/v1/social/linkedin/callback", s.base);
    land(&s, &format!("{base}?code=x"))
        .await
        .expect_problem(400, "invalid_oauth_state");
    land(&s, &with_param(&callback, "state", "eyJ4IjoxfQ.c2ln"))
        .await
        .expect_problem(400, "invalid_oauth_state");
    let other = callback.replace("/social/linkedin/", "/social/instagram/");
    land(&s, &other)
        .await
        .expect_problem(400, "invalid_oauth_state");

    // Replayed: the state works once.
    land(&s, &callback).await.expect(200);
    land(&s, &callback)
        .await
        .expect_problem(400, "invalid_oauth_state");

    // Expired: ten minutes to come back.
    let callback = o.consent(&start(&s, &expert, "linkedin").await).await;
    s.clock.advance(std::time::Duration::from_secs(601));
    land(&s, &callback)
        .await
        .expect_problem(400, "invalid_oauth_state");
}

/// An expert sends their authorize URL to someone else (say, a famous
/// influencer) who signs in: without the starting browser's cookie the
/// callback links nothing, and the expert's own flow is not used up.
async fn a_flow_finished_in_another_browser_links_nothing(backend: Backend) {
    let o = OAuthServer::start().await;
    let s = server(backend, &o, &["linkedin", "instagram"]).await;
    let expert = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;
    let callback = o.consent(&start(&s, &expert, "linkedin").await).await;
    let other_browser = reqwest::Client::new();
    s.send(
        other_browser
            .get(&callback)
            .header("accept", "application/json"),
    )
    .await
    .expect_problem(400, "oauth_other_browser");
    let links = s
        .get("/api/v1/experts/me/social", Some(&expert.access))
        .await
        .expect(200);
    assert_eq!(links.body, json!([]));
    land(&s, &callback).await.expect(200);
}

async fn refusals_denials_and_outages_are_told_apart(backend: Backend) {
    let o = OAuthServer::start().await;
    let s = server(backend, &o, &["linkedin", "instagram"]).await;
    let expert = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;

    // A code the provider never issued, in each provider's error dialect.
    for provider in ["linkedin", "instagram"] {
        let callback = o.consent(&start(&s, &expert, provider).await).await;
        land(&s, &with_param(&callback, "code", "AQforged"))
            .await
            .expect_problem(400, "oauth_code_rejected");
    }

    o.set_deny(true);
    let callback = o.consent(&start(&s, &expert, "instagram").await).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    land(&s, &callback)
        .await
        .expect_problem(400, "oauth_denied");
    o.set_deny(false);

    for mode in [Mode::Down, Mode::Garbage] {
        let callback = o.consent(&start(&s, &expert, "linkedin").await).await;
        o.set_mode(mode);
        land(&s, &callback)
            .await
            .expect_problem(502, "oauth_provider_unavailable");
        o.set_mode(Mode::Up);
    }

    let mine = s
        .get("/api/v1/experts/me/social", Some(&expert.access))
        .await
        .expect(200);
    assert_eq!(mine.body, json!([]), "nothing was linked");
}

async fn only_experts_link_and_only_configured_providers(backend: Backend) {
    let o = OAuthServer::start().await;
    let s = server(backend, &o, &["linkedin"]).await;
    let user = s.user("user@example.tn").await;
    let expert = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;

    s.post(
        "/api/v1/experts/me/social/linkedin",
        Some(&user.access),
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    s.get("/api/v1/experts/me/social", Some(&user.access))
        .await
        .expect_problem(403, "forbidden");
    s.post("/api/v1/experts/me/social/linkedin", None, json!({}))
        .await
        .expect_problem(401, "unauthenticated");
    s.post(
        "/api/v1/experts/me/social/twitter",
        Some(&expert.access),
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    s.post(
        "/api/v1/experts/me/social/instagram",
        Some(&expert.access),
        json!({}),
    )
    .await
    .expect_problem(503, "provider_not_configured");

    // An expert deactivated between leaving and coming back links nothing.
    let callback = o.consent(&start(&s, &expert, "linkedin").await).await;
    let admin = s.admin().await;
    s.post(
        &format!("/api/v1/admin/accounts/{}/deactivate", expert.id),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    land(&s, &callback)
        .await
        .expect_problem(400, "invalid_oauth_state");
}
