//! Expert verification over HTTP: documents, bank account, tax option,
//! submission, the administrators' queue and decisions.

use platform::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::*;

both_backends!(
    an_expert_is_verified_end_to_end,
    a_submission_names_what_is_missing,
    bank_numbers_are_checked_and_kept_sealed,
    documents_are_checked_and_shown_only_to_owner_and_admins,
    a_rejected_expert_corrects_and_is_approved,
    the_queue_is_oldest_first_in_pages,
    administrators_set_the_tax_rates,
    concurrent_decisions_decide_once,
);

const FRONT: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0 front of the card PLAINTEXT-FRONT-7d1f";
const BACK: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR back of the card PLAINTEXT-BACK-99a0";
const PDF: &[u8] = b"%PDF-1.7\n both sides PLAINTEXT-PDF-41c2\n%%EOF\n";

async fn upload(s: &Server, token: &str, kind: &str, content_type: &str, bytes: &[u8]) -> Resp {
    s.send(
        s.req(
            reqwest::Method::PUT,
            &format!("/api/v1/experts/me/documents/{kind}"),
            Some(token),
        )
        .header("content-type", content_type)
        .body(bytes.to_vec()),
    )
    .await
}

async fn put(s: &Server, token: &str, what: &str, body: Value) -> Resp {
    s.put(&format!("/api/v1/experts/me/{what}"), Some(token), body)
        .await
}

/// What the profile itself needs for a submission: bio, domain, language, a
/// priced service.
async fn fill_profile(s: &Server, token: &str) {
    s.patch(
        "/api/v1/experts/me",
        Some(token),
        json!({ "bio": "Conseil en épargne", "domains": ["finance"], "languages": ["fr", "ar"],
                "prices": { "video_call": 3 } }),
    )
    .await
    .expect(200);
}

/// An expert with everything verification asks for, not yet submitted.
async fn ready_expert(s: &Server, email: &str, first: &str, last: &str) -> Session {
    let e = s.expert_account(email, first, last).await;
    fill_profile(s, &e.access).await;
    upload(s, &e.access, "cin_pdf", "application/pdf", PDF)
        .await
        .expect(201);
    put(
        s,
        &e.access,
        "bank",
        json!({ "number": rib("080060123456789012") }),
    )
    .await
    .expect(200);
    put(s, &e.access, "tax", json!({ "option": "withholding" }))
        .await
        .expect(200);
    e
}

async fn submit(s: &Server, token: &str) -> Resp {
    s.post("/api/v1/experts/me/submit", Some(token), json!({}))
        .await
}

async fn decide(s: &Server, token: &str, id: &str, verdict: &str, body: Value) -> Resp {
    s.post(
        &format!("/api/v1/admin/experts/{id}/{verdict}"),
        Some(token),
        body,
    )
    .await
}

/// Every file under the object store, with its content.
fn stored_objects(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push((path.clone(), std::fs::read(path).unwrap()));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn an_expert_is_verified_end_to_end(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let e = s
        .expert_account("karim@example.tn", "Karim", "Haddad")
        .await;
    fill_profile(&s, &e.access).await;
    let front = upload(&s, &e.access, "cin_front", "image/jpeg", FRONT)
        .await
        .expect(201);
    assert_eq!(front.body["kind"], "cin_front");
    assert_eq!(front.body["size"], FRONT.len());
    upload(&s, &e.access, "cin_back", "image/png", BACK)
        .await
        .expect(201);
    let number = rib("080060123456789012");
    let r = put(&s, &e.access, "bank", json!({ "number": number }))
        .await
        .expect(200);
    assert_eq!(r.body["bank_kind"], "rib");
    assert_eq!(r.body["bank_hint"], number[16..]);
    assert!(!r.body.to_string().contains(&number));
    let r = put(&s, &e.access, "tax", json!({ "option": "vat" }))
        .await
        .expect(200);
    assert_eq!(
        r.body["tax_rates"],
        json!({ "vat_percent_bp": 1900, "withholding_percent_bp": 0 })
    );
    let mut conn = s.db.pool().acquire().await.unwrap();
    sqlx::query(
        "INSERT INTO social_links (account_id, provider, subject, handle, url, verified_at) \
         VALUES ($1, 'linkedin', 'li-42', 'karim-haddad', 'https://www.linkedin.com/in/karim-haddad', $2)",
    )
    .bind(&e.id)
    .bind(s.clock.now_ms())
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);

    // Nothing is public before approval.
    s.get(&format!("/api/v1/experts/{}", e.id), None)
        .await
        .expect_problem(404, "not_found");
    let r = submit(&s, &e.access).await.expect(200);
    assert_eq!(r.body["state"], "submitted");
    assert!(r.body["submitted_at"].is_string());

    // The queue shows the file: profile, documents, payout details, proofs.
    let queue = s
        .get("/api/v1/admin/experts?state=submitted", Some(&admin.access))
        .await
        .expect(200);
    let items = queue.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["id"], e.id.as_str());
    assert_eq!(
        (&item["first_name"], &item["last_name"], &item["email"]),
        (
            &json!("Karim"),
            &json!("Haddad"),
            &json!("karim@example.tn")
        )
    );
    assert_eq!(item["profile"]["bio"], "Conseil en épargne");
    assert_eq!(item["profile"]["bank_kind"], "rib");
    assert_eq!(item["profile"]["bank_hint"], number[16..]);
    assert_eq!(item["profile"]["tax_option"], "vat");
    let mut kinds: Vec<_> = item["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["cin_back", "cin_front"]);
    assert_eq!(
        item["social"],
        json!([{ "provider": "linkedin", "handle": "karim-haddad",
                 "url": "https://www.linkedin.com/in/karim-haddad",
                 "verified_at": item["social"][0]["verified_at"] }])
    );
    assert_eq!(queue.body["next_cursor"], Value::Null);

    // The administrator reads the front; the read is logged.
    let url = item["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "cin_front")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let content = s.get(&url, Some(&admin.access)).await.expect(200);
    assert_eq!(content.bytes, FRONT);
    assert_eq!(content.header("content-type"), Some("image/jpeg"));
    assert_eq!(content.header("cache-control"), Some("no-store"));
    let reads = s
        .get(
            &format!("/api/v1/admin/experts/{}/document-reads", e.id),
            Some(&admin.access),
        )
        .await
        .expect(200);
    let log = reads.body["items"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["reader_id"], admin.id.as_str());
    assert_eq!(log[0]["kind"], "cin_front");
    assert_eq!(log[0]["document_id"], front.body["id"]);

    // What is on disk is sealed: none of the uploaded bytes appear.
    let objects = stored_objects(&s.objects());
    let documents: Vec<_> = objects
        .iter()
        .filter(|(p, _)| p.starts_with(s.objects().join("documents").join(&e.id)))
        .collect();
    assert_eq!(documents.len(), 2);
    for (path, bytes) in &objects {
        for plain in [FRONT, BACK] {
            assert!(
                !contains(bytes, plain),
                "{} holds plaintext",
                path.display()
            );
            assert!(
                !contains(bytes, &plain[10..]),
                "{} holds plaintext",
                path.display()
            );
        }
    }

    let r = decide(&s, &admin.access, &e.id, "approve", json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["profile"]["state"], "approved");
    assert_eq!(r.body["profile"]["listed"], true);
    let history: Vec<_> = r.body["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap(),
                h["actor_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("submitted", e.id.as_str()),
            ("approved", admin.id.as_str())
        ]
    );
    let mails = s.wait_for_mails("karim@example.tn", 2).await;
    let mail = readable(mails.last().unwrap());
    assert!(
        mail.contains("Notre équipe a validé votre profil d'expert"),
        "in French: {mail}"
    );
    assert!(
        mail.contains(&format!("/api/v1/experts/{}", e.id)),
        "{mail}"
    );
    // And in the expert's notification centre.
    let centre = s
        .get("/api/v1/notifications", Some(&e.access))
        .await
        .expect(200);
    assert_eq!(centre.body["items"][0]["kind"], "expert_approved");
    assert_eq!(
        centre.body["items"][0]["title"],
        "Votre profil d'expert est validé"
    );

    // Listed: anyone sees the page; the queue is empty; it cannot be redone.
    let page = s
        .get(&format!("/api/v1/experts/{}", e.id), None)
        .await
        .expect(200);
    assert_eq!(page.body["social"][0]["handle"], "karim-haddad");
    let queue = s
        .get("/api/v1/admin/experts", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(queue.body["items"], json!([]));
    submit(&s, &e.access)
        .await
        .expect_problem(409, "already_approved");
    decide(&s, &admin.access, &e.id, "approve", json!({}))
        .await
        .expect_problem(409, "not_submitted");
    // Payout details are what payouts go by from now on.
    put(&s, &e.access, "tax", json!({ "option": "withholding" }))
        .await
        .expect_problem(409, "already_approved");
    upload(&s, &e.access, "cin_front", "image/jpeg", FRONT)
        .await
        .expect_problem(409, "already_approved");
}

async fn a_submission_names_what_is_missing(backend: Backend) {
    let s = Server::start(backend).await;
    let bare = s.expert_account("bare@example.tn", "Nour", "Ben Ali").await;
    let r = submit(&s, &bare.access)
        .await
        .expect_problem(422, "verification_incomplete");
    let fields: Vec<_> = r.field_codes().into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "bio",
            "domains",
            "languages",
            "prices",
            "documents",
            "bank_account",
            "tax_option"
        ]
    );

    // One side of the card is not the card.
    let e = s
        .expert_account("sami@example.tn", "Sami", "Trabelsi")
        .await;
    fill_profile(&s, &e.access).await;
    upload(&s, &e.access, "cin_front", "image/jpeg", FRONT)
        .await
        .expect(201);
    put(&s, &e.access, "tax", json!({ "option": "vat" }))
        .await
        .expect(200);
    let r = submit(&s, &e.access)
        .await
        .expect_problem(422, "verification_incomplete");
    assert_eq!(
        r.field_codes(),
        [
            ("documents".to_owned(), "required".to_owned()),
            ("bank_account".to_owned(), "required".to_owned())
        ]
    );
    let me = s
        .get("/api/v1/experts/me", Some(&e.access))
        .await
        .expect(200);
    assert_eq!(
        me.body["state"], "draft",
        "a refused submission changes nothing"
    );

    upload(
        &s,
        &e.access,
        "cin_back",
        "image/webp",
        b"RIFF\x10\0\0\0WEBPVP8 back",
    )
    .await
    .expect(201);
    put(
        &s,
        &e.access,
        "bank",
        json!({ "number": "GB82 WEST 1234 5698 7654 32" }),
    )
    .await
    .expect(200);
    submit(&s, &e.access).await.expect(200);
    submit(&s, &e.access)
        .await
        .expect_problem(409, "already_submitted");

    // Only experts submit.
    let user = s.user("user@example.tn").await;
    submit(&s, &user.access)
        .await
        .expect_problem(403, "forbidden");
}

async fn bank_numbers_are_checked_and_kept_sealed(backend: Backend) {
    let s = Server::start(backend).await;
    let e = s
        .expert_account("leila@example.tn", "Leila", "Mansour")
        .await;
    let good = rib("140010123456789012");
    let bad_key = format!(
        "{}{:02}",
        &good[..18],
        (good[18..].parse::<u32>().unwrap() + 1) % 97
    );
    for (number, code) in [
        (bad_key.as_str(), "bad_rib_key"),
        (&good[..19], "bad_length"),
        ("GB82 WEST 1234 5698 7654 33", "bad_iban_checksum"),
        ("TN59 1000 6035 1835 9847 883", "bad_length"),
        ("1400 1012 ABCD 6789 0123", "invalid_characters"),
    ] {
        let r = put(&s, &e.access, "bank", json!({ "number": number }))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            r.field_codes(),
            [("number".to_owned(), code.to_owned())],
            "{number}"
        );
    }
    put(&s, &e.access, "bank", json!({}))
        .await
        .expect_problem(422, "validation_failed");

    let r = put(
        &s,
        &e.access,
        "bank",
        json!({ "number": "tn59 1000 6035 1835 9847 8831" }),
    )
    .await
    .expect(200);
    assert_eq!(
        (&r.body["bank_kind"], &r.body["bank_hint"]),
        (&json!("iban"), &json!("8831"))
    );
    let r = put(&s, &e.access, "bank", json!({ "number": good }))
        .await
        .expect(200);
    assert_eq!(
        (&r.body["bank_kind"], &r.body["bank_hint"]),
        (&json!("rib"), &json!(good[16..]))
    );

    // Stored sealed to this account, under the generated private key.
    let key_path = s.store.dir.path().join("documents.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let sealer =
        control::experts::seal::Sealer::from_base64(&std::fs::read_to_string(key_path).unwrap())
            .unwrap();
    let (stored,): (String,) =
        sqlx::query_as("SELECT bank_account FROM experts WHERE account_id = $1")
            .bind(&e.id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert!(!stored.contains(&good[..12]));
    use base64::Engine;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .unwrap();
    let context = |id: &str| format!("expert_bank_account:{id}").into_bytes();
    assert_eq!(
        sealer.open(&context(&e.id), &sealed).unwrap(),
        good.as_bytes()
    );
    assert!(sealer.open(&context("someone-else"), &sealed).is_err());

    let user = s.user("user@example.tn").await;
    put(&s, &user.access, "bank", json!({ "number": good }))
        .await
        .expect_problem(403, "forbidden");
}

async fn documents_are_checked_and_shown_only_to_owner_and_admins(backend: Backend) {
    let s = Server::start_with(backend, |c| c.experts.max_document_bytes = 64 * 1024).await;
    let e = s.expert_account("amel@example.tn", "Amel", "Jaziri").await;
    let list = format!("/api/v1/experts/{}/documents", e.id);
    let reads = format!("/api/v1/admin/experts/{}/document-reads", e.id);

    // Judged by the bytes, not only the declared type.
    upload(&s, &e.access, "cin_front", "image/jpeg", PDF)
        .await
        .expect_problem(422, "invalid_document");
    upload(
        &s,
        &e.access,
        "cin_pdf",
        "application/pdf",
        b"<html><script>alert(1)</script>",
    )
    .await
    .expect_problem(422, "invalid_document");
    upload(&s, &e.access, "cin_front", "application/pdf", PDF)
        .await
        .expect_problem(415, "unsupported_media_type");
    upload(&s, &e.access, "passport", "image/jpeg", FRONT)
        .await
        .expect_problem(404, "not_found");
    let mut big = FRONT.to_vec();
    big.resize(64 * 1024 + 1, 0);
    upload(&s, &e.access, "cin_front", "image/jpeg", &big)
        .await
        .expect_problem(413, "payload_too_large");
    big.truncate(64 * 1024);
    upload(&s, &e.access, "cin_front", "image/jpeg", &big)
        .await
        .expect(201);
    let user = s.user("user@example.tn").await;
    upload(&s, &user.access, "cin_front", "image/jpeg", FRONT)
        .await
        .expect_problem(403, "forbidden");

    // A new upload replaces the kind: the old content is gone.
    let first = s.get(&list, Some(&e.access)).await.expect(200).body[0].clone();
    let second = upload(&s, &e.access, "cin_front", "image/jpeg", FRONT)
        .await
        .expect(201)
        .body;
    let current = s.get(&list, Some(&e.access)).await.expect(200).body;
    assert_eq!(current.as_array().unwrap().len(), 1);
    assert_eq!(current[0]["id"], second["id"]);
    s.get(first["url"].as_str().unwrap(), Some(&e.access))
        .await
        .expect_problem(404, "not_found");
    let docs_dir = s.objects().join("documents").join(&e.id);
    assert_eq!(std::fs::read_dir(&docs_dir).unwrap().count(), 1);

    // The owner reads it (and that is logged too); nobody else learns it exists.
    let url = second["url"].as_str().unwrap();
    assert_eq!(s.get(url, Some(&e.access)).await.expect(200).bytes, FRONT);
    let other = s.expert_account("other@example.tn", "Omar", "Gharbi").await;
    for token in [&other.access, &user.access] {
        s.get(url, Some(token))
            .await
            .expect_problem(404, "not_found");
        s.get(&list, Some(token))
            .await
            .expect_problem(404, "not_found");
    }
    s.get(url, None)
        .await
        .expect_problem(401, "unauthenticated");
    s.get(&list, None)
        .await
        .expect_problem(401, "unauthenticated");

    let admin = s.admin().await;
    s.get(&reads, Some(&e.access))
        .await
        .expect_problem(403, "forbidden");
    let log = s.get(&reads, Some(&admin.access)).await.expect(200).body;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["reader_id"], e.id.as_str());
    assert_eq!(log["items"][0]["reader_email"], "amel@example.tn");

    // A sealed object moved to another document's place does not open.
    upload(&s, &e.access, "cin_back", "image/png", BACK)
        .await
        .expect(201);
    let docs = s.get(&list, Some(&admin.access)).await.expect(200).body;
    let key_of = |d: &Value| docs_dir.join(d["id"].as_str().unwrap());
    std::fs::copy(key_of(&docs[1]), key_of(&docs[0])).unwrap();
    s.get(docs[0]["url"].as_str().unwrap(), Some(&admin.access))
        .await
        .expect_problem(500, "internal_error");
}

async fn a_rejected_expert_corrects_and_is_approved(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let e = ready_expert(&s, "yasmine@example.tn", "Yasmine", "Chaabane").await;
    s.patch(
        &format!("/api/v1/accounts/{}", e.id),
        Some(&e.access),
        json!({ "language": "en" }),
    )
    .await
    .expect(200);
    // A draft cannot be decided.
    decide(&s, &admin.access, &e.id, "approve", json!({}))
        .await
        .expect_problem(409, "not_submitted");
    submit(&s, &e.access).await.expect(200);

    // Frozen under review.
    upload(&s, &e.access, "cin_pdf", "application/pdf", PDF)
        .await
        .expect_problem(409, "under_review");
    put(
        &s,
        &e.access,
        "bank",
        json!({ "number": rib("080060123456789012") }),
    )
    .await
    .expect_problem(409, "under_review");
    put(&s, &e.access, "tax", json!({ "option": "vat" }))
        .await
        .expect_problem(409, "under_review");

    // Only administrators decide, and a rejection says why.
    let other = s.expert_account("other@example.tn", "Omar", "Gharbi").await;
    let user = s.user("user@example.tn").await;
    for token in [&e.access, &other.access, &user.access] {
        decide(&s, token, &e.id, "approve", json!({}))
            .await
            .expect_problem(403, "forbidden");
        decide(&s, token, &e.id, "reject", json!({ "reason": "no" }))
            .await
            .expect_problem(403, "forbidden");
    }
    for body in [
        json!({}),
        json!({ "reason": "  " }),
        json!({ "reason": "x".repeat(1001) }),
    ] {
        decide(&s, &admin.access, &e.id, "reject", body)
            .await
            .expect_problem(422, "validation_failed");
    }
    let reason = "The identity card PDF is unreadable; upload a sharper scan.";
    let r = decide(
        &s,
        &admin.access,
        &e.id,
        "reject",
        json!({ "reason": reason }),
    )
    .await
    .expect(200);
    assert_eq!(r.body["profile"]["state"], "rejected");
    assert_eq!(r.body["profile"]["state_reason"], reason);
    let mails = s.wait_for_mails("yasmine@example.tn", 2).await;
    let mail = readable(mails.last().unwrap());
    assert!(
        mail.contains("Subject: Your expert profile was not approved"),
        "{mail}"
    );
    assert!(mail.contains(reason), "{mail}");
    s.get(&format!("/api/v1/experts/{}", e.id), None)
        .await
        .expect_problem(404, "not_found");
    let me = s
        .get("/api/v1/experts/me", Some(&e.access))
        .await
        .expect(200);
    assert_eq!(me.body["state_reason"], reason);

    // Corrected and resubmitted; the reviewer sees the history.
    upload(&s, &e.access, "cin_pdf", "application/pdf", PDF)
        .await
        .expect(201);
    submit(&s, &e.access).await.expect(200);
    let file = s
        .get(
            &format!("/api/v1/admin/experts/{}", e.id),
            Some(&admin.access),
        )
        .await
        .expect(200);
    let actions: Vec<_> = file.body["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "rejected", "submitted"]);
    assert_eq!(file.body["reviews"][1]["reason"], reason);
    assert_eq!(file.body["reviews"][1]["actor_id"], admin.id.as_str());

    decide(&s, &admin.access, &e.id, "approve", json!({}))
        .await
        .expect(200);
    let mails = s.wait_for_mails("yasmine@example.tn", 3).await;
    assert!(readable(mails.last().unwrap()).contains("Subject: Your expert profile is approved"));
    let me = s
        .get("/api/v1/experts/me", Some(&e.access))
        .await
        .expect(200);
    assert_eq!(
        (&me.body["state"], &me.body["state_reason"]),
        (&json!("approved"), &Value::Null)
    );
    s.get(&format!("/api/v1/experts/{}", e.id), None)
        .await
        .expect(200);
    s.get("/api/v1/admin/experts/not-an-id", Some(&admin.access))
        .await
        .expect_problem(404, "not_found");
}

async fn the_queue_is_oldest_first_in_pages(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let mut experts = Vec::new();
    for (i, name) in ["Hedi", "Rim", "Aziz"].into_iter().enumerate() {
        experts.push(ready_expert(&s, &format!("e{i}@example.tn"), name, "Expert").await);
    }
    // Submitted in another order than the accounts were made.
    experts.rotate_left(1);
    let mut ids = Vec::new();
    for e in experts {
        submit(&s, &e.access).await.expect(200);
        s.clock.advance(std::time::Duration::from_secs(60));
        ids.push(e.id);
    }
    let user = s.user("user@example.tn").await;
    s.get("/api/v1/admin/experts", Some(&user.access))
        .await
        .expect_problem(403, "forbidden");

    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/experts?limit=2".to_owned();
    loop {
        let page = s.get(&path, Some(&admin.access)).await.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
            assert_eq!(item["profile"]["state"], "submitted");
            assert!(item.get("reviews").is_none());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/admin/experts?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "the longest waiting first, each once");

    decide(&s, &admin.access, &ids[1], "approve", json!({}))
        .await
        .expect(200);
    let approved = s
        .get("/api/v1/admin/experts?state=approved", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(approved.body["items"][0]["id"], ids[1].as_str());
    assert_eq!(approved.body["items"].as_array().unwrap().len(), 1);
    for query in ["limit=0", "limit=101", "cursor=nope", "state=pending"] {
        s.get(
            &format!("/api/v1/admin/experts?{query}"),
            Some(&admin.access),
        )
        .await
        .expect_problem(400, "invalid_query");
    }
}

async fn administrators_set_the_tax_rates(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let e = s.expert_account("faten@example.tn", "Faten", "Ayari").await;
    let r = s
        .get("/api/v1/admin/settings/tax", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(
        r.body,
        json!({ "vat_percent_bp": 1900, "withholding_percent_bp": 1500,
                "updated_by": null, "updated_at": null })
    );
    s.get("/api/v1/admin/settings/tax", Some(&e.access))
        .await
        .expect_problem(403, "forbidden");
    let set = |token: String, body: Value| {
        let req = s
            .req(
                reqwest::Method::PUT,
                "/api/v1/admin/settings/tax",
                Some(&token),
            )
            .json(&body);
        s.send(req)
    };
    set(
        e.access.clone(),
        json!({ "vat_percent_bp": 1800, "withholding_percent_bp": 1200 }),
    )
    .await
    .expect_problem(403, "forbidden");
    let r = set(
        admin.access.clone(),
        json!({ "vat_percent_bp": -1, "withholding_percent_bp": 10001 }),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(r.field_codes().len(), 2);
    set(admin.access.clone(), json!({ "vat_percent_bp": 1800 }))
        .await
        .expect_problem(422, "validation_failed");
    let r = set(
        admin.access.clone(),
        json!({ "vat_percent_bp": 1800, "withholding_percent_bp": 1200 }),
    )
    .await
    .expect(200);
    assert_eq!(r.body["vat_percent_bp"], 1800);
    assert_eq!(r.body["updated_by"], admin.id.as_str());
    assert!(r.body["updated_at"].is_string());

    // The expert sees what their option implies at the rates in force.
    let r = put(&s, &e.access, "tax", json!({ "option": "withholding" }))
        .await
        .expect(200);
    assert_eq!(
        r.body["tax_rates"],
        json!({ "vat_percent_bp": 0, "withholding_percent_bp": 1200 })
    );
    put(&s, &e.access, "tax", json!({ "option": "both" }))
        .await
        .expect_problem(422, "validation_failed");
    let r = s
        .get("/api/v1/experts/me", Some(&e.access))
        .await
        .expect(200);
    assert_eq!(r.body["tax_option"], "withholding");
}

async fn concurrent_decisions_decide_once(backend: Backend) {
    let s = Server::start(backend).await;
    let admin = s.admin().await;
    let e = ready_expert(&s, "race@example.tn", "Ines", "Race").await;
    submit(&s, &e.access).await.expect(200);
    let attempts = (0..12).map(|i| {
        let (verdict, body) = if i % 2 == 0 {
            ("approve", json!({}))
        } else {
            ("reject", json!({ "reason": "Blurred card" }))
        };
        decide(&s, &admin.access, &e.id, verdict, body)
    });
    let results = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, r.code()), (409, "not_submitted"), "{}", r.body);
    }
    let file = s
        .get(
            &format!("/api/v1/admin/experts/{}", e.id),
            Some(&admin.access),
        )
        .await
        .expect(200);
    assert_eq!(file.body["reviews"].as_array().unwrap().len(), 2);
}
