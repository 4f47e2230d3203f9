//! Bookings over HTTP on both backends: instant and request flows, answers
//! and proposals, deadlines, cancellation policy and refunds, rescheduling,
//! the race for one slot, interrupted reservations, histories and guests.
//! The ledger's audit runs after each.

use futures::future::join_all;
use platform::Clock;
use serde_json::json;

use crate::booking_support::*;
use crate::both_backends;
use crate::common::{Backend, Server, Session};

both_backends!(
    instant_bookings_hold_the_price_and_confirm_at_once,
    requests_are_confirmed_declined_or_answered_with_another_time,
    unanswered_requests_lapse_once_and_release_the_hold,
    cancellations_refund_what_the_policy_says,
    rescheduling_moves_the_booking_to_a_free_time,
    fifty_concurrent_requests_for_one_slot_leave_one_booking_and_no_hold_behind,
    an_interrupted_reservation_is_finished_once,
    histories_list_upcoming_and_past_bookings_with_filters_and_pages,
    guests_are_invited_answer_and_are_removed_by_the_host,
);

const NOW: &str = "2031-06-02T08:00:00Z";

async fn notices(s: &Server, who: &Session, kind: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND kind = $2")
            .bind(&who.id)
            .bind(kind)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    n
}

/// Pending reminder jobs of a booking, by key.
async fn reminders(s: &Server, booking: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT job_key FROM jobs WHERE state = 'pending' AND job_key LIKE $1 ORDER BY job_key",
    )
    .bind(format!("reminder:booking:{booking}:%"))
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(k,)| k).collect()
}

fn id(r: &crate::common::Resp) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}

async fn instant_bookings_hold_the_price_and_confirm_at_once(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("amira@example.tn", "Amira", 2, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;

    let r = s
        .book(&u, &e, "2031-06-05T11:00:00+01:00", 30)
        .await
        .expect(201);
    let b = id(&r);
    assert_eq!(r.body["state"], "confirmed");
    assert_eq!(r.body["start"], "2031-06-05T10:00:00Z");
    assert_eq!(r.body["end"], "2031-06-05T10:30:00Z");
    // 2 coins a minute for 30 minutes: 60 coins, held.
    assert_eq!(
        (r.body["rate"].as_i64(), r.body["price"].as_i64()),
        (Some(2), Some(30_000))
    );
    assert_eq!(s.money(&u).await, (20_000, 30_000, 0));
    assert_eq!(notices(&s, &u, "booking_confirmed").await, 1);
    // 24 hours and 15 minutes before, for each side.
    let keys = reminders(&s, &b).await;
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(keys
        .iter()
        .any(|k| k.ends_with(":1440") && k.contains(&e.id)));

    // Later price changes never reach it.
    s.patch(
        "/api/v1/experts/me",
        Some(&e.access),
        json!({ "prices": { "video_call": 9 } }),
    )
    .await
    .expect(200);
    let got = s
        .get(&format!("/api/v1/bookings/{b}"), Some(&u.access))
        .await
        .expect(200);
    assert_eq!(got.body["price"], 30_000);

    s.book(&u, &e, "2031-06-05T10:20:00Z", 10)
        .await
        .expect_problem(409, "slot_unavailable");
    s.book(&u, &e, "2031-06-05T21:00:00Z", 10)
        .await
        .expect_problem(409, "slot_unavailable");
    let short = s.book(&u, &e, "2031-06-06T10:00:00Z", 9).await.expect(422);
    assert_eq!(
        short.field_codes(),
        [("minutes".to_owned(), "invalid".to_owned())]
    );
    s.book(&u, &e, "2031-06-01T10:00:00Z", 10).await.expect(422);
    s.book(&e, &e, "2031-06-06T10:00:00Z", 10)
        .await
        .expect_problem(409, "own_calendar");
    let nobody = Session {
        id: uuid::Uuid::new_v4().to_string(),
        ..e.clone()
    };
    s.book(&u, &nobody, "2031-06-06T10:00:00Z", 10)
        .await
        .expect_problem(404, "not_found");

    // Short of coins: refused, and the slot is not kept.
    let poor = s.user("poor@example.tn").await;
    s.book(&poor, &e, "2031-06-06T10:00:00Z", 30)
        .await
        .expect_problem(402, "insufficient_funds");
    // At the expert's new rate: 9 coins a minute.
    s.fund(&poor, 270).await;
    s.book(&poor, &e, "2031-06-06T10:00:00Z", 30)
        .await
        .expect(201);
    // A listed expert who offers no calls.
    let quiet = s
        .approved_expert(
            "quiet@example.tn",
            "Quiet",
            "Expert",
            json!({ "bio": "x", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "text_message": 1 } }),
        )
        .await;
    s.put(
        "/api/v1/experts/me/availability",
        Some(&quiet.access),
        office_hours(),
    )
    .await
    .expect(200);
    s.book(&u, &quiet, "2031-06-06T10:00:00Z", 30)
        .await
        .expect_problem(409, "calls_not_offered");
    s.assert_ledger_clean().await;
}

async fn requests_are_confirmed_declined_or_answered_with_another_time(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("karim@example.tn", "Karim", 2, false, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    let stranger = s.user("stranger@example.tn").await;
    s.fund(&u, 200).await;

    let r = s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201);
    let first = id(&r);
    assert_eq!(r.body["state"], "requested");
    assert_eq!(r.body["respond_by"], "2031-06-02T10:00:00Z");
    assert_eq!(notices(&s, &e, "booking_requested").await, 1);
    assert!(
        reminders(&s, &first).await.is_empty(),
        "no reminders before confirmation"
    );
    s.act(&u, &first, "confirm", json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    s.get(&format!("/api/v1/bookings/{first}"), Some(&stranger.access))
        .await
        .expect_problem(404, "not_found");
    s.act(&stranger, &first, "cancel", json!({}))
        .await
        .expect_problem(404, "not_found");
    let c = s.act(&e, &first, "confirm", json!({})).await.expect(200);
    assert_eq!(c.body["state"], "confirmed");
    assert_eq!(notices(&s, &u, "booking_confirmed").await, 1);
    assert_eq!(reminders(&s, &first).await.len(), 4);

    let second = id(&s.book(&u, &e, "2031-06-05T12:00:00Z", 30).await.expect(201));
    assert_eq!(s.money(&u).await, (40_000, 60_000, 0));
    let d = s
        .act(&e, &second, "decline", json!({ "reason": "En congé" }))
        .await
        .expect(200);
    assert_eq!(
        (d.body["state"].as_str(), d.body["reason"].as_str()),
        (Some("declined"), Some("En congé"))
    );
    assert_eq!(d.body["charged"], 0);
    assert_eq!(s.money(&u).await, (70_000, 30_000, 0));
    assert_eq!(notices(&s, &u, "booking_declined").await, 1);

    // Another time instead: the asked-for time is free again, the new one taken.
    let third = id(&s.book(&u, &e, "2031-06-05T14:00:00Z", 60).await.expect(201));
    s.act(
        &e,
        &third,
        "propose",
        json!({ "start": "2031-06-05T10:15:00Z" }),
    )
    .await
    .expect_problem(409, "slot_unavailable");
    let p = s
        .act(
            &e,
            &third,
            "propose",
            json!({ "start": "2031-06-05T16:00:00Z" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (p.body["state"].as_str(), p.body["start"].as_str()),
        (Some("proposed"), Some("2031-06-05T16:00:00Z"))
    );
    assert_eq!(notices(&s, &u, "booking_proposed").await, 1);
    assert_eq!(notices(&s, &u, "booking_changed").await, 0);
    s.act(&e, &third, "accept", json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    let a = s.act(&u, &third, "accept", json!({})).await.expect(200);
    assert_eq!(a.body["state"], "confirmed");
    assert_eq!(notices(&s, &e, "booking_confirmed").await, 1);
    s.book(&stranger, &e, "2031-06-05T14:00:00Z", 60)
        .await
        .expect_problem(402, "insufficient_funds");
    assert_eq!(s.money(&u).await, (10_000, 90_000, 0));
    s.assert_ledger_clean().await;
}

async fn unanswered_requests_lapse_once_and_release_the_hold(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("nour@example.tn", "Nour", 2, false, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;
    let b = id(&s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201));
    let (one, two) = (s.bookings_replica(), s.bookings_replica());
    let (a, c) = futures::join!(one.sweep(100), two.sweep(100));
    assert_eq!(a.unwrap().expired + c.unwrap().expired, 0, "not due yet");

    s.clock.advance(RESPOND_WITHIN);
    let (a, c) = futures::join!(one.sweep(100), two.sweep(100));
    assert_eq!(a.unwrap().expired + c.unwrap().expired, 1);
    let got = s
        .get(&format!("/api/v1/bookings/{b}"), Some(&u.access))
        .await
        .expect(200);
    assert_eq!(
        (got.body["state"].as_str(), got.body["ended_by"].as_str()),
        (Some("expired"), Some("system"))
    );
    assert_eq!(s.money(&u).await, (50_000, 0, 0));
    let releases = s
        .count(
            "SELECT COUNT(*) FROM ledger_transfers t JOIN ledger_holds h ON h.id = t.hold_id \
             WHERE h.reference = $1 AND t.kind = 'release'",
            &format!("booking:{b}"),
        )
        .await;
    assert_eq!(releases, 1);
    assert_eq!(notices(&s, &u, "booking_cancelled").await, 1);
    assert_eq!(notices(&s, &e, "booking_cancelled").await, 1);
    // Too late to answer now.
    s.act(&e, &b, "confirm", json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    s.assert_ledger_clean().await;
}

async fn cancellations_refund_what_the_policy_says(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("leila@example.tn", "Leila", 2, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 300).await;

    // Three days ahead: free.
    let early = id(&s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201));
    let c = s.act(&u, &early, "cancel", json!({})).await.expect(200);
    assert_eq!(
        (c.body["state"].as_str(), c.body["charged"].as_i64()),
        (Some("cancelled"), Some(0))
    );
    assert_eq!(s.money(&u).await, (150_000, 0, 0));
    assert_eq!(notices(&s, &e, "booking_cancelled").await, 1);
    assert!(reminders(&s, &early).await.is_empty());

    // Ten hours ahead: half the price goes to the expert (80 % of it) and the platform.
    let late = id(&s.book(&u, &e, "2031-06-02T18:00:00Z", 30).await.expect(201));
    let c = s
        .act(&u, &late, "cancel", json!({ "reason": "Empêchement" }))
        .await
        .expect(200);
    assert_eq!(
        (c.body["charged"].as_i64(), c.body["ended_by"].as_str()),
        (Some(15_000), Some("user"))
    );
    assert_eq!(s.money(&u).await, (135_000, 0, 0));
    assert_eq!(s.money(&e).await, (0, 0, 12_000));

    // The expert cancels late: everything back.
    let theirs = id(&s.book(&u, &e, "2031-06-02T16:00:00Z", 60).await.expect(201));
    let c = s.act(&e, &theirs, "cancel", json!({})).await.expect(200);
    assert_eq!(c.body["charged"], 0);
    assert_eq!(s.money(&u).await, (135_000, 0, 0));
    assert_eq!(notices(&s, &u, "booking_cancelled").await, 1);
    s.act(&u, &theirs, "cancel", json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    s.assert_ledger_clean().await;
}

async fn rescheduling_moves_the_booking_to_a_free_time(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("hedi@example.tn", "Hedi", 2, true, office_hours())
        .await;
    let (u, other) = (
        s.user("user@example.tn").await,
        s.user("other@example.tn").await,
    );
    s.fund(&u, 100).await;
    s.fund(&other, 200).await;
    let b = id(&s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201));
    s.book(&other, &e, "2031-06-05T12:00:00Z", 30)
        .await
        .expect(201);
    let before = reminders(&s, &b).await;

    s.act(
        &u,
        &b,
        "reschedule",
        json!({ "start": "2031-06-05T12:15:00Z" }),
    )
    .await
    .expect_problem(409, "slot_unavailable");
    let r = s
        .act(
            &u,
            &b,
            "reschedule",
            json!({ "start": "2031-06-05T15:00:00Z" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r.body["start"].as_str(),
            r.body["end"].as_str(),
            r.body["sequence"].as_i64(),
            r.body["price"].as_i64()
        ),
        (
            Some("2031-06-05T15:00:00Z"),
            Some("2031-06-05T15:30:00Z"),
            Some(1),
            Some(30_000)
        )
    );
    assert_eq!(notices(&s, &e, "booking_changed").await, 1);
    let after = reminders(&s, &b).await;
    let start = at("2031-06-05T15:00:00Z").to_string();
    assert_eq!(after.len(), 4);
    assert!(after.iter().all(|k| k.contains(&start)), "{after:?}");
    assert!(before.iter().all(|k| !after.contains(k)));
    // The old time is free again.
    s.book(&other, &e, "2031-06-05T10:00:00Z", 30)
        .await
        .expect(201);

    // Within a day of the start only the expert may move it.
    s.clock
        .advance(std::time::Duration::from_secs(2 * 24 * 3600 + 8 * 3600));
    s.act(
        &u,
        &b,
        "reschedule",
        json!({ "start": "2031-06-05T17:00:00Z" }),
    )
    .await
    .expect_problem(409, "too_late");
    s.act(
        &e,
        &b,
        "reschedule",
        json!({ "start": "2031-06-05T17:00:00Z" }),
    )
    .await
    .expect(200);
    s.assert_ledger_clean().await;
}

async fn fifty_concurrent_requests_for_one_slot_leave_one_booking_and_no_hold_behind(
    backend: Backend,
) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("mehdi@example.tn", "Mehdi", 2, true, office_hours())
        .await;
    let mut users = Vec::new();
    for i in 0..10 {
        let u = s.user(&format!("racer{i}@example.tn")).await;
        s.fund(&u, 100).await;
        users.push(u);
    }
    // Fifty requests for the same hour, from ten people, some overlapping only in part.
    let attempts = (0..50).map(|i| {
        let start = if i % 2 == 0 {
            "2031-06-05T10:00:00Z"
        } else {
            "2031-06-05T10:20:00Z"
        };
        s.book(&users[i % 10], &e, start, 30)
    });
    let results = join_all(attempts).await;
    let won: Vec<_> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        assert_eq!(
            (r.status, r.code()),
            (409, "slot_unavailable"),
            "{}",
            r.body
        );
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM bookings WHERE expert_id = $1", &e.id)
            .await,
        1
    );
    // Losers never reached the ledger: one hold in all, the winner's.
    let payee = e.id.clone();
    assert_eq!(
        s.count("SELECT COUNT(*) FROM ledger_holds WHERE payee = $1", &payee)
            .await,
        1
    );
    let winner = won[0].body["user_id"].as_str().unwrap();
    for u in &users {
        let expected = if u.id == winner {
            (20_000, 30_000, 0)
        } else {
            (50_000, 0, 0)
        };
        assert_eq!(s.money(u).await, expected);
    }
    s.assert_ledger_clean().await;
}

/// A process that died between taking the slot and holding the coins left
/// a reservation behind; replicas sweeping it at once make one hold.
async fn an_interrupted_reservation_is_finished_once(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("rim@example.tn", "Rim", 2, false, office_hours())
        .await;
    let (u, poor) = (
        s.user("user@example.tn").await,
        s.user("poor@example.tn").await,
    );
    s.fund(&u, 200).await;
    let now = s.clock.now_ms();
    let ids = [
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    ];
    for (id, who, start) in [
        (&ids[0], &u, "2031-06-05T10:00:00Z"),
        (&ids[1], &poor, "2031-06-05T12:00:00Z"),
    ] {
        let start = at(start);
        sqlx::query(
            "INSERT INTO bookings (id, user_id, expert_id, start_at, end_at, minutes, rate, price, \
             instant, user_time_zone, state, sequence, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 30, 2, 30000, 0, 'Africa/Tunis', 'reserving', 0, $6, $6)",
        )
        .bind(id)
        .bind(&who.id)
        .bind(&e.id)
        .bind(start)
        .bind(start + 30 * 60_000)
        .bind(now)
        .execute(s.db.pool())
        .await
        .unwrap();
    }
    // The slot stays taken meanwhile.
    s.book(&u, &e, "2031-06-05T10:00:00Z", 30)
        .await
        .expect_problem(409, "slot_unavailable");
    let (one, two) = (s.bookings_replica(), s.bookings_replica());
    assert_eq!(
        one.sweep(100).await.unwrap().reservations,
        0,
        "a live request may still finish it"
    );
    s.clock.advance(std::time::Duration::from_secs(61));
    let (a, b) = futures::join!(one.sweep(100), two.sweep(100));
    assert!(a.unwrap().reservations + b.unwrap().reservations >= 2);
    assert_eq!(s.get_booking(&e, &ids[0]).await.body["state"], "requested");
    assert_eq!(s.get_booking(&e, &ids[1]).await.body["state"], "failed");
    let holds = s
        .count(
            "SELECT COUNT(*) FROM ledger_holds WHERE reference = $1",
            &format!("booking:{}", ids[0]),
        )
        .await;
    assert_eq!(holds, 1);
    assert_eq!(s.money(&u).await, (70_000, 30_000, 0));
    assert_eq!(notices(&s, &e, "booking_requested").await, 1);
    s.book(&u, &e, "2031-06-05T12:00:00Z", 30).await.expect(201);
    s.assert_ledger_clean().await;
}

async fn histories_list_upcoming_and_past_bookings_with_filters_and_pages(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("yasmine@example.tn", "Yasmine", 1, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 200).await;
    let mut ids = Vec::new();
    for day in ["03", "04", "05"] {
        let r = s
            .book(&u, &e, &format!("2031-06-{day}T10:00:00Z"), 20)
            .await
            .expect(201);
        ids.push(id(&r));
    }
    s.act(&u, &ids[1], "cancel", json!({})).await.expect(200);
    s.clock.advance(std::time::Duration::from_secs(28 * 3600));
    let list = |who: Session, q: &'static str| {
        let s = &s;
        async move {
            let r = s
                .get(&format!("/api/v1/bookings?{q}"), Some(&who.access))
                .await
                .expect(200);
            let ids: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_owned())
                .collect();
            (ids, r.body["next_cursor"].as_str().map(str::to_owned))
        }
    };
    assert_eq!(list(u.clone(), "when=past").await.0, [ids[0].clone()]);
    assert_eq!(
        list(u.clone(), "").await.0,
        [ids[1].clone(), ids[2].clone()]
    );
    assert_eq!(list(u.clone(), "state=confirmed").await.0, [ids[2].clone()]);
    assert_eq!(
        list(
            e.clone(),
            "role=expert&when=upcoming&state=cancelled,confirmed"
        )
        .await
        .0
        .len(),
        2
    );
    assert!(list(e.clone(), "role=user").await.0.is_empty());
    assert!(list(u.clone(), "role=guest").await.0.is_empty());
    let (first, cursor) = list(u.clone(), "limit=1").await;
    assert_eq!(first, [ids[1].clone()]);
    let r = s
        .get(
            &format!("/api/v1/bookings?limit=1&cursor={}", cursor.unwrap()),
            Some(&u.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["id"], ids[2].as_str());
    assert!(r.body["next_cursor"].is_null());
    s.get("/api/v1/bookings?role=boss", Some(&u.access))
        .await
        .expect_problem(400, "invalid_query");
    s.get("/api/v1/bookings?state=done", Some(&u.access))
        .await
        .expect_problem(400, "invalid_query");
}

async fn guests_are_invited_answer_and_are_removed_by_the_host(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("ines@example.tn", "Ines", 2, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    let (g1, g2, stranger) = (
        s.user("g1@example.tn").await,
        s.user("g2@example.tn").await,
        s.user("stranger@example.tn").await,
    );
    s.fund(&u, 100).await;
    let b = id(&s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201));
    let guests = |path: &str| format!("/api/v1/bookings/{b}/{path}");

    let r = s
        .post(
            &guests("guests"),
            Some(&u.access),
            json!({ "account_id": g1.id }),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r.body[0]["account_id"].as_str(),
            r.body[0]["state"].as_str()
        ),
        (Some(g1.id.as_str()), Some("invited"))
    );
    s.post(
        &guests("guests"),
        Some(&e.access),
        json!({ "account_id": g2.id }),
    )
    .await
    .expect(200);
    assert_eq!(notices(&s, &g1, "meeting_invitation").await, 1);
    assert_eq!(notices(&s, &g2, "meeting_invitation").await, 1);
    s.post(
        &guests("guests"),
        Some(&stranger.access),
        json!({ "account_id": stranger.id }),
    )
    .await
    .expect_problem(404, "not_found");
    s.post(
        &guests("guests"),
        Some(&u.access),
        json!({ "account_id": e.id }),
    )
    .await
    .expect(422);
    s.post(
        &guests("guests"),
        Some(&u.access),
        json!({ "account_id": "nobody" }),
    )
    .await
    .expect(422);

    let seen = s
        .get(&format!("/api/v1/bookings/{b}"), Some(&g1.access))
        .await
        .expect(200);
    assert_eq!(seen.body["guests"].as_array().unwrap().len(), 2);
    s.get(&format!("/api/v1/bookings/{b}"), Some(&stranger.access))
        .await
        .expect_problem(404, "not_found");
    s.post(
        &guests("invitation"),
        Some(&g1.access),
        json!({ "accept": true }),
    )
    .await
    .expect(204);
    let g1_reminders = reminders(&s, &b)
        .await
        .into_iter()
        .filter(|k| k.contains(&g1.id))
        .count();
    assert_eq!(g1_reminders, 2);
    let r = s
        .get("/api/v1/bookings?role=guest", Some(&g1.access))
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["id"], b.as_str());
    // Guests neither pay nor change the booking.
    s.act(&g1, &b, "cancel", json!({}))
        .await
        .expect_problem(404, "not_found");

    s.delete(&guests(&format!("guests/{}", g2.id)), Some(&u.access))
        .await
        .expect_problem(403, "forbidden");
    s.delete(&guests(&format!("guests/{}", g2.id)), Some(&e.access))
        .await
        .expect(204);
    s.get(&format!("/api/v1/bookings/{b}"), Some(&g2.access))
        .await
        .expect_problem(404, "not_found");
    s.post(
        &guests("invitation"),
        Some(&g2.access),
        json!({ "accept": true }),
    )
    .await
    .expect_problem(404, "not_found");
    s.delete(&guests(&format!("guests/{}", g1.id)), Some(&e.access))
        .await
        .expect(204);
    assert!(reminders(&s, &b).await.iter().all(|k| !k.contains(&g1.id)));
}
