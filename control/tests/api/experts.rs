//! Expert profiles and the domain taxonomy over HTTP.

use serde_json::json;

use crate::both_backends;
use crate::common::*;

both_backends!(
    a_profile_is_edited_and_validated,
    only_listed_experts_have_a_public_page,
    administrators_manage_the_taxonomy,
);

async fn a_profile_is_edited_and_validated(backend: Backend) {
    let s = Server::start(backend).await;
    let user = s.user("user@example.tn").await;
    let expert = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;

    // Only experts have an expert profile.
    s.patch(
        "/api/v1/experts/me",
        Some(&user.access),
        json!({ "bio": "x" }),
    )
    .await
    .expect_problem(403, "forbidden");
    s.get("/api/v1/experts/me", Some(&expert.access))
        .await
        .expect_problem(404, "not_found");

    // Every bad field is named at once, and nothing is saved.
    let r = s
        .patch(
            "/api/v1/experts/me",
            Some(&expert.access),
            json!({ "domains": ["finance", "astrology", "finance"], "languages": ["fr", "FR"],
                    "prices": { "video_call": 0, "text_message": 5 },
                    "position": { "latitude_e6": 91_000_000, "longitude_e6": 10_000_000 } }),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut fields = r.field_codes();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("domains[1]", "unknown"),
            ("domains[2]", "duplicate"),
            ("languages[1]", "invalid"),
            ("position.latitude_e6", "out_of_range"),
            ("prices.video_call", "out_of_range"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    s.get("/api/v1/experts/me", Some(&expert.access))
        .await
        .expect_problem(404, "not_found");

    let r = s
        .patch(
            "/api/v1/experts/me",
            Some(&expert.access),
            json!({ "bio": "Conseil en épargne 📈", "domains": ["finance"], "languages": ["fr", "ar"],
                    "city": "Sfax", "position": { "latitude_e6": 34_740_000, "longitude_e6": 10_760_000 },
                    "prices": { "text_message": 5, "video_call": 3 }, "instant_booking": true }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.body["listed"], false);
    assert_eq!(r.body["bio"], "Conseil en épargne 📈");
    assert_eq!(
        r.body["prices"],
        json!({ "text_message": 5, "video_message": null, "video_call": 3 })
    );

    // Absent fields stay; null clears.
    let r = s
        .patch(
            "/api/v1/experts/me",
            Some(&expert.access),
            json!({ "city": null }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["city"], serde_json::Value::Null);
    assert_eq!(r.body["languages"], json!(["fr", "ar"]));
    assert_eq!(r.body["instant_booking"], true);
    s.patch(
        "/api/v1/experts/me",
        Some(&expert.access),
        json!({ "rating": 5 }),
    )
    .await
    .expect_problem(422, "validation_failed");
}

async fn only_listed_experts_have_a_public_page(backend: Backend) {
    let s = Server::start(backend).await;
    let draft = s.expert_account("draft@example.tn", "Nour", "Draft").await;
    s.patch(
        "/api/v1/experts/me",
        Some(&draft.access),
        json!({ "bio": "Yoga" }),
    )
    .await
    .expect(200);
    let visitor = s.user("visitor@example.tn").await;
    for token in [None, Some(visitor.access.as_str())] {
        s.get(&format!("/api/v1/experts/{}", draft.id), token)
            .await
            .expect_problem(404, "not_found");
    }
    // The owner previews it.
    s.get(
        &format!("/api/v1/experts/{}", draft.id),
        Some(&draft.access),
    )
    .await
    .expect(200);

    let listed = s
        .approved_expert(
            "amira@example.tn",
            "Amira",
            "Ben Salah",
            json!({ "bio": "Finance personnelle", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "video_call": 4, "video_message": 12 } }),
        )
        .await;
    let page = s
        .get(&format!("/api/v1/experts/{}", listed.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["first_name"], "Amira");
    assert_eq!(page.body["domains"][0]["slug"], "finance");
    assert_eq!(
        page.body["services"],
        json!([{ "service": "video_message", "price": 12 },
               { "service": "video_call", "price": 4, "minimum_minutes": 10 }])
    );
    assert_eq!(page.body["rating"], json!({ "average": null, "count": 0 }));

    // Deactivating the account unlists it; reactivating lists it again.
    let admin = s.admin().await;
    s.post(
        &format!("/api/v1/admin/accounts/{}/deactivate", listed.id),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    s.get(&format!("/api/v1/experts/{}", listed.id), None)
        .await
        .expect_problem(404, "not_found");
    s.post(
        &format!("/api/v1/admin/accounts/{}/activate", listed.id),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    s.get(&format!("/api/v1/experts/{}", listed.id), None)
        .await
        .expect(200);
    s.get("/api/v1/experts/not-a-uuid", None)
        .await
        .expect_problem(404, "not_found");
}

async fn administrators_manage_the_taxonomy(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let user = s.user("user@example.tn").await;
    let domains = s.get("/api/v1/domains", None).await.expect(200);
    assert!(domains
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["slug"] == "well-being"));

    let new = json!({ "slug": "real-estate", "name_fr": "Immobilier", "name_en": "Real estate" });
    s.post("/api/v1/admin/domains", Some(&user.access), new.clone())
        .await
        .expect_problem(403, "forbidden");
    s.post("/api/v1/admin/domains", Some(&admin.access), new.clone())
        .await
        .expect(201);
    s.post("/api/v1/admin/domains", Some(&admin.access), new)
        .await
        .expect_problem(409, "domain_exists");
    let r = s
        .post(
            "/api/v1/admin/domains",
            Some(&admin.access),
            json!({ "slug": "Bad Slug", "name_fr": "", "name_en": "x" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(r.field_codes().len(), 2);

    let expert = s
        .approved_expert(
            "sami@example.tn",
            "Sami",
            "Trabelsi",
            json!({ "domains": ["real-estate"], "languages": ["fr"], "prices": { "video_call": 2 } }),
        )
        .await;
    s.delete("/api/v1/admin/domains/real-estate", Some(&admin.access))
        .await
        .expect_problem(409, "domain_in_use");
    let r = s
        .patch(
            "/api/v1/admin/domains/real-estate",
            Some(&admin.access),
            json!({ "name_en": "Property" }),
        )
        .await
        .expect(200);
    assert_eq!(
        r.body,
        json!({ "slug": "real-estate", "name_fr": "Immobilier", "name_en": "Property" })
    );
    let page = s
        .get(&format!("/api/v1/experts/{}", expert.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["domains"][0]["name_en"], "Property");

    s.patch(
        "/api/v1/experts/me",
        Some(&expert.access),
        json!({ "domains": [] }),
    )
    .await
    .expect(200);
    s.delete("/api/v1/admin/domains/real-estate", Some(&admin.access))
        .await
        .expect(204);
    s.delete("/api/v1/admin/domains/real-estate", Some(&admin.access))
        .await
        .expect_problem(404, "not_found");
}
