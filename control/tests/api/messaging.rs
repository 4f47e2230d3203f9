//! Messaging over HTTP on both backends: paid messages held at send and
//! captured by the expert's reply (80/20) or released at the deadline by
//! the durable job, the settlement rule, prices fixed at sending, races,
//! history and read receipts, search, booking proposals, blocks, reports
//! and hiding, and the bad paths. The ledger's audit runs after each money
//! test.

use std::time::Duration;

use control::notify::runner::Runner;
use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, Server};
use crate::messaging_support::*;

both_backends!(
    a_paid_message_is_held_at_send_and_the_reply_captures_it_80_20,
    a_message_the_wallet_cannot_pay_is_refused_and_nothing_is_held_or_stored,
    a_reply_settles_the_message_it_names_or_every_pending_one_of_its_kind,
    an_unanswered_message_expires_by_the_job_and_its_coins_go_back,
    a_reply_racing_the_expiry_settles_the_message_once,
    a_price_change_after_sending_leaves_the_held_amount,
    concurrent_sends_never_overdraw_and_racing_replies_capture_once,
    history_pages_newest_first_and_read_receipts_tell_what_the_other_read,
    a_third_party_can_neither_read_nor_post,
    search_finds_only_ones_own_messages_and_unicode_is_kept_exactly,
    a_booking_proposal_is_accepted_into_a_booking_in_one_step,
    blocked_accounts_cannot_message_each_other,
    reported_messages_reach_the_queue_and_admins_hide_them,
    bad_input_is_a_typed_problem_and_changes_nothing,
);

async fn count(s: &Server, sql: &str, bind: &str) -> i64 {
    s.count(sql, bind).await
}

async fn a_paid_message_is_held_at_send_and_the_reply_captures_it_80_20(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;

    // Opening again finds the same conversation; it shows the prices.
    let r = s
        .post(
            "/api/v1/conversations",
            Some(&p.user.access),
            json!({ "expert_id": p.expert.id }),
        )
        .await
        .expect(200);
    assert_eq!(id(&r), p.conversation);
    assert_eq!(r.body["prices"], json!({ "text": TEXT, "video": VIDEO }));
    assert_eq!(r.body["reply_within_seconds"], 7 * 24 * 3600);
    assert_eq!(r.body["with_name"], "Amira Expert");

    let m = s
        .text(&p.user, &p.conversation, "Bonjour ?")
        .await
        .expect(201);
    assert_eq!(m.body["state"], "pending");
    assert_eq!(m.body["price"], TEXT * 500);
    assert_eq!(m.body["reply_by"], "2031-06-09T08:00:00Z");
    assert_eq!(s.money(&p.user).await, (100 * 500 - 1500, 1500, 0));

    let reply = s
        .text(&p.expert, &p.conversation, "Bonjour !")
        .await
        .expect(201);
    assert_eq!(
        (reply.body["state"].as_str(), reply.body["price"].as_i64()),
        (Some("free"), Some(0))
    );
    let settled = s.message(&p.user, &p.conversation, &id(&m)).await;
    assert_eq!(settled["state"], "answered");
    assert_eq!(settled["answered_by"], id(&reply).as_str());
    // 80 % of 1,500 millimes to the expert, 20 % to the platform, exactly.
    assert_eq!(s.money(&p.user).await, (100 * 500 - 1500, 0, 0));
    assert_eq!(s.money(&p.expert).await, (0, 0, 1200));
    assert_eq!(s.revenue().await, 300);
    // The expiry was withdrawn with the reply.
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM jobs WHERE job_key = $1 AND state = 'cancelled'",
            &format!("message:{}:expire", id(&m))
        )
        .await,
        1
    );
    s.assert_ledger_clean().await;
}

async fn a_message_the_wallet_cannot_pay_is_refused_and_nothing_is_held_or_stored(
    backend: Backend,
) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(2).await;
    s.text(&p.user, &p.conversation, "Trop cher ?")
        .await
        .expect_problem(402, "insufficient_funds");
    assert_eq!(s.money(&p.user).await, (1000, 0, 0));
    assert!(s.history(&p.user, &p.conversation).await.is_empty());
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM messages WHERE sender_id = $1",
            &p.user.id
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM jobs WHERE kind = $1",
            "expire_message"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM notifications WHERE account_id = $1",
            &p.expert.id
        )
        .await,
        0,
        "the expert hears of nothing"
    );
    // With enough, the same message goes.
    s.fund(&p.user, 1).await;
    s.text(&p.user, &p.conversation, "Trop cher ?")
        .await
        .expect(201);
    assert_eq!(s.money(&p.user).await, (0, 1500, 0));
    // A hold that leaves the wallet low reminds the user to top up.
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND kind = 'low_balance'",
            &p.user.id
        )
        .await,
        1
    );
    s.assert_ledger_clean().await;
}

async fn a_reply_settles_the_message_it_names_or_every_pending_one_of_its_kind(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let mut sent = Vec::new();
    for body in ["un", "deux", "trois"] {
        sent.push(id(&s
            .text(&p.user, &p.conversation, body)
            .await
            .expect(201)));
    }
    // Naming the second settles it alone.
    let named = s
        .send_message(
            &p.expert,
            &p.conversation,
            json!({ "body": "pour deux", "answers": sent[1] }),
        )
        .await
        .expect(201);
    assert_eq!(named.body["answers"], sent[1].as_str());
    let state = |h: &Vec<serde_json::Value>, m: &str| {
        h.iter().find(|x| x["id"] == m).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let h = s.history(&p.user, &p.conversation).await;
    assert_eq!(
        [
            state(&h, &sent[0]),
            state(&h, &sent[1]),
            state(&h, &sent[2])
        ],
        ["pending", "answered", "pending"]
    );
    assert_eq!(s.money(&p.expert).await.2, 1200);
    // A message no longer pending cannot be named.
    s.send_message(
        &p.expert,
        &p.conversation,
        json!({ "body": "encore", "answers": sent[1] }),
    )
    .await
    .expect_problem(422, "validation_failed");
    // Naming none settles every pending one of its kind.
    let all = s
        .text(&p.expert, &p.conversation, "pour tous")
        .await
        .expect(201);
    let h = s.history(&p.user, &p.conversation).await;
    for m in [&sent[0], &sent[2]] {
        let m = h.iter().find(|x| x["id"] == m.as_str()).unwrap();
        assert_eq!(m["state"], "answered");
        assert_eq!(m["answered_by"], id(&all).as_str());
    }
    assert_eq!(s.money(&p.expert).await.2, 3 * 1200);
    assert_eq!(s.money(&p.user).await, (100 * 500 - 3 * 1500, 0, 0));
    // A reply with nothing pending captures nothing.
    s.text(&p.expert, &p.conversation, "rien").await.expect(201);
    assert_eq!(s.money(&p.expert).await.2, 3 * 1200);
    s.assert_ledger_clean().await;
}

async fn an_unanswered_message_expires_by_the_job_and_its_coins_go_back(backend: Backend) {
    let mut s = messaging_server(backend, |_| {}).await;
    s.stop_runner();
    let runner = Runner::new(s.state.clone());
    let p = s.pair(100).await;
    let m = id(&s
        .text(&p.user, &p.conversation, "Vous êtes là ?")
        .await
        .expect(201));
    // Deliveries of the expert's notification run; the expiry is not due.
    s.clock.advance(Duration::from_secs(7 * 24 * 3600 - 1));
    while runner.run_due().await.unwrap() > 0 {}
    assert_eq!(
        s.message(&p.user, &p.conversation, &m).await["state"],
        "pending"
    );
    assert_eq!(s.money(&p.user).await, (48_500, 1500, 0));

    s.clock.advance(Duration::from_secs(2));
    while runner.run_due().await.unwrap() > 0 {}
    let expired = s.message(&p.user, &p.conversation, &m).await;
    assert_eq!(expired["state"], "expired");
    assert_eq!(s.money(&p.user).await, (50_000, 0, 0));
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND kind = 'message_expired'",
            &p.user.id
        )
        .await,
        1
    );
    // A late reply captures nothing, and the job does not run twice.
    s.text(&p.expert, &p.conversation, "Désolé")
        .await
        .expect(201);
    assert_eq!(s.money(&p.expert).await.2, 0);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM jobs WHERE job_key = $1 AND state = 'done'",
            &format!("message:{m}:expire")
        )
        .await,
        1
    );
    s.assert_ledger_clean().await;
}

async fn a_reply_racing_the_expiry_settles_the_message_once(backend: Backend) {
    let mut s = messaging_server(backend, |_| {}).await;
    s.stop_runner();
    let runner = Runner::new(s.state.clone());
    let p = s.pair(100).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(id(&s
            .text(&p.user, &p.conversation, &format!("q{i}"))
            .await
            .expect(201)));
    }
    // Every deadline has passed when the expert answers, and the job runs
    // at the same moment.
    s.clock.advance(Duration::from_secs(7 * 24 * 3600 + 1));
    let (reply, _) = tokio::join!(s.text(&p.expert, &p.conversation, "enfin"), async {
        while runner.run_due().await.unwrap() > 0 {}
    });
    reply.expect(201);
    let h = s.history(&p.user, &p.conversation).await;
    let answered = sent
        .iter()
        .filter(|m| {
            h.iter()
                .any(|x| x["id"] == m.as_str() && x["state"] == "answered")
        })
        .count() as i64;
    let expired = sent
        .iter()
        .filter(|m| {
            h.iter()
                .any(|x| x["id"] == m.as_str() && x["state"] == "expired")
        })
        .count() as i64;
    assert_eq!(answered + expired, 5, "each settled one way");
    // Each message's coins went exactly one way.
    assert_eq!(s.money(&p.expert).await.2, answered * 1200);
    assert_eq!(s.money(&p.user).await, (50_000 - answered * 1500, 0, 0));
    assert_eq!(s.revenue().await, answered * 300);
    s.assert_ledger_clean().await;
}

async fn a_price_change_after_sending_leaves_the_held_amount(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let m = id(&s.text(&p.user, &p.conversation, "Prix ?").await.expect(201));
    s.patch(
        "/api/v1/experts/me",
        Some(&p.expert.access),
        json!({ "prices": { "text_message": 7, "video_message": VIDEO } }),
    )
    .await
    .expect(200);
    let c = s
        .get(
            &format!("/api/v1/conversations/{}", p.conversation),
            Some(&p.user.access),
        )
        .await
        .expect(200);
    assert_eq!(
        c.body["prices"]["text"], 7,
        "the next message costs the new price"
    );
    assert_eq!(s.message(&p.user, &p.conversation, &m).await["price"], 1500);
    assert_eq!(s.money(&p.user).await.1, 1500);
    s.text(&p.expert, &p.conversation, "Réponse")
        .await
        .expect(201);
    assert_eq!(
        s.money(&p.expert).await.2,
        1200,
        "the price when sent was captured"
    );
    // The next message is priced at 7 coins.
    let next = s
        .text(&p.user, &p.conversation, "Et maintenant ?")
        .await
        .expect(201);
    assert_eq!(next.body["price"], 3500);
    s.assert_ledger_clean().await;
}

async fn concurrent_sends_never_overdraw_and_racing_replies_capture_once(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(10).await;
    let bodies: Vec<String> = (0..12).map(|i| format!("question {i}")).collect();
    let sends = bodies.iter().map(|b| s.text(&p.user, &p.conversation, b));
    let results = join_all(sends).await;
    let ok = results.iter().filter(|r| r.status == 201).count();
    let refused = results
        .iter()
        .filter(|r| r.status == 402 && r.code() == "insufficient_funds")
        .count();
    // 10 coins pay for three messages at 3 coins.
    assert_eq!((ok, refused), (3, 9));
    assert_eq!(s.money(&p.user).await, (500, 4500, 0));
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM messages WHERE sender_id = $1",
            &p.user.id
        )
        .await,
        3
    );

    let bodies: Vec<String> = (0..8).map(|i| format!("réponse {i}")).collect();
    let replies = bodies.iter().map(|b| s.text(&p.expert, &p.conversation, b));
    for r in join_all(replies).await {
        r.expect(201);
    }
    // Each held message captured exactly once.
    assert_eq!(s.money(&p.expert).await, (0, 0, 3 * 1200));
    assert_eq!(s.money(&p.user).await, (500, 0, 0));
    assert_eq!(s.revenue().await, 3 * 300);
    s.assert_ledger_clean().await;
}

async fn history_pages_newest_first_and_read_receipts_tell_what_the_other_read(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        s.clock.advance(Duration::from_millis(10));
        let who = if i % 2 == 0 { &p.user } else { &p.expert };
        sent.push(id(&s
            .text(who, &p.conversation, &format!("m{i}"))
            .await
            .expect(201)));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!(
                "/api/v1/conversations/{}/messages?limit=2&cursor={c}",
                p.conversation
            ),
            None => format!("/api/v1/conversations/{}/messages?limit=2", p.conversation),
        };
        let r = s.get(&url, Some(&p.expert.access)).await.expect(200);
        for m in r.body["items"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, every message once");

    // The user's last message is unread by the expert until they read.
    let unread = |who: &crate::common::Session| {
        let (url, access) = (
            format!("/api/v1/conversations/{}", p.conversation),
            who.access.clone(),
        );
        let s = &s;
        async move { s.get(&url, Some(&access)).await.expect(200).body["unread"].as_i64() }
    };
    assert_eq!(
        (unread(&p.expert).await, unread(&p.user).await),
        (Some(3), Some(2))
    );
    let last = &sent[0];
    assert_eq!(
        s.message(&p.user, &p.conversation, last).await["read"],
        false
    );
    s.post(
        &format!("/api/v1/conversations/{}/read", p.conversation),
        Some(&p.expert.access),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        s.message(&p.user, &p.conversation, last).await["read"],
        true
    );
    let c = s
        .get(
            &format!("/api/v1/conversations/{}", p.conversation),
            Some(&p.user.access),
        )
        .await
        .expect(200);
    assert!(c.body["read_by_other_at"].is_string());
    assert_eq!(c.body["read_by_you_at"], serde_json::Value::Null);
    // The expert's latest message is not yet read by the user.
    assert_eq!(
        s.message(&p.expert, &p.conversation, &sent[1]).await["read"],
        false
    );
    // Both list the conversation.
    for who in [&p.user, &p.expert] {
        let l = s
            .get("/api/v1/conversations", Some(&who.access))
            .await
            .expect(200);
        assert_eq!(l.body["items"][0]["id"], p.conversation.as_str());
    }
}

async fn a_third_party_can_neither_read_nor_post(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let m = id(&s.text(&p.user, &p.conversation, "privé").await.expect(201));
    let eve = s.user("eve@example.tn").await;
    s.fund(&eve, 100).await;
    let c = &p.conversation;
    let t = Some(eve.access.as_str());
    s.get(&format!("/api/v1/conversations/{c}"), t)
        .await
        .expect_problem(404, "not_found");
    s.get(&format!("/api/v1/conversations/{c}/messages"), t)
        .await
        .expect_problem(404, "not_found");
    s.text(&eve, c, "intrusion")
        .await
        .expect_problem(404, "not_found");
    s.post(&format!("/api/v1/conversations/{c}/read"), t, json!({}))
        .await
        .expect_problem(404, "not_found");
    s.post(
        &format!("/api/v1/conversations/{c}/uploads"),
        t,
        json!({ "content_type": "video/webm", "size": 100, "duration_ms": 1000 }),
    )
    .await
    .expect_problem(404, "not_found");
    s.post(&format!("/api/v1/messages/{m}/accept"), t, json!({}))
        .await
        .expect_problem(404, "not_found");
    s.post(
        "/api/v1/reports",
        t,
        json!({ "target_kind": "message", "target_id": m, "reason": "spam" }),
    )
    .await
    .expect_problem(404, "not_found");
    let l = s.get("/api/v1/conversations", t).await.expect(200);
    assert_eq!(l.body["items"], json!([]));
    // Unauthenticated: 401.
    s.get(&format!("/api/v1/conversations/{c}/messages"), None)
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(s.money(&eve).await, (50_000, 0, 0));
    assert_eq!(s.history(&p.user, c).await.len(), 1);
}

async fn search_finds_only_ones_own_messages_and_unicode_is_kept_exactly(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let other = s.user("other@example.tn").await;
    s.fund(&other, 100).await;
    let theirs = s.open_conversation(&other, &p.expert).await;
    let text = "Le Bitcoin 🚀 au Café, مرحبا 👩🏽‍💻";
    let mine = id(&s.text(&p.user, &p.conversation, text).await.expect(201));
    let not_mine = id(&s.text(&other, &theirs, "bitcoin aussi").await.expect(201));
    s.text(&p.user, &p.conversation, "autre sujet")
        .await
        .expect(201);

    let found = |who: &crate::common::Session, q: &str| {
        let url = format!("/api/v1/messages/search?q={}", urlencode(q));
        let access = who.access.clone();
        let s = &s;
        async move {
            let r = s.get(&url, Some(&access)).await.expect(200);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found(&p.user, "bitcoin").await, [mine.as_str()]);
    assert_eq!(found(&other, "BITCOIN").await, [not_mine.as_str()]);
    let mut both = found(&p.expert, "bitco").await;
    both.sort();
    let mut expected = vec![mine.clone(), not_mine.clone()];
    expected.sort();
    assert_eq!(both, expected, "the expert takes part in both");
    assert_eq!(
        found(&p.user, "cafe").await,
        [mine.as_str()],
        "accents ignored"
    );
    assert_eq!(found(&p.user, "مرحبا").await, [mine.as_str()]);
    assert!(
        found(&p.user, "bitcoin absent").await.is_empty(),
        "every word must match"
    );
    // Kept exactly as sent.
    let m = s.message(&p.expert, &p.conversation, &mine).await;
    assert_eq!(m["body"], text);
    s.get("/api/v1/messages/search?q=%20%21", Some(&p.user.access))
        .await
        .expect_problem(400, "invalid_query");
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn a_booking_proposal_is_accepted_into_a_booking_in_one_step(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(200).await;
    s.put(
        "/api/v1/experts/me/availability",
        Some(&p.expert.access),
        crate::booking_support::office_hours(),
    )
    .await
    .expect(200);
    let propose = |who: &crate::common::Session, body: &str, start: &str| {
        let (access, json) = (
            who.access.clone(),
            json!({ "body": body, "proposal": { "start": start, "minutes": 30 } }),
        );
        let (s, c) = (&s, &p.conversation);
        async move {
            s.post(
                &format!("/api/v1/conversations/{c}/messages"),
                Some(&access),
                json,
            )
            .await
        }
    };
    let accept = |who: &crate::common::Session, m: &str| {
        let (access, url) = (who.access.clone(), format!("/api/v1/messages/{m}/accept"));
        let s = &s;
        async move { s.post(&url, Some(&access), json!({})).await }
    };
    let offer = propose(&p.expert, "Parlons-en 📅", "2031-06-05T10:00:00Z")
        .await
        .expect(201);
    let m = id(&offer);
    assert_eq!(offer.body["proposal"]["start"], "2031-06-05T10:00:00Z");
    assert_eq!(
        offer.body["proposal"]["booking_id"],
        serde_json::Value::Null
    );

    accept(&p.expert, &m)
        .await
        .expect_problem(409, "not_yours_to_accept");
    let b = accept(&p.user, &m).await.expect(201);
    assert_eq!(b.body["start"], "2031-06-05T10:00:00Z");
    assert_eq!(b.body["minutes"], 30);
    assert_eq!(b.body["expert_id"], p.expert.id.as_str());
    // 2 coins a minute for 30 minutes, held by the bookings service.
    assert_eq!(b.body["price"], 30_000);
    assert_eq!(s.money(&p.user).await.1, 30_000);
    let seen = s.message(&p.user, &p.conversation, &m).await;
    assert_eq!(seen["proposal"]["booking_id"], b.body["id"]);
    accept(&p.user, &m)
        .await
        .expect_problem(409, "proposal_taken");
    // A message without a proposal; a proposal in the past, or from the user.
    let plain = id(&s.text(&p.expert, &p.conversation, "sans").await.expect(201));
    accept(&p.user, &plain)
        .await
        .expect_problem(409, "no_proposal");
    propose(&p.expert, "hier", "2031-06-01T10:00:00Z")
        .await
        .expect_problem(422, "validation_failed");
    let from_user = propose(&p.user, "moi aussi", "2031-06-05T12:00:00Z")
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        from_user.field_codes(),
        [("proposal".to_owned(), "experts_only".to_owned())]
    );
    s.assert_ledger_clean().await;
}

async fn blocked_accounts_cannot_message_each_other(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    s.put(
        &format!("/api/v1/blocks/{}", p.expert.id),
        Some(&p.user.access),
        json!({}),
    )
    .await
    .expect(204);
    s.text(&p.user, &p.conversation, "bloqué")
        .await
        .expect_problem(403, "blocked");
    s.text(&p.expert, &p.conversation, "bloqué")
        .await
        .expect_problem(403, "blocked");
    assert_eq!(s.money(&p.user).await, (50_000, 0, 0));
    assert!(s.history(&p.expert, &p.conversation).await.is_empty());
    s.delete(
        &format!("/api/v1/blocks/{}", p.expert.id),
        Some(&p.user.access),
    )
    .await
    .expect(204);
    s.text(&p.user, &p.conversation, "débloqué")
        .await
        .expect(201);

    // An expert who blocks a user is not reachable by them.
    let other = s.user("other@example.tn").await;
    s.put(
        &format!("/api/v1/blocks/{}", other.id),
        Some(&p.expert.access),
        json!({}),
    )
    .await
    .expect(204);
    s.post(
        "/api/v1/conversations",
        Some(&other.access),
        json!({ "expert_id": p.expert.id }),
    )
    .await
    .expect_problem(403, "blocked");
    s.put(
        &format!("/api/v1/blocks/{}", p.user.id),
        Some(&p.user.access),
        json!({}),
    )
    .await
    .expect_problem(409, "cannot_block_self");
    s.put("/api/v1/blocks/nobody", Some(&p.user.access), json!({}))
        .await
        .expect_problem(404, "not_found");
}

async fn reported_messages_reach_the_queue_and_admins_hide_them(backend: Backend) {
    let s = messaging_server(backend, |_| {}).await;
    let p = s.pair(100).await;
    let mine = id(&s
        .text(&p.user, &p.conversation, "question")
        .await
        .expect(201));
    let rude = id(&s
        .text(&p.expert, &p.conversation, "texte grossier")
        .await
        .expect(201));
    let report = |who: &crate::common::Session, m: &str| {
        let (access, body) = (
            who.access.clone(),
            json!({ "target_kind": "message", "target_id": m, "reason": "abuse", "details": "insultes" }),
        );
        let s = &s;
        async move { s.post("/api/v1/reports", Some(&access), body).await }
    };
    let r = report(&p.user, &rude).await.expect(201);
    assert_eq!(r.body["target_kind"], "message");
    report(&p.user, &rude).await.expect(200);
    let own = report(&p.user, &mine)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        own.field_codes(),
        [("target_id".to_owned(), "self".to_owned())]
    );

    let admin = s.admin().await;
    let q = s
        .get("/api/v1/admin/reports", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(q.body["items"][0]["target_id"], rude.as_str());
    assert_eq!(q.body["items"][0]["message"]["body"], "texte grossier");
    assert_eq!(
        q.body["items"][0]["message"]["sender_id"],
        p.expert.id.as_str()
    );
    let report_id = q.body["items"][0]["id"].as_str().unwrap().to_owned();
    // Admins read the reported message through moderation.
    let read = s
        .get(
            &format!("/api/v1/admin/messages/{rude}"),
            Some(&admin.access),
        )
        .await
        .expect(200);
    assert_eq!(read.body["body"], "texte grossier");
    s.get(
        &format!("/api/v1/admin/messages/{rude}"),
        Some(&p.user.access),
    )
    .await
    .expect_problem(403, "forbidden");
    s.post(
        &format!("/api/v1/admin/reports/{report_id}/close"),
        Some(&admin.access),
        json!({ "action": "suspend_account", "reason": "non" }),
    )
    .await
    .expect_problem(422, "validation_failed");
    s.post(
        &format!("/api/v1/admin/reports/{report_id}/close"),
        Some(&admin.access),
        json!({ "action": "hide_message", "reason": "insultes" }),
    )
    .await
    .expect(200);
    for who in [&p.user, &p.expert] {
        let m = s.message(who, &p.conversation, &rude).await;
        assert_eq!(
            (m["hidden"].as_bool(), m["body"].as_str()),
            (Some(true), Some(""))
        );
    }
    let found = s
        .get("/api/v1/messages/search?q=grossier", Some(&p.user.access))
        .await
        .expect(200);
    assert_eq!(found.body["items"], json!([]));
    let a = s
        .get(
            &format!("/api/v1/admin/moderation/actions?target_id={rude}"),
            Some(&admin.access),
        )
        .await
        .expect(200);
    assert_eq!(a.body["items"][0]["action"], "hide_message");
    assert_eq!(a.body["items"][0]["target_kind"], "message");
    s.post(
        &format!("/api/v1/admin/messages/{rude}/unhide"),
        Some(&admin.access),
        json!({ "reason": "erreur" }),
    )
    .await
    .expect(200);
    assert_eq!(
        s.message(&p.user, &p.conversation, &rude).await["body"],
        "texte grossier"
    );
    s.post(
        "/api/v1/admin/messages/nope/hide",
        Some(&admin.access),
        json!({ "reason": "x" }),
    )
    .await
    .expect_problem(404, "not_found");
}

async fn bad_input_is_a_typed_problem_and_changes_nothing(backend: Backend) {
    let s = messaging_server(backend, |c| c.messaging.max_chars = 10).await;
    let p = s.pair(100).await;
    let c = &p.conversation;
    let field = |r: crate::common::Resp| r.expect_problem(422, "validation_failed").field_codes();
    let f = |a: &str, b: &str| vec![(a.to_owned(), b.to_owned())];
    assert_eq!(
        field(s.text(&p.user, c, "12345678901").await),
        f("body", "too_long")
    );
    assert_eq!(
        field(s.text(&p.user, c, "   ").await),
        f("body", "required")
    );
    assert_eq!(
        field(s.text(&p.user, c, "a\u{7}b").await),
        f("body", "invalid")
    );
    assert_eq!(
        field(s.send_message(&p.user, c, json!({ "kind": "video" })).await),
        f("video_id", "required")
    );
    assert_eq!(
        field(
            s.send_message(&p.user, c, json!({ "body": "x", "answers": "y" }))
                .await
        ),
        f("answers", "experts_only")
    );
    assert_eq!(
        field(
            s.send_message(&p.user, c, json!({ "kind": "video", "video_id": "nope" }))
                .await
        ),
        f("video_id", "not_ready")
    );
    s.send_message(&p.user, c, json!({ "body": "x", "spam": 1 }))
        .await
        .expect_problem(422, "validation_failed");
    s.send_message(&p.user, c, json!({ "kind": "audio", "body": "x" }))
        .await
        .expect(422);
    // Ten emojis are ten characters: accepted.
    s.text(&p.user, c, "👍👍👍👍👍👍👍👍👍👍").await.expect(201);
    s.get(
        &format!("/api/v1/conversations/{c}/messages?cursor=zz"),
        Some(&p.user.access),
    )
    .await
    .expect_problem(400, "invalid_query");
    s.get(
        &format!("/api/v1/conversations/{c}/messages?limit=0"),
        Some(&p.user.access),
    )
    .await
    .expect_problem(400, "invalid_query");
    s.post(
        "/api/v1/conversations",
        Some(&p.expert.access),
        json!({ "expert_id": p.expert.id }),
    )
    .await
    .expect_problem(409, "own_conversation");
    s.post(
        "/api/v1/conversations",
        Some(&p.user.access),
        json!({ "expert_id": p.user.id }),
    )
    .await
    .expect_problem(404, "not_found");
    s.text(&p.user, "nope", "x")
        .await
        .expect_problem(404, "not_found");
    // A retried send (same Idempotency-Key) holds once.
    let send = || {
        s.send(
            s.req(
                reqwest::Method::POST,
                &format!("/api/v1/conversations/{c}/messages"),
                Some(&p.user.access),
            )
            .header("Idempotency-Key", "send-1")
            .json(&json!({ "body": "une fois" })),
        )
    };
    let first = send().await.expect(201);
    let again = send().await.expect(200);
    assert_eq!(id(&first), id(&again));
    assert_eq!(s.money(&p.user).await, (50_000 - 3000, 3000, 0));
    assert_eq!(s.history(&p.user, c).await.len(), 2);
    let reused = s
        .send(
            s.req(
                reqwest::Method::POST,
                &format!("/api/v1/conversations/{c}/messages"),
                Some(&p.user.access),
            )
            .header("Idempotency-Key", "send-1")
            .json(&json!({ "body": "autre chose" })),
        )
        .await;
    reused.expect_problem(409, "idempotency_key_reused");
    assert_eq!(s.money(&p.user).await, (50_000 - 3000, 3000, 0));
    s.assert_ledger_clean().await;
}
