//! Notifications: the centre, the live stream, the channels and the job
//! queue that delivers them, on both backends.

use control::notify::{self, jobs, Event, Job, Notice};
use platform::Clock;

use crate::both_backends;
use crate::common::{Backend, Server};

async fn pending_jobs(s: &Server, prefix: &str) -> Vec<(String, String)> {
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

/// The interface other modules use: emitting twice makes one notification
/// and one set of deliveries; scheduled jobs move while pending and cancel by
/// prefix.
async fn emit_is_idempotent_and_jobs_schedule_and_cancel(backend: Backend) {
    let mut s = Server::start(backend).await;
    s.stop_runner();
    let user = s.user("amira@example.tn").await;
    let now = s.clock.now_ms();
    let notice = Notice {
        account_id: user.id.clone(),
        event: Event::LowBalance { balance_coins: 3 },
        dedupe_key: "low:1".into(),
    };
    let mut tx = s.db.begin_write().await.unwrap();
    let first = notify::emit(&mut tx, now, notice.clone()).await.unwrap();
    let again = notify::emit(&mut tx, now, notice.clone()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(first.is_some());
    assert_eq!(again, None);
    let id = first.unwrap();
    // Email and push are on by default, but there is no push subscription.
    assert_eq!(
        pending_jobs(&s, &format!("deliver:{id}")).await,
        [
            (format!("deliver:{id}:email"), "pending".to_owned()),
            (format!("deliver:{id}:live"), "pending".to_owned()),
        ]
    );

    // Rolled back: nothing at all.
    let mut tx = s.db.begin_write().await.unwrap();
    let gone = Notice {
        dedupe_key: "low:2".into(),
        ..notice.clone()
    };
    notify::emit(&mut tx, now, gone).await.unwrap();
    tx.rollback().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);

    let job = Job::Notify { notice };
    let mut tx = s.db.begin_write().await.unwrap();
    assert!(
        jobs::schedule(&mut tx, now, "reminder:b1:100:15", now + 1000, &job)
            .await
            .unwrap()
    );
    assert!(
        jobs::schedule(&mut tx, now, "reminder:b1:100:15", now + 2000, &job)
            .await
            .unwrap()
    );
    assert!(
        jobs::schedule(&mut tx, now, "reminder:b1:100:1440", now + 500, &job)
            .await
            .unwrap()
    );
    assert!(
        jobs::schedule(&mut tx, now, "reminder:b10:100:15", now, &job)
            .await
            .unwrap()
    );
    assert_eq!(jobs::cancel(&mut tx, now, "reminder:b1:").await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(
        pending_jobs(&s, "reminder:").await,
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
}

both_backends!(emit_is_idempotent_and_jobs_schedule_and_cancel);
