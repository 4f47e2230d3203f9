//! Notifications: the centre, the live stream, the channels and the job
//! queue that delivers them, on both backends.

use std::time::Duration;

use control::notify::runner::Runner;
use control::notify::{self, jobs, Event, Job, Notice};
use platform::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{readable, Backend, Server, Session};
use crate::push::PushService;
use crate::sse::Stream;
use crate::twilio::Twilio;

both_backends!(
    emit_is_idempotent_and_jobs_schedule_and_cancel,
    the_centre_lists_counts_reads_and_archives_ones_own,
    the_stream_delivers_live_and_replays_what_a_reconnecting_client_missed,
    channels_follow_the_recipients_preferences_and_language,
    failed_sends_are_retried_later_and_sent_once,
    jobs_survive_a_restart_and_a_dead_runners_jobs_are_taken_over,
    two_runners_deliver_each_job_exactly_once,
    announcements_reach_their_segment_only,
    push_subscriptions_are_checked_and_expired_ones_forgotten,
    payments_reach_the_centre_once,
    booking_emails_carry_a_calendar_event,
);

/// Emits `event` to `account` as other modules do, in a transaction.
async fn emit(s: &Server, account: &str, key: &str, event: Event) -> Option<String> {
    let mut tx = s.db.begin_write().await.unwrap();
    let id = notify::emit(
        &mut tx,
        s.clock.now_ms(),
        Notice {
            account_id: account.to_owned(),
            event,
            dedupe_key: key.to_owned(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

fn low(coins: i64) -> Event {
    Event::LowBalance {
        balance_coins: coins,
    }
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

async fn job_states(s: &Server, prefix: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> =
        sqlx::query_as("SELECT job_key, state FROM jobs WHERE substr(job_key, 1, length($1)) = $1")
            .bind(prefix)
            .fetch_all(s.db.pool())
            .await
            .unwrap();
    // Byte order: PostgreSQL's collation may differ.
    rows.sort();
    rows
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The interface other modules use: emitting twice makes one notification
/// and one set of deliveries; nothing for a rolled-back change; scheduled
/// jobs move while pending and cancel by prefix.
async fn emit_is_idempotent_and_jobs_schedule_and_cancel(backend: Backend) {
    let mut s = Server::start(backend).await;
    s.stop_runner();
    let user = s.user("amira@example.tn").await;
    let now = s.clock.now_ms();
    let first = emit(&s, &user.id, "low:1", low(3)).await;
    let again = emit(&s, &user.id, "low:1", low(3)).await;
    assert!(first.is_some());
    assert_eq!(again, None);
    let id = first.unwrap();
    // Email and push are on by default, but there is no push subscription.
    assert_eq!(
        job_states(&s, &format!("deliver:{id}")).await,
        [
            (format!("deliver:{id}:email"), "pending".to_owned()),
            (format!("deliver:{id}:live"), "pending".to_owned()),
        ]
    );

    let mut tx = s.db.begin_write().await.unwrap();
    let notice = Notice {
        account_id: user.id.clone(),
        event: low(2),
        dedupe_key: "low:2".into(),
    };
    notify::emit(&mut tx, now, notice.clone()).await.unwrap();
    tx.rollback().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);

    let job = Job::Notify { notice };
    let mut tx = s.db.begin_write().await.unwrap();
    for (key, at) in [
        ("reminder:b1:100:15", now + 1000),
        ("reminder:b1:100:15", now + 2000),
        ("reminder:b1:100:1440", now + 500),
        ("reminder:b10:100:15", now),
    ] {
        assert!(jobs::schedule(&mut tx, now, key, at, &job).await.unwrap());
    }
    assert_eq!(jobs::cancel(&mut tx, now, "reminder:b1:").await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(
        job_states(&s, "reminder:").await,
        [
            ("reminder:b10:100:15".to_owned(), "pending".to_owned()),
            ("reminder:b1:100:1440".to_owned(), "cancelled".to_owned()),
            ("reminder:b1:100:15".to_owned(), "cancelled".to_owned()),
        ]
    );
    let run_at: i64 = sqlx::query_scalar("SELECT run_at FROM jobs WHERE job_key = $1")
        .bind("reminder:b1:100:15")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(run_at, now + 2000);

    // A job that ran is not scheduled again under its key.
    let runner = Runner::new(s.state.clone());
    drain(&runner).await;
    let mut tx = s.db.begin_write().await.unwrap();
    assert!(
        !jobs::schedule(&mut tx, now, "reminder:b10:100:15", now, &job)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        job_states(&s, "reminder:b10").await,
        [("reminder:b10:100:15".to_owned(), "done".to_owned())]
    );
}

async fn the_centre_lists_counts_reads_and_archives_ones_own(backend: Backend) {
    let s = Server::start(backend).await;
    let amira = s.user("amira@example.tn").await;
    let other = s.user("sami@example.tn").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            emit(&s, &amira.id, &format!("low:{i}"), low(i))
                .await
                .unwrap(),
        );
        s.clock.advance(Duration::from_secs(1));
    }
    let theirs = emit(&s, &other.id, "low:x", low(9)).await.unwrap();
    let count = |who: &Session| {
        let who = who.access.clone();
        let s = &s;
        async move {
            s.get("/api/v1/notifications/unread-count", Some(&who))
                .await
                .expect(200)
                .body["unread"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(count(&amira).await, 5);

    // Newest first, in pages.
    let page = s
        .get("/api/v1/notifications?limit=2", Some(&amira.access))
        .await
        .expect(200);
    let got: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, [ids[4].clone(), ids[3].clone()]);
    let first = &page.body["items"][0];
    assert_eq!(first["kind"], "low_balance");
    assert_eq!(first["title"], "Solde bas");
    assert_eq!(
        first["data"],
        json!({ "kind": "low_balance", "balance_coins": 4 })
    );
    assert_eq!(first["read_at"], Value::Null);
    let mut seen = got;
    let mut cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let next = s
            .get(
                &format!("/api/v1/notifications?limit=2&cursor={cursor}"),
                Some(&amira.access),
            )
            .await
            .expect(200);
        seen.extend(
            next.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        match next.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ids.iter().rev().cloned().collect::<Vec<_>>());

    // Read one, archive another (which reads it too), then read the rest.
    let r = s
        .post(
            &format!("/api/v1/notifications/{}/read", ids[0]),
            Some(&amira.access),
            json!({}),
        )
        .await
        .expect(200);
    assert!(r.body["read_at"].is_string());
    s.post(
        &format!("/api/v1/notifications/{}/archive", ids[1]),
        Some(&amira.access),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(count(&amira).await, 3);
    let listed = |filter: &'static str| {
        let s = &s;
        let token = amira.access.clone();
        async move {
            let r = s
                .get(
                    &format!("/api/v1/notifications?filter={filter}"),
                    Some(&token),
                )
                .await
                .expect(200);
            let mut ids: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut unread = vec![ids[2].clone(), ids[3].clone(), ids[4].clone()];
    unread.sort();
    assert_eq!(listed("unread").await, unread);
    assert_eq!(listed("archived").await, [ids[1].clone()]);
    assert_eq!(listed("inbox").await.len(), 4);
    assert_eq!(listed("all").await.len(), 5);
    let marked = s
        .post(
            "/api/v1/notifications/read-all",
            Some(&amira.access),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(marked.body["marked"], 3);
    assert_eq!(count(&amira).await, 0);
    assert_eq!(count(&other).await, 1);

    // Someone else's notification, or no notification at all: 404.
    for path in [
        format!("/api/v1/notifications/{theirs}/read"),
        format!("/api/v1/notifications/{theirs}/archive"),
        "/api/v1/notifications/not-a-uuid/read".to_owned(),
    ] {
        s.post(&path, Some(&amira.access), json!({}))
            .await
            .expect_problem(404, "not_found");
    }
    assert_eq!(count(&other).await, 1, "untouched");
    s.get("/api/v1/notifications", None)
        .await
        .expect_problem(401, "unauthenticated");
    s.get("/api/v1/notifications?filter=spam", Some(&amira.access))
        .await
        .expect_problem(400, "invalid_query");
}

async fn the_stream_delivers_live_and_replays_what_a_reconnecting_client_missed(backend: Backend) {
    let s = Server::start(backend).await;
    let amira = s.user("amira@example.tn").await;
    let sami = s.user("sami@example.tn").await;
    // EventSource cannot send headers: the token comes in the query.
    let url = format!("/api/v1/notifications/stream?access_token={}", amira.access);
    let mut stream = Stream::open(&s, &url, None).await;
    emit(&s, &sami.id, "low:s", low(1)).await;
    let first = emit(&s, &amira.id, "low:1", low(1)).await.unwrap();
    let (last_id, n) = stream.next().await;
    assert_eq!(n["id"], first.as_str(), "live, and only one's own");
    assert_eq!(n["title"], "Solde bas");
    drop(stream);

    // Missed while away: replayed on reconnection, oldest first, then live.
    let mut missed = Vec::new();
    for i in 2..5 {
        s.clock.advance(Duration::from_millis(1));
        missed.push(
            emit(&s, &amira.id, &format!("low:{i}"), low(i))
                .await
                .unwrap(),
        );
    }
    // Wait until the live deliveries ran (to nobody).
    eventually("live deliveries ran", || {
        futures::executor::block_on(job_states(&s, "deliver:"))
            .iter()
            .all(|(_, state)| state == "done")
            .then_some(())
    })
    .await;
    let mut stream = Stream::open(&s, &url, Some(&last_id)).await;
    for id in &missed {
        assert_eq!(stream.next().await.1["id"], id.as_str());
    }
    let live = emit(&s, &amira.id, "low:5", low(5)).await.unwrap();
    let (_, n) = stream.next().await;
    assert_eq!(n["id"], live.as_str());

    // `?after=` does what Last-Event-ID does, with the bearer header.
    let r = s
        .http
        .get(format!(
            "{}/api/v1/notifications/stream?after={last_id}",
            s.base
        ))
        .bearer_auth(&amira.access)
        .send()
        .await
        .unwrap();
    let mut again = Stream {
        body: r,
        buffer: String::new(),
    };
    assert_eq!(again.next().await.1["id"], missed[0].as_str());

    s.get("/api/v1/notifications/stream", None)
        .await
        .expect_problem(401, "unauthenticated");
    s.get("/api/v1/notifications/stream?access_token=forged", None)
        .await
        .expect_problem(401, "invalid_token");
    s.get(
        "/api/v1/notifications/stream?after=nonsense",
        Some(&amira.access),
    )
    .await
    .expect_problem(400, "invalid_event_id");
}

async fn channels_follow_the_recipients_preferences_and_language(backend: Backend) {
    let twilio = Twilio::start().await;
    let push = PushService::start().await;
    let s = Server::start_with(backend, |settings| {
        twilio.configure(settings);
        push.configure(settings);
    })
    .await;
    let amira = s.user("amira@example.tn").await;
    let me = format!("/api/v1/accounts/{}", amira.id);
    let r = s
        .patch(
            &me,
            Some(&amira.access),
            json!({ "phone": "+216 20 123 456", "notifications": { "sms": true } }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["phone"], "+21620123456");
    s.patch(&me, Some(&amira.access), json!({ "phone": "20 123 456" }))
        .await
        .expect_problem(422, "validation_failed");
    let subscription = push.subscribe();
    s.post(
        "/api/v1/push/subscriptions",
        Some(&amira.access),
        subscription,
    )
    .await
    .expect(201);
    let mails_before = s.mails_to("amira@example.tn").len();

    // Everything on: email, SMS and push, in French.
    emit(&s, &amira.id, "low:1", low(3)).await;
    let mails = s.wait_for_mails("amira@example.tn", mails_before + 1).await;
    let mail = readable(mails.last().unwrap());
    assert!(mail.contains("Subject: Solde bas"), "{mail}");
    assert!(mail.contains("Il vous reste 3 pièces"), "{mail}");
    let sms = eventually("an SMS", || twilio.sent().first().cloned()).await;
    assert_eq!(sms.to, "+21620123456");
    assert!(
        sms.body.starts_with("DeepInfluence: Solde bas."),
        "{}",
        sms.body
    );
    let pushed = eventually("a push", || push.received().first().cloned()).await;
    assert_eq!(
        pushed.payload["title"],
        "Solde bas",
        "{:?}",
        push.refusals()
    );
    assert_eq!(pushed.payload["kind"], "low_balance");
    assert_eq!(pushed.topic.as_deref().map(str::len), Some(32));

    // Email and push off, English: an SMS only, in English.
    s.patch(
        &me,
        Some(&amira.access),
        json!({ "language": "en", "notifications": { "email": false, "push": false } }),
    )
    .await
    .expect(200);
    let id = emit(&s, &amira.id, "low:2", low(1)).await.unwrap();
    let sms = eventually("a second SMS", || twilio.sent().get(1).cloned()).await;
    assert!(
        sms.body.starts_with("DeepInfluence: Low balance."),
        "{}",
        sms.body
    );
    eventually("deliveries done", || {
        futures::executor::block_on(job_states(&s, &format!("deliver:{id}")))
            .iter()
            .all(|(_, state)| state == "done")
            .then_some(())
    })
    .await;
    assert_eq!(s.mails_to("amira@example.tn").len(), mails_before + 1);
    assert_eq!(push.received().len(), 1);
    // The centre has both, whatever the channels.
    let r = s
        .get("/api/v1/notifications/unread-count", Some(&amira.access))
        .await
        .expect(200);
    assert_eq!(r.body["unread"], 2);
}

async fn failed_sends_are_retried_later_and_sent_once(backend: Backend) {
    let twilio = Twilio::start().await;
    let mut s = Server::start_with(backend, |settings| twilio.configure(settings)).await;
    s.stop_runner();
    let runner = Runner::new(s.state.clone());
    let amira = s.user("amira@example.tn").await;
    s.patch(
        &format!("/api/v1/accounts/{}", amira.id),
        Some(&amira.access),
        json!({ "phone": "+21620123456", "notifications": { "sms": true, "email": false } }),
    )
    .await
    .expect(200);
    drain(&runner).await;
    twilio.set_down(true);
    let id = emit(&s, &amira.id, "low:1", low(1)).await.unwrap();
    drain(&runner).await;
    let key = format!("deliver:{id}:sms");
    let (state, attempts, error): (String, i64, Option<String>) =
        sqlx::query_as("SELECT state, attempts, last_error FROM jobs WHERE job_key = $1")
            .bind(&key)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    assert!(error.unwrap().contains("503"));
    // Not before its time (30 s, then doubling).
    twilio.set_down(false);
    s.clock.advance(Duration::from_secs(29));
    assert_eq!(drain(&runner).await, 0);
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(drain(&runner).await, 1);
    assert_eq!(twilio.sent().len(), 1);
    s.clock.advance(Duration::from_secs(3600));
    assert_eq!(drain(&runner).await, 0, "done is done");
    assert_eq!(twilio.sent().len(), 1);
    let amira = s.relogin(&amira, "amira@example.tn").await;

    // SMS turned off between the notice and its sending: the latest word wins.
    let id = emit(&s, &amira.id, "low:off", low(1)).await.unwrap();
    s.patch(
        &format!("/api/v1/accounts/{}", amira.id),
        Some(&amira.access),
        json!({ "notifications": { "sms": false } }),
    )
    .await
    .expect(200);
    drain(&runner).await;
    assert_eq!(twilio.sent().len(), 1);
    let (state, note): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM jobs WHERE job_key = $1")
            .bind(format!("deliver:{id}:sms"))
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "done");
    assert_eq!(
        note.as_deref(),
        Some("the recipient turned this channel off")
    );
    s.patch(
        &format!("/api/v1/accounts/{}", amira.id),
        Some(&amira.access),
        json!({ "notifications": { "sms": true } }),
    )
    .await
    .expect(200);

    // A number the provider refuses is not retried.
    sqlx::query("UPDATE accounts SET phone = '+216 unreachable' WHERE id = $1")
        .bind(&amira.id)
        .execute(s.db.pool())
        .await
        .unwrap();
    let id = emit(&s, &amira.id, "low:2", low(1)).await.unwrap();
    drain(&runner).await;
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM jobs WHERE job_key = $1")
            .bind(format!("deliver:{id}:sms"))
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "failed");
    assert!(error.unwrap().contains("21211"));
}

async fn jobs_survive_a_restart_and_a_dead_runners_jobs_are_taken_over(backend: Backend) {
    let mut first = Server::start(backend).await;
    first.stop_runner();
    let amira = first.user("amira@example.tn").await;
    let before = first.mails_to("amira@example.tn").len();
    let now = first.clock.now_ms();
    // Now, and a reminder in an hour.
    emit(&first, &amira.id, "low:1", low(1)).await;
    let later = Notice {
        account_id: amira.id.clone(),
        event: low(0),
        dedupe_key: "low:later".into(),
    };
    let mut tx = first.db.begin_write().await.unwrap();
    jobs::schedule(
        &mut tx,
        now,
        "reminder:1",
        now + 3_600_000,
        &Job::Notify { notice: later },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // A runner claims a job and dies before sending it.
    let dead = jobs::claim(&first.db, "dead-runner", now, 120_000, 1)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);

    // Restarted: the new process sends what is due; the claimed job waits
    // for its lease to run out.
    let store = first.store.clone();
    let second = first.replica(true).await;
    drop(first);
    let _ = store;
    second.wait_for_mails("amira@example.tn", before + 1).await;
    let claimed: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
        .bind(&dead[0].id)
        .fetch_one(second.db.pool())
        .await
        .unwrap();
    assert_eq!(claimed, "running");
    second.clock.advance(Duration::from_secs(121));
    eventually("the dead runner's job taken over", || {
        let state: String = futures::executor::block_on(
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
                .bind(&dead[0].id)
                .fetch_one(second.db.pool()),
        )
        .unwrap();
        (state == "done").then_some(())
    })
    .await;
    let unread = |s: &Server| {
        futures::executor::block_on(
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM notifications WHERE account_id = $1",
            )
            .bind(&amira.id)
            .fetch_one(s.db.pool()),
        )
        .unwrap()
    };
    assert_eq!(unread(&second), 1);
    // The reminder, once due: emitted once.
    second.clock.advance(Duration::from_secs(3600));
    eventually("the reminder", || (unread(&second) == 2).then_some(())).await;
    second.wait_for_mails("amira@example.tn", before + 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(unread(&second), 2);
    assert_eq!(second.mails_to("amira@example.tn").len(), before + 2);
}

async fn two_runners_deliver_each_job_exactly_once(backend: Backend) {
    let twilio = Twilio::start().await;
    let mut one = Server::start_with(backend, |settings| {
        twilio.configure(settings);
        settings.notify.batch_size = 4;
    })
    .await;
    one.stop_runner();
    let mut two = one.replica(false).await;
    two.stop_runner();
    let amira = one.user("amira@example.tn").await;
    one.patch(
        &format!("/api/v1/accounts/{}", amira.id),
        Some(&amira.access),
        json!({ "phone": "+21620123456", "notifications": { "sms": true } }),
    )
    .await
    .expect(200);
    let before = one.mails_to("amira@example.tn").len();
    const N: i64 = 30;
    for i in 0..N {
        emit(&one, &amira.id, &format!("low:{i}"), low(i)).await;
    }
    let (a, b) = (
        Runner::new(one.state.clone()),
        Runner::new(two.state.clone()),
    );
    let (ran_a, ran_b) = tokio::join!(drain(&a), drain(&b));
    // Three deliveries each (live, email, SMS).
    assert_eq!(ran_a + ran_b, 3 * N as usize);
    let mut bodies: Vec<String> = twilio.sent().into_iter().map(|m| m.body).collect();
    assert_eq!(bodies.len(), N as usize);
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), N as usize, "each SMS once");
    let mails = one.mails_to("amira@example.tn");
    assert_eq!(mails.len() - before, N as usize, "each email once");
    let not_done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state <> 'done'")
        .fetch_one(one.db.pool())
        .await
        .unwrap();
    assert_eq!(not_done, 0);
}

async fn announcements_reach_their_segment_only(backend: Backend) {
    let s = Server::start_with(backend, |settings| {
        // Several batches, several jobs.
        settings.notify.announcement_batch = 2;
    })
    .await;
    let admin = s.admin().await;
    let users = [
        s.user("u1@example.tn").await,
        s.user("u2@example.tn").await,
        s.user("u3@example.tn").await,
    ];
    let experts = [
        s.expert_account("e1@example.tn", "Sami", "Trabelsi").await,
        s.expert_account("e2@example.tn", "Nour", "Jaziri").await,
    ];
    s.patch(
        &format!("/api/v1/accounts/{}", users[2].id),
        Some(&users[2].access),
        json!({ "language": "en" }),
    )
    .await
    .expect(200);
    s.patch(
        &format!("/api/v1/accounts/{}", experts[1].id),
        Some(&experts[1].access),
        json!({ "language": "en" }),
    )
    .await
    .expect(200);
    let titles = |who: &Session| {
        let token = who.access.clone();
        let s = &s;
        async move {
            let r = s
                .get("/api/v1/notifications", Some(&token))
                .await
                .expect(200);
            let mut t: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned())
                .collect();
            t.sort();
            t
        }
    };
    let announce = |body: Value| s.post("/api/v1/admin/announcements", Some(&admin.access), body);
    let r = announce(json!({ "title": "Experts", "body": "Nouveautés", "segment": "experts" }))
        .await
        .expect(202);
    assert_eq!(r.body["segment"], "experts");
    announce(
        json!({ "title": "English", "body": "News", "segment": "language", "language": "en" }),
    )
    .await
    .expect(202);
    announce(json!({ "title": "Users", "body": "Hello", "segment": "users" }))
        .await
        .expect(202);
    announce(json!({ "title": "All", "body": "Maintenance", "segment": "all" }))
        .await
        .expect(202);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let expected: [(&Session, &[&str]); 5] = [
        (&users[0], &["All", "Users"]),
        (&users[1], &["All", "Users"]),
        (&users[2], &["All", "English", "Users"]),
        (&experts[0], &["All", "Experts"]),
        (&experts[1], &["All", "English", "Experts"]),
    ];
    for (who, want) in expected {
        loop {
            let got = titles(who).await;
            if got == want {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{got:?} != {want:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let admins_own = titles(&admin).await;
    assert_eq!(admins_own, ["All"]);

    // Refusals.
    announce(json!({ "title": "x", "body": "y", "segment": "language" }))
        .await
        .expect_problem(422, "validation_failed");
    announce(json!({ "title": " ", "body": "y", "segment": "users", "language": "fr" }))
        .await
        .expect_problem(422, "validation_failed");
    s.post(
        "/api/v1/admin/announcements",
        Some(&users[0].access),
        json!({ "title": "x", "body": "y", "segment": "all" }),
    )
    .await
    .expect_problem(403, "forbidden");
}

async fn push_subscriptions_are_checked_and_expired_ones_forgotten(backend: Backend) {
    let push = PushService::start().await;
    let s = Server::start_with(backend, |settings| push.configure(settings)).await;
    let amira = s.user("amira@example.tn").await;
    let key = s
        .get("/api/v1/push/vapid-public-key", None)
        .await
        .expect(200);
    assert_eq!(key.body["public_key"].as_str().unwrap().len(), 87);

    let mut bad_host = push.subscribe();
    bad_host["endpoint"] = json!("http://10.0.0.1/push/0");
    let r = s
        .post("/api/v1/push/subscriptions", Some(&amira.access), bad_host)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [("endpoint".to_owned(), "invalid".to_owned())]
    );
    let mut bad_keys = push.subscribe();
    bad_keys["keys"] = json!({ "p256dh": "AAAA", "auth": "short" });
    let r = s
        .post("/api/v1/push/subscriptions", Some(&amira.access), bad_keys)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(r.field_codes().len(), 2);

    let kept = push.subscribe();
    let expired = push.subscribe();
    for sub in [&kept, &expired] {
        s.post(
            "/api/v1/push/subscriptions",
            Some(&amira.access),
            sub.clone(),
        )
        .await
        .expect(201);
    }
    push.expire(&expired);
    emit(&s, &amira.id, "low:1", low(1)).await;
    let got = eventually("the push", || push.received().first().cloned()).await;
    let kept_n: usize = kept["endpoint"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(got.subscription, kept_n);
    eventually("the expired subscription forgotten", || {
        let n: i64 = futures::executor::block_on(
            sqlx::query_scalar("SELECT COUNT(*) FROM push_subscriptions").fetch_one(s.db.pool()),
        )
        .unwrap();
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(push.received().len(), 1);

    // Unsubscribing: once, then there is nothing to remove.
    let endpoint = kept["endpoint"].clone();
    for status in [204, 404] {
        let r = s
            .send(
                s.req(
                    reqwest::Method::DELETE,
                    "/api/v1/push/subscriptions",
                    Some(&amira.access),
                )
                .json(&json!({ "endpoint": endpoint })),
            )
            .await;
        assert_eq!(r.status, status);
    }
}

async fn payments_reach_the_centre_once(backend: Backend) {
    let s = Server::start(backend).await;
    let amel = s.user("amel@example.tn").await;
    let p = s
        .send(
            s.req(
                reqwest::Method::POST,
                "/api/v1/wallet/purchases",
                Some(&amel.access),
            )
            .header("Idempotency-Key", "k1")
            .json(&json!({ "pack": 0, "provider": "sandbox" })),
        )
        .await
        .expect(201);
    let page = p.body["checkout_url"].as_str().unwrap();
    let path = page.strip_prefix(&s.base).unwrap();
    for _ in 0..2 {
        s.post(&format!("{path}/pay"), None, json!({}))
            .await
            .expect(200);
    }
    let r = s
        .get("/api/v1/notifications", Some(&amel.access))
        .await
        .expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "paid once, told once: {items:?}");
    assert_eq!(items[0]["kind"], "payment_succeeded");
    assert_eq!(items[0]["data"]["coins"], 20);
    let mail = readable(s.wait_for_mails("amel@example.tn", 2).await.last().unwrap());
    assert!(mail.contains("Subject: Paiement"), "{mail}");
    assert!(
        mail.contains(&format!(
            "/api/v1/wallet/purchases/{}",
            p.body["id"].as_str().unwrap()
        )),
        "{mail}"
    );
}

/// The `invite.ics` attachment of an outbox message, decoded.
fn calendar_of(mail: &str) -> String {
    let part = mail
        .split("filename=\"invite.ics\"")
        .nth(1)
        .expect("an invite.ics attachment");
    let body = part.split("\r\n\r\n").nth(1).unwrap();
    let base64: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(base64.trim())
            .unwrap(),
    )
    .unwrap()
}

async fn booking_emails_carry_a_calendar_event(backend: Backend) {
    let s = Server::start(backend).await;
    let amira = s.user("amira@example.tn").await;
    let before = s.mails_to("amira@example.tn").len();
    let booking = notify::Booking {
        id: "0193c2f0-0000-7000-8000-000000000001".into(),
        expert_name: "Sami Trabelsi".into(),
        user_name: "Amira Ben Salah".into(),
        // 2025-03-30 13:00 UTC
        starts_at: 1_743_339_600_000,
        minutes: 45,
        time_zone: "Africa/Tunis".into(),
    };
    emit(
        &s,
        &amira.id,
        "booking:1:confirmed",
        Event::BookingConfirmed {
            booking: booking.clone(),
        },
    )
    .await;
    let mails = s.wait_for_mails("amira@example.tn", before + 1).await;
    let mail = mails.last().unwrap();
    let ics = calendar_of(mail);
    let mut parser = ical::IcalParser::new(ics.as_bytes());
    let calendar = parser
        .next()
        .expect("one calendar")
        .expect("valid iCalendar");
    assert!(parser.next().is_none());
    assert_eq!(calendar.events.len(), 1);
    let prop = |name: &str| {
        calendar.events[0]
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(prop("DTSTART"), "20250330T130000Z");
    assert_eq!(prop("DTEND"), "20250330T134500Z");
    assert_eq!(prop("STATUS"), "CONFIRMED");
    assert_eq!(prop("UID"), format!("booking-{}@deepinfluence", booking.id));
    // The email's text gives the time where the recipient is: 14:00 in Tunis.
    assert!(mail.contains("14:00 (Africa/Tunis)"), "{mail}");
    // Other notifications carry none.
    emit(&s, &amira.id, "low:1", low(1)).await;
    let mails = s.wait_for_mails("amira@example.tn", before + 2).await;
    assert!(!mails.last().unwrap().contains("invite.ics"));
}
