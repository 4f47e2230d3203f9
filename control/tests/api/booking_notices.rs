//! Who is told what about a booking, over HTTP on both backends: proposals,
//! new bookings and requests for the expert, refunds of coins a booking gives
//! back, the low-balance reminder, and reminders sent once across a restart
//! and with two runners.

use std::time::Duration;

use control::notify::jobs;
use control::notify::runner::Runner;
use platform::Clock;
use serde_json::{json, Value};

use crate::booking_support::*;
use crate::both_backends;
use crate::common::{Backend, Server, Session};

both_backends!(
    a_proposal_asks_the_user_to_accept_or_decline,
    experts_hear_of_new_bookings_and_of_requests_awaiting_an_answer,
    coins_a_booking_gives_back_are_told_as_refunds_once,
    a_low_balance_after_a_hold_is_told_at_most_once_a_day,
    reminders_are_sent_once_across_a_restart_and_with_two_runners,
);

const NOW: &str = "2031-06-02T08:00:00Z";

/// `who`'s notifications of `kind`, from their centre, newest first.
async fn centre(s: &Server, who: &Session, kind: &str) -> Vec<Value> {
    let page = s
        .get(
            "/api/v1/notifications?filter=all&limit=100",
            Some(&who.access),
        )
        .await
        .expect(200);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

fn id(r: &crate::common::Resp) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}

async fn a_proposal_asks_the_user_to_accept_or_decline(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let e = s
        .expert_with_hours("karim@example.tn", "Karim", 2, false, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 200).await;
    let b = id(&s.book(&u, &e, "2031-06-05T14:00:00Z", 60).await.expect(201));
    s.act(
        &e,
        &b,
        "propose",
        json!({ "start": "2031-06-05T16:00:00Z" }),
    )
    .await
    .expect(200);

    let proposed = centre(&s, &u, "booking_proposed").await;
    assert_eq!(proposed.len(), 1);
    assert!(centre(&s, &u, "booking_changed").await.is_empty());
    let n = &proposed[0];
    assert_eq!(n["title"], "Autre horaire proposé");
    let body = n["body"].as_str().unwrap();
    // Accounts speak French unless they say otherwise; the user's zone is
    // Africa/Tunis (UTC+1).
    assert!(body.contains("Acceptez ou refusez"), "{body}");
    assert!(body.contains("le jeudi 5 juin 2031 à 15:00"), "{body}");
    assert!(body.contains("le jeudi 5 juin 2031 à 17:00"), "{body}");
    assert_eq!(
        n["data"]["previous_starts_at"].as_i64(),
        Some(at("2031-06-05T14:00:00Z"))
    );
    assert_eq!(
        n["data"]["booking"]["starts_at"].as_i64(),
        Some(at("2031-06-05T16:00:00Z"))
    );
    // Accepting it confirms the booking to the expert.
    s.act(&u, &b, "accept", json!({})).await.expect(200);
    assert_eq!(centre(&s, &e, "booking_confirmed").await.len(), 1);
}

async fn experts_hear_of_new_bookings_and_of_requests_awaiting_an_answer(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let instant = s
        .expert_with_hours("amira@example.tn", "Amira", 2, true, office_hours())
        .await;
    let asks = s
        .expert_with_hours("karim@example.tn", "Karim", 2, false, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 200).await;

    // Instant: the user hears it is confirmed, the expert that they were booked.
    s.book(&u, &instant, "2031-06-05T10:00:00Z", 30)
        .await
        .expect(201);
    assert_eq!(centre(&s, &u, "booking_confirmed").await.len(), 1);
    let received = centre(&s, &instant, "booking_received").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["title"], "Nouvelle réservation");
    let body = received[0]["body"].as_str().unwrap();
    // The expert's calendar zone is UTC.
    assert!(
        body.contains("Amira Ben Salah a réservé une séance de 30 min avec vous le jeudi 5 juin 2031 à 10:00 (UTC)"),
        "{body}"
    );
    assert!(centre(&s, &instant, "booking_confirmed").await.is_empty());
    assert!(centre(&s, &u, "booking_received").await.is_empty());

    // A request: the expert is asked to answer, the user is told nothing yet.
    s.book(&u, &asks, "2031-06-05T10:00:00Z", 30)
        .await
        .expect(201);
    let requested = centre(&s, &asks, "booking_requested").await;
    assert_eq!(requested.len(), 1);
    let body = requested[0]["body"].as_str().unwrap();
    assert!(
        body.contains("demande une séance de 30 min") && body.contains("Confirmez ou refusez"),
        "{body}"
    );
    assert!(centre(&s, &asks, "booking_received").await.is_empty());
    assert!(centre(&s, &u, "booking_requested").await.is_empty());
    assert_eq!(centre(&s, &u, "booking_confirmed").await.len(), 1);
}

/// Coins in `who`'s `payment_refunded` notices about booking `b`.
async fn refunds(s: &Server, who: &Session, b: &str) -> Vec<i64> {
    centre(s, who, "payment_refunded")
        .await
        .iter()
        .filter(|n| n["data"]["reference"] == format!("booking:{b}"))
        .map(|n| n["data"]["coins"].as_i64().unwrap())
        .collect()
}

async fn coins_a_booking_gives_back_are_told_as_refunds_once(backend: Backend) {
    let s = server_at(backend, NOW).await;
    let asks = s
        .expert_with_hours("karim@example.tn", "Karim", 2, false, office_hours())
        .await;
    let instant = s
        .expert_with_hours("leila@example.tn", "Leila", 2, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 1000).await;

    // Declined: all 60 coins back.
    let declined = id(&s
        .book(&u, &asks, "2031-06-05T10:00:00Z", 30)
        .await
        .expect(201));
    s.act(&asks, &declined, "decline", json!({}))
        .await
        .expect(200);
    assert_eq!(refunds(&s, &u, &declined).await, [60]);

    // Lapsed (two replicas sweeping at once): all back, told once.
    let lapsed = id(&s
        .book(&u, &asks, "2031-06-05T12:00:00Z", 20)
        .await
        .expect(201));
    s.clock.advance(RESPOND_WITHIN);
    let (one, two) = (s.bookings_replica(), s.bookings_replica());
    let (a, b) = futures::join!(one.sweep(100), two.sweep(100));
    assert_eq!(a.unwrap().expired + b.unwrap().expired, 1);
    let (a, b) = futures::join!(one.sweep(100), two.sweep(100));
    assert_eq!(a.unwrap().expired + b.unwrap().expired, 0);
    assert_eq!(refunds(&s, &u, &lapsed).await, [40]);

    // Cancelled by the user while free: all back.
    let free = id(&s
        .book(&u, &instant, "2031-06-05T10:00:00Z", 30)
        .await
        .expect(201));
    s.act(&u, &free, "cancel", json!({})).await.expect(200);
    assert_eq!(refunds(&s, &u, &free).await, [60]);

    // Cancelled late by the user: half of 80 coins is charged, 40 come back.
    let late = id(&s
        .book(&u, &instant, "2031-06-02T18:00:00Z", 40)
        .await
        .expect(201));
    let c = s.act(&u, &late, "cancel", json!({})).await.expect(200);
    assert_eq!(c.body["charged"], 20_000);
    assert_eq!(refunds(&s, &u, &late).await, [40]);

    // Cancelled late by the expert: everything back.
    let theirs = id(&s
        .book(&u, &instant, "2031-06-02T16:00:00Z", 60)
        .await
        .expect(201));
    s.act(&instant, &theirs, "cancel", json!({}))
        .await
        .expect(200);
    assert_eq!(refunds(&s, &u, &theirs).await, [120]);

    // A retried answer changes nothing and tells nothing more.
    s.act(&instant, &theirs, "cancel", json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    assert_eq!(refunds(&s, &u, &theirs).await, [120]);
    // Only the payer hears of refunds.
    assert!(centre(&s, &instant, "payment_refunded").await.is_empty());
    assert_eq!(centre(&s, &u, "payment_refunded").await.len(), 5);
    s.assert_ledger_clean().await;
}

async fn a_low_balance_after_a_hold_is_told_at_most_once_a_day(backend: Backend) {
    let s = server_at(backend, NOW).await;
    assert_eq!(s.settings.notify.low_balance_coins, 20, "the default");
    let e = s
        .expert_with_hours("amira@example.tn", "Amira", 1, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;

    // 40 coins left: enough.
    s.book(&u, &e, "2031-06-05T08:00:00Z", 60).await.expect(201);
    assert!(centre(&s, &u, "low_balance").await.is_empty());
    // 10 left: told, with the balance.
    s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201);
    let low = centre(&s, &u, "low_balance").await;
    assert_eq!(low.len(), 1);
    assert_eq!(low[0]["data"]["balance_coins"], 10);
    assert!(low[0]["body"].as_str().unwrap().contains("10 pièces"));
    // 0 left the same day: not again.
    s.book(&u, &e, "2031-06-05T11:00:00Z", 10).await.expect(201);
    assert_eq!(centre(&s, &u, "low_balance").await.len(), 1);
    // The next UTC day: told again.
    s.clock.advance(Duration::from_secs(24 * 3600));
    s.fund(&u, 30).await;
    s.book(&u, &e, "2031-06-05T12:00:00Z", 15).await.expect(201);
    let low = centre(&s, &u, "low_balance").await;
    assert_eq!(low.len(), 2);
    assert_eq!(low[0]["data"]["balance_coins"], 15);
    // Experts' wallets are not the subject.
    assert!(centre(&s, &e, "low_balance").await.is_empty());

    // Turned off.
    let off = server_at_with(backend, NOW, |c| c.notify.low_balance_coins = 0).await;
    let e = off
        .expert_with_hours("sami@example.tn", "Sami", 1, true, office_hours())
        .await;
    let u = off.user("user@example.tn").await;
    off.fund(&u, 20).await;
    off.book(&u, &e, "2031-06-05T10:00:00Z", 20)
        .await
        .expect(201);
    assert!(centre(&off, &u, "low_balance").await.is_empty());
}

/// Runs due jobs with `runner` until none is left.
async fn drain(runner: &Runner) -> usize {
    let mut total = 0;
    loop {
        match runner.run_due().await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

async fn undone_jobs(s: &Server) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state <> 'done' AND run_at <= $1")
        .bind(s.clock.now_ms())
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

/// Waits (up to 10 s) until every job due has run.
async fn settle(s: &Server) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while undone_jobs(s).await > 0 {
        assert!(std::time::Instant::now() < deadline, "jobs left undone");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `who`'s reminders in their centre, by minutes before the start.
async fn reminders_of(s: &Server, who: &Session) -> Vec<i64> {
    let mut m: Vec<i64> = centre(s, who, "booking_reminder")
        .await
        .iter()
        .map(|n| n["data"]["before_minutes"].as_i64().unwrap())
        .collect();
    m.sort();
    m
}

async fn reminders_are_sent_once_across_a_restart_and_with_two_runners(backend: Backend) {
    let mut first = server_at(backend, NOW).await;
    let e = first
        .expert_with_hours("amira@example.tn", "Amira", 2, true, office_hours())
        .await;
    let u = first.user("user@example.tn").await;
    first.fund(&u, 100).await;
    // Tomorrow at 10:00: reminders due today at 10:00 and tomorrow at 09:45.
    first
        .book(&u, &e, "2031-06-03T10:00:00Z", 30)
        .await
        .expect(201);
    settle(&first).await;
    let before = (
        first.mails_to("user@example.tn").len(),
        first.mails_to("amira@example.tn").len(),
    );
    first.stop_runner();

    // The day-before reminders fall due while nobody runs them; a runner
    // claims one of the two and dies.
    first.clock.advance(Duration::from_secs(2 * 3600 + 1));
    let now = first.clock.now_ms();
    let dead = jobs::claim(&first.db, "dead-runner", now, 120_000, 1)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].payload.contains("booking_reminder"),
        "{}",
        dead[0].payload
    );

    // Restarted: the other is sent at once, the claimed one after its lease.
    let mut second = first.replica(true).await;
    drop(first);
    let sent = |s: &Server| {
        (
            s.mails_to("user@example.tn").len() - before.0,
            s.mails_to("amira@example.tn").len() - before.1,
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sent(&second).0 + sent(&second).1 < 1 {
        assert!(std::time::Instant::now() < deadline, "no reminder sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent(&second).0 + sent(&second).1,
        1,
        "the dead runner's claim holds until its lease runs out"
    );
    second.clock.advance(Duration::from_secs(121));
    second.wait_for_mails("user@example.tn", before.0 + 1).await;
    second
        .wait_for_mails("amira@example.tn", before.1 + 1)
        .await;
    settle(&second).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent(&second), (1, 1));
    assert_eq!(reminders_of(&second, &u).await, [1440]);
    assert_eq!(reminders_of(&second, &e).await, [1440]);

    // Two runners on one database for the last reminder: each once.
    second.stop_runner();
    let mut third = second.replica(false).await;
    third.stop_runner();
    // To 09:52 on the day, past the 15-minute reminder.
    second
        .clock
        .advance(Duration::from_secs(23 * 3600 + 50 * 60));
    let (a, b) = (
        Runner::new(second.state.clone()),
        Runner::new(third.state.clone()),
    );
    let (ran_a, ran_b) = tokio::join!(drain(&a), drain(&b));
    // Two notices, then their live and email deliveries.
    assert_eq!(ran_a + ran_b, 2 + 2 * 2);
    assert_eq!(sent(&second), (2, 2));
    assert_eq!(reminders_of(&second, &u).await, [15, 1440]);
    assert_eq!(reminders_of(&second, &e).await, [15, 1440]);
    assert_eq!(undone_jobs(&second).await, 0);
}
