//! Video messages on both backends: a resumable chunked upload resumed after
//! an interruption, the file checked by its first bytes and its limits,
//! playback to the participants only with HTTP range requests, and video
//! replies settling video questions.

use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Resp, Server, Session};
use crate::messaging_support::*;

both_backends!(
    an_interrupted_upload_resumes_and_the_video_plays_in_ranges,
    uploads_are_checked_and_video_questions_wait_for_video_replies,
);

/// A WebM file of `len` bytes: the EBML magic, then a pattern.
fn webm(len: usize) -> Vec<u8> {
    let mut v = vec![0x1A, 0x45, 0xDF, 0xA3];
    v.extend((0..len - 4).map(|i| (i % 251) as u8));
    v
}

async fn start_upload(s: &Server, who: &Session, conversation: &str, size: usize) -> Resp {
    s.post(
        &format!("/api/v1/conversations/{conversation}/uploads"),
        Some(&who.access),
        json!({ "content_type": "video/webm", "size": size, "duration_ms": 4000 }),
    )
    .await
}

async fn put_chunk(
    s: &Server,
    who: &Session,
    upload: &str,
    file: &[u8],
    first: usize,
    last: usize,
) -> Resp {
    s.send(
        s.req(
            reqwest::Method::PUT,
            &format!("/api/v1/uploads/{upload}"),
            Some(&who.access),
        )
        .header(
            "Content-Range",
            format!("bytes {first}-{last}/{}", file.len()),
        )
        .body(file[first..=last].to_vec()),
    )
    .await
}

/// Uploads `file` whole in one chunk; the upload id.
async fn upload(s: &Server, who: &Session, conversation: &str, file: &[u8]) -> String {
    let u = id(&start_upload(s, who, conversation, file.len())
        .await
        .expect(201));
    put_chunk(s, who, &u, file, 0, file.len() - 1)
        .await
        .expect(200);
    u
}

async fn play(s: &Server, token: &str, message: &str, range: Option<&str>) -> Resp {
    let mut r = s.req(
        reqwest::Method::GET,
        &format!("/api/v1/messages/{message}/video"),
        Some(token),
    );
    if let Some(range) = range {
        r = r.header("Range", range);
    }
    s.send(r).await
}

async fn an_interrupted_upload_resumes_and_the_video_plays_in_ranges(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let file = webm(3000);
    let u = start_upload(&s, &p.user, &p.conversation, file.len())
        .await
        .expect(201);
    let upload = id(&u);
    assert_eq!(
        (u.body["offset"].as_i64(), u.body["state"].as_str()),
        (Some(0), Some("uploading"))
    );
    put_chunk(&s, &p.user, &upload, &file, 0, 999)
        .await
        .expect(200);

    // The connection drops mid-chunk: the client's guess of where it stands
    // is wrong, it is told, asks, and resumes from there.
    let wrong = put_chunk(&s, &p.user, &upload, &file, 1500, 2499)
        .await
        .expect_problem(409, "offset_mismatch");
    assert!(wrong.body["detail"].as_str().unwrap().contains("1000"));
    let status = s
        .get(&format!("/api/v1/uploads/{upload}"), Some(&p.user.access))
        .await
        .expect(200);
    assert_eq!(status.body["offset"], 1000);
    put_chunk(&s, &p.user, &upload, &file, 1000, 1999)
        .await
        .expect(200);
    // A chunk sent twice (its answer was lost) is refused, not appended.
    put_chunk(&s, &p.user, &upload, &file, 1000, 1999)
        .await
        .expect_problem(409, "offset_mismatch");
    let done = put_chunk(&s, &p.user, &upload, &file, 2000, 2999)
        .await
        .expect(200);
    assert_eq!(
        (done.body["offset"].as_i64(), done.body["state"].as_str()),
        (Some(3000), Some("complete"))
    );
    put_chunk(&s, &p.user, &upload, &file, 0, 99)
        .await
        .expect_problem(409, "upload_complete");

    let m = s
        .send_message(
            &p.user,
            &p.conversation,
            json!({ "kind": "video", "video_id": upload, "body": "ma question 🎥" }),
        )
        .await
        .expect(201);
    let message = id(&m);
    assert_eq!(m.body["price"], VIDEO * 500);
    assert_eq!(m.body["video"]["processing"], "original");
    assert_eq!(m.body["video"]["size"], 3000);
    assert_eq!(s.money(&p.user).await, (50_000 - 5000, 5000, 0));
    // One upload, one message.
    s.send_message(
        &p.user,
        &p.conversation,
        json!({ "kind": "video", "video_id": upload }),
    )
    .await
    .expect_problem(422, "validation_failed");

    for who in [&p.user, &p.expert] {
        let whole = play(&s, &who.access, &message, None).await.expect(200);
        assert_eq!(whole.bytes, file);
        assert_eq!(whole.header("accept-ranges"), Some("bytes"));
        assert_eq!(whole.header("content-type"), Some("video/webm"));
    }
    let part = play(&s, &p.expert.access, &message, Some("bytes=100-199"))
        .await
        .expect(206);
    assert_eq!(part.header("content-range"), Some("bytes 100-199/3000"));
    assert_eq!(part.bytes, file[100..200]);
    let tail = play(&s, &p.expert.access, &message, Some("bytes=-10"))
        .await
        .expect(206);
    assert_eq!(tail.header("content-range"), Some("bytes 2990-2999/3000"));
    assert_eq!(tail.bytes, file[2990..]);
    let open = play(&s, &p.expert.access, &message, Some("bytes=2500-"))
        .await
        .expect(206);
    assert_eq!(open.bytes, file[2500..]);
    for bad in ["bytes=3000-", "bytes=5-2", "bytes=0-1,5-6", "lines=0-1"] {
        let r = play(&s, &p.expert.access, &message, Some(bad))
            .await
            .expect_problem(416, "range_not_satisfiable");
        assert_eq!(r.header("content-range"), Some("bytes */3000"), "{bad}");
    }
    // A <video> element signs in with the query string.
    let r = s
        .get(
            &format!(
                "/api/v1/messages/{message}/video?access_token={}",
                p.expert.access
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.bytes.len(), 3000);
    // Nobody else plays it, nor sees the upload.
    let eve = s.user("eve@example.tn").await;
    play(&s, &eve.access, &message, None)
        .await
        .expect_problem(404, "not_found");
    s.get(&format!("/api/v1/uploads/{upload}"), Some(&eve.access))
        .await
        .expect_problem(404, "not_found");
    put_chunk(&s, &eve, &upload, &file, 0, 9)
        .await
        .expect_problem(404, "not_found");
}

async fn uploads_are_checked_and_video_questions_wait_for_video_replies(backend: Backend) {
    let s = messaging_server(backend, |c| {
        c.messaging.max_video_bytes = 10_000;
        c.messaging.max_chunk_bytes = 1000;
    })
    .await;
    let p = s.pair(100).await;
    let c = &p.conversation;
    let fields = |r: Resp| r.expect_problem(422, "validation_failed").field_codes();
    let f = |a: &str, b: &str| vec![(a.to_owned(), b.to_owned())];
    assert_eq!(
        fields(start_upload(&s, &p.user, c, 10_001).await),
        f("size", "too_large")
    );
    let long = s
        .post(
            &format!("/api/v1/conversations/{c}/uploads"),
            Some(&p.user.access),
            json!({ "content_type": "video/webm", "size": 100, "duration_ms": 5 * 60_000 + 1 }),
        )
        .await;
    assert_eq!(fields(long), f("duration_ms", "too_long"));
    let gif = s
        .post(
            &format!("/api/v1/conversations/{c}/uploads"),
            Some(&p.user.access),
            json!({ "content_type": "image/gif", "size": 100, "duration_ms": 100 }),
        )
        .await;
    assert_eq!(fields(gif), f("content_type", "unsupported"));

    // A PNG declared as WebM is refused at its first chunk; nothing moves.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(100, 0);
    let u = id(&start_upload(&s, &p.user, c, 100).await.expect(201));
    assert_eq!(
        fields(put_chunk(&s, &p.user, &u, &png, 0, 99).await),
        f("file", "unsupported")
    );
    let bad_range = s
        .send(
            s.req(
                reqwest::Method::PUT,
                &format!("/api/v1/uploads/{u}"),
                Some(&p.user.access),
            )
            .header("Content-Range", "bytes 0-9/999")
            .body(vec![0u8; 10]),
        )
        .await;
    assert_eq!(fields(bad_range), f("content_range", "mismatch"));
    let no_range = s
        .send(
            s.req(
                reqwest::Method::PUT,
                &format!("/api/v1/uploads/{u}"),
                Some(&p.user.access),
            )
            .body(vec![0u8; 10]),
        )
        .await;
    assert_eq!(fields(no_range), f("content_range", "invalid"));
    // A chunk over the limit is refused whole; smaller ones go on.
    let big = webm(2000);
    let u2 = id(&start_upload(&s, &p.user, c, big.len()).await.expect(201));
    put_chunk(&s, &p.user, &u2, &big, 0, 1999)
        .await
        .expect_problem(413, "payload_too_large");
    put_chunk(&s, &p.user, &u2, &big, 0, 999).await.expect(200);
    let st = s
        .get(&format!("/api/v1/uploads/{u}"), Some(&p.user.access))
        .await
        .expect(200);
    assert_eq!(st.body["offset"], 0);
    // An unfinished upload cannot be sent.
    s.send_message(&p.user, c, json!({ "kind": "video", "video_id": u }))
        .await
        .expect_problem(422, "validation_failed");

    // A video question, then a text one.
    let question = upload(&s, &p.user, c, &webm(500)).await;
    let video_q = id(&s
        .send_message(&p.user, c, json!({ "kind": "video", "video_id": question }))
        .await
        .expect(201));
    let text_q = id(&s.text(&p.user, c, "et en texte ?").await.expect(201));
    // A text reply settles the text question only.
    s.text(&p.expert, c, "réponse écrite").await.expect(201);
    assert_eq!(s.message(&p.user, c, &text_q).await["state"], "answered");
    assert_eq!(s.message(&p.user, c, &video_q).await["state"], "pending");
    // Naming the video question from a text reply is refused.
    let mismatch = s
        .send_message(&p.expert, c, json!({ "body": "non", "answers": video_q }))
        .await;
    assert_eq!(fields(mismatch), f("answers", "kind_mismatch"));
    assert_eq!(s.money(&p.expert).await.2, 1200);
    // The expert's video reply settles it.
    let answer = upload(&s, &p.expert, c, &webm(800)).await;
    let reply = s
        .send_message(
            &p.expert,
            c,
            json!({ "kind": "video", "video_id": answer, "answers": video_q }),
        )
        .await
        .expect(201);
    assert_eq!(reply.body["price"], 0);
    assert_eq!(s.message(&p.user, c, &video_q).await["state"], "answered");
    assert_eq!(s.money(&p.expert).await.2, 1200 + 4000);
    assert_eq!(s.money(&p.user).await, (50_000 - 1500 - 5000, 0, 0));
    s.assert_ledger_clean().await;

    // A day on, the uploads never sent are deleted with their files; the
    // sent ones stay and play.
    let files = |dir: std::path::PathBuf| {
        std::fs::read_dir(dir.join("messages").join(c))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // The refused PNG never reached a file; the half upload did.
    assert_eq!(files(s.objects()), 3, "one unsent, two sent");
    assert_eq!(s.state.messaging.purge_uploads(100).await.unwrap(), 0);
    s.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    assert_eq!(s.state.messaging.purge_uploads(100).await.unwrap(), 2);
    assert_eq!(files(s.objects()), 2);
    s.get(&format!("/api/v1/uploads/{u}"), Some(&p.user.access))
        .await
        .expect_problem(404, "not_found");
    let played = s
        .get(
            &format!(
                "/api/v1/messages/{video_q}/video?access_token={}",
                p.expert.access
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(played.bytes, webm(500));
}
