use std::io::Cursor;

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server};

both_backends!(
    owners_edit_their_profile_and_bad_edits_change_nothing,
    one_user_cannot_edit_another_but_an_admin_can,
    private_profiles_are_hidden_from_everyone_but_owner_and_admins,
    photos_are_validated_reencoded_and_replaced,
);

async fn owners_edit_their_profile_and_bad_edits_change_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let me = s.user("sarra@example.tn").await;
    let path = format!("/api/v1/accounts/{}", me.id);
    let r = s
        .patch(
            &path,
            Some(&me.access),
            json!({ "bio": "Coach bien-être 🧘‍♀️ — « sérénité »", "interests": ["yoga", "finance"], "language": "en",
                    "notifications": { "sms": true, "push": false } }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["bio"], "Coach bien-être 🧘‍♀️ — « sérénité »");
    let stored = s.get("/api/v1/me", Some(&me.access)).await.expect(200).body;
    assert_eq!(
        stored["bio"], "Coach bien-être 🧘‍♀️ — « sérénité »",
        "Unicode is preserved exactly"
    );
    assert_eq!(stored["interests"], json!(["yoga", "finance"]));
    assert_eq!(stored["language"], "en");
    assert_eq!(
        stored["notifications"],
        json!({ "email": true, "sms": true, "push": false }),
        "unnamed channels keep their value"
    );

    let r = s
        .patch(
            &path,
            Some(&me.access),
            json!({ "first_name": "", "interests": ["ok", ""], "bio": "fine" }),
        )
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<String> = r.field_codes().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["first_name", "interests[1]"]);
    s.patch(&path, Some(&me.access), json!({ "privacy": "secret" }))
        .await
        .expect_problem(422, "validation_failed");
    s.patch(&path, Some(&me.access), json!({ "role": "admin" }))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        s.get("/api/v1/me", Some(&me.access)).await.body,
        stored,
        "refused edits change nothing"
    );
    s.patch(&path, None, json!({ "bio": "x" }))
        .await
        .expect_problem(401, "unauthenticated");
}

async fn one_user_cannot_edit_another_but_an_admin_can(backend: Backend) {
    let s = Server::start(backend).await;
    let alice = s.user("alice@example.tn").await;
    let bob = s.user("bob@example.tn").await;
    let admin = s.admin().await;
    let alice_path = format!("/api/v1/accounts/{}", alice.id);
    s.patch(&alice_path, Some(&bob.access), json!({ "bio": "hacked" }))
        .await
        .expect_problem(403, "forbidden");
    s.send(
        s.req(
            reqwest::Method::PUT,
            &format!("{alice_path}/photo"),
            Some(&bob.access),
        )
        .header("content-type", "image/png")
        .body(png(32, 32)),
    )
    .await
    .expect_problem(403, "forbidden");
    assert_eq!(
        s.get(&alice_path, None).await.expect(200).body["bio"],
        serde_json::Value::Null
    );

    s.get("/api/v1/admin/accounts", Some(&bob.access))
        .await
        .expect_problem(403, "forbidden");
    s.post(
        &format!("/api/v1/admin/accounts/{}/deactivate", alice.id),
        Some(&bob.access),
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    s.get("/api/v1/admin/accounts", None)
        .await
        .expect_problem(401, "unauthenticated");

    s.patch(
        &alice_path,
        Some(&admin.access),
        json!({ "bio": "moderated" }),
    )
    .await
    .expect(200);
    assert_eq!(s.get(&alice_path, None).await.body["bio"], "moderated");
}

async fn private_profiles_are_hidden_from_everyone_but_owner_and_admins(backend: Backend) {
    let s = Server::start(backend).await;
    let owner = s.user("private@example.tn").await;
    let other = s.user("other@example.tn").await;
    let admin = s.admin().await;
    let path = format!("/api/v1/accounts/{}", owner.id);
    let public = s.get(&path, None).await.expect(200).body;
    assert!(
        public.get("email").is_none(),
        "a public profile does not show the email"
    );

    s.patch(&path, Some(&owner.access), json!({ "privacy": "private" }))
        .await
        .expect(200);
    s.get(&path, None).await.expect_problem(404, "not_found");
    s.get(&path, Some(&other.access))
        .await
        .expect_problem(404, "not_found");
    s.get(&path, Some(&owner.access)).await.expect(200);
    s.get(&path, Some(&admin.access)).await.expect(200);
    s.get("/api/v1/accounts/no-such-id", None)
        .await
        .expect_problem(404, "not_found");
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn photos_are_validated_reencoded_and_replaced(backend: Backend) {
    let s = Server::start_with(backend, |c| c.storage.max_photo_bytes = 200_000).await;
    let me = s.user("photo@example.tn").await;
    let path = format!("/api/v1/accounts/{}/photo", me.id);
    let put = |ct: &'static str, body: Vec<u8>| {
        s.send(
            s.req(reqwest::Method::PUT, &path, Some(&me.access))
                .header("content-type", ct)
                .body(body),
        )
    };

    put("text/plain", png(32, 32))
        .await
        .expect_problem(415, "unsupported_media_type");
    put("image/png", b"%PDF-1.7 definitely not a picture".to_vec())
        .await
        .expect_problem(422, "invalid_image");
    let mut truncated = png(64, 64);
    truncated.truncate(100);
    put("image/png", truncated)
        .await
        .expect_problem(422, "invalid_image");
    put("image/png", vec![0x89; 300_000])
        .await
        .expect_problem(413, "payload_too_large");
    assert_eq!(
        s.get("/api/v1/me", Some(&me.access)).await.body["photo_url"],
        serde_json::Value::Null,
        "refusals store nothing"
    );

    let r = put("image/png", png(1200, 800)).await.expect(200);
    let url = r.body["photo_url"].as_str().unwrap().to_owned();
    let photo = s.get(&url, None).await.expect(200);
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
    let decoded = image::load_from_memory(&photo.bytes).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (512, 341),
        "scaled to fit 512x512, aspect kept"
    );

    let second = put("image/png", png(40, 40)).await.expect(200).body["photo_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, url, "a new upload gets a new URL");
    let stored: Vec<_> = walk(&s.objects());
    assert_eq!(
        stored.len(),
        1,
        "the replaced photo was deleted: {stored:?}"
    );

    s.delete(&path, Some(&me.access)).await.expect(204);
    s.get(&path, None).await.expect_problem(404, "not_found");
    assert!(walk(&s.objects()).is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}
