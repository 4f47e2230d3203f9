use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server, PASSWORD};

both_backends!(
    signup_creates_an_unverified_account_and_emails_a_verification_link,
    signup_refuses_bad_input_and_creates_nothing,
    duplicate_email_in_another_letter_case_is_refused,
    verification_link_verifies_and_tampered_or_expired_links_are_refused,
    resending_verification_does_not_reveal_who_is_registered,
    a_signup_form_may_carry_a_photo,
    a_bad_photo_refuses_the_whole_signup_form,
);

async fn signup_creates_an_unverified_account_and_emails_a_verification_link(backend: Backend) {
    let s = Server::start(backend).await;
    let r = s
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "first_name": " Yassine ", "last_name": "Trabelsi", "email": "Yassine@Example.tn",
                    "password": PASSWORD, "role": "expert", "bio": "Finance 📈", "language": "en" }),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/accounts/{id}").as_str())
    );
    assert_eq!(r.body["first_name"], "Yassine", "names are trimmed");
    assert_eq!(
        r.body["email"], "Yassine@Example.tn",
        "the address is kept as written"
    );
    assert_eq!(r.body["role"], "expert");
    assert_eq!(r.body["bio"], "Finance 📈");
    assert_eq!(r.body["email_verified"], false);
    assert!(r.body.get("password_hash").is_none() && !r.body.to_string().contains("argon2"));

    let mails = s.mails_to("Yassine@Example.tn");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: Confirm your email address"),
        "English, as asked: {}",
        mails[0]
    );
    assert!(!s
        .link_token("Yassine@Example.tn", "/api/v1/auth/verify-email")
        .await
        .is_empty());
}

async fn signup_refuses_bad_input_and_creates_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let good =
        json!({ "first_name": "A", "last_name": "B", "email": "a@b.tn", "password": PASSWORD });
    let with = |key: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            json!({ "last_name": "B", "email": "a@b.tn", "password": PASSWORD }),
            "first_name",
            "required",
        ),
        (with("last_name", json!("   ")), "last_name", "required"),
        (with("email", json!("not-an-email")), "email", "invalid"),
        (with("email", json!("a@b")), "email", "invalid"),
        (with("password", json!("short1A")), "password", "too_short"),
        (with("password", json!("alllowercase")), "password", "weak"),
        (with("bio", json!("x".repeat(2001))), "bio", "too_long"),
    ];
    for (body, field, code) in cases {
        let r = s
            .post("/api/v1/auth/signup", None, body)
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            r.field_codes()
                .contains(&(field.to_owned(), code.to_owned())),
            "{field}/{code} in {}",
            r.body
        );
    }
    let r = s
        .post("/api/v1/auth/signup", None, json!({}))
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<String> = r.field_codes().into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        ["first_name", "last_name", "email", "password"],
        "every missing field is named at once"
    );

    let r = s
        .post("/api/v1/auth/signup", None, with("email", json!(42)))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("email".to_owned(), "invalid".to_owned())],
        "wrong type names the field"
    );
    s.send(
        s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
            .header("content-type", "application/json")
            .body("{\"first_name\":"),
    )
    .await
    .expect_problem(400, "malformed_json");
    s.send(
        s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
            .body(good.to_string()),
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    s.send(
        s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
            .header("content-type", "application/json")
            .body(vec![b' '; 100_000]),
    )
    .await
    .expect_problem(413, "payload_too_large");

    assert!(
        s.mails_to("a@b.tn").is_empty(),
        "no refused sign-up sends mail"
    );
    s.post("/api/v1/auth/signup", None, good).await.expect(201);
}

async fn duplicate_email_in_another_letter_case_is_refused(backend: Backend) {
    let s = Server::start(backend).await;
    s.signup("leila@example.tn").await.expect(201);
    let r = s
        .signup("  LEILA@Example.TN ")
        .await
        .expect_problem(409, "email_taken");
    assert_eq!(r.field_codes(), [("email".to_owned(), "taken".to_owned())]);
    assert_eq!(
        s.mails_to("leila@example.tn").len(),
        1,
        "the duplicate sent nothing"
    );
}

async fn verification_link_verifies_and_tampered_or_expired_links_are_refused(backend: Backend) {
    let s = Server::start(backend).await;
    s.signup("nour@example.tn").await.expect(201);
    let token = s
        .link_token("nour@example.tn", "/api/v1/auth/verify-email")
        .await;
    let access = s.login("nour@example.tn", PASSWORD).await.expect(200).body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.get("/api/v1/me", Some(&access)).await.expect(200).body["email_verified"],
        false
    );

    // One flipped character in the payload, then in the signature.
    for at in [5, token.len() - 3] {
        let mut tampered: Vec<char> = token.chars().collect();
        tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        s.get(&format!("/api/v1/auth/verify-email?token={tampered}"), None)
            .await
            .expect_problem(400, "invalid_token");
    }
    s.get("/api/v1/auth/verify-email?token=garbage", None)
        .await
        .expect_problem(400, "invalid_token");
    s.get("/api/v1/auth/verify-email", None)
        .await
        .expect_problem(400, "invalid_query");
    assert_eq!(
        s.get("/api/v1/me", Some(&access)).await.body["email_verified"],
        false,
        "refused links change nothing"
    );

    let r = s
        .get(&format!("/api/v1/auth/verify-email?token={token}"), None)
        .await
        .expect(200);
    assert_eq!(r.body["status"], "verified");
    assert_eq!(
        s.get("/api/v1/me", Some(&access)).await.body["email_verified"],
        true
    );
    s.post("/api/v1/auth/verify-email", None, json!({ "token": token }))
        .await
        .expect(200);

    // A second account's link, followed after its 48 hours ran out.
    s.signup("late@example.tn").await.expect(201);
    let late = s
        .link_token("late@example.tn", "/api/v1/auth/verify-email")
        .await;
    s.clock.advance(Duration::from_secs(48 * 3600 + 1));
    s.get(&format!("/api/v1/auth/verify-email?token={late}"), None)
        .await
        .expect_problem(400, "token_expired");
}

async fn resending_verification_does_not_reveal_who_is_registered(backend: Backend) {
    let s = Server::start(backend).await;
    s.signup("sami@example.tn").await.expect(201);
    let unknown = s
        .post(
            "/api/v1/auth/resend-verification",
            None,
            json!({ "email": "nobody@example.tn" }),
        )
        .await
        .expect(202);
    let known = s
        .post(
            "/api/v1/auth/resend-verification",
            None,
            json!({ "email": "SAMI@example.tn" }),
        )
        .await
        .expect(202);
    assert_eq!(known.body, unknown.body);
    // The mail goes out after the response; the unknown address's lookup was
    // asked first and does less, so by the time Sami's mail is there it is done.
    assert_eq!(s.wait_for_mails("sami@example.tn", 2).await.len(), 2);
    assert!(s.mails_to("nobody@example.tn").is_empty());
}

fn form(email: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("first_name", "Rania")
        .text("last_name", "Jaziri")
        .text("email", email.to_owned())
        .text("password", PASSWORD)
        .text("role", "expert")
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(900, 900, |x, _| image::Rgb([(x % 256) as u8, 10, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn part(bytes: Vec<u8>, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name("me.png")
        .mime_str(mime)
        .unwrap()
}

async fn a_signup_form_may_carry_a_photo(backend: Backend) {
    let s = Server::start(backend).await;
    let with_photo = form("rania@example.tn").part("photo", part(png(), "image/png"));
    let r = s
        .send(
            s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
                .multipart(with_photo),
        )
        .await
        .expect(201);
    assert_eq!(r.body["role"], "expert");
    let photo = s
        .get(r.body["photo_url"].as_str().expect("a photo URL"), None)
        .await
        .expect(200);
    let decoded = image::load_from_memory(&photo.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (512, 512));
    assert!(!s
        .link_token("rania@example.tn", "/api/v1/auth/verify-email")
        .await
        .is_empty());

    // Without a photo, the form works as the JSON body does.
    s.send(
        s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
            .multipart(form("plain@example.tn")),
    )
    .await
    .expect(201);
}

async fn a_bad_photo_refuses_the_whole_signup_form(backend: Backend) {
    let s = Server::start(backend).await;
    let cases = [
        (part(b"hello".to_vec(), "text/plain"), "unsupported_type"),
        (
            part(b"%PDF-1.7 not an image".to_vec(), "image/png"),
            "invalid_image",
        ),
    ];
    for (photo, code) in cases {
        let r = s
            .send(
                s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
                    .multipart(form("bad@example.tn").part("photo", photo)),
            )
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(r.field_codes(), [("photo".to_owned(), code.to_owned())]);
    }
    let r = s
        .send(
            s.req(reqwest::Method::POST, "/api/v1/auth/signup", None)
                .multipart(
                    reqwest::multipart::Form::new()
                        .text("email", "x@example.tn")
                        .text("role", "wizard")
                        .text("nickname", "x"),
                ),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("role".to_owned(), "invalid".to_owned()),
            ("nickname".to_owned(), "unknown".to_owned())
        ]
    );
    assert!(
        s.mails_to("bad@example.tn").is_empty(),
        "nothing was created"
    );
    s.signup("bad@example.tn").await.expect(201);
}
