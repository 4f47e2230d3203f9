//! The job runner: every replica claims due jobs (`jobs::claim`), runs them
//! and records how each ended.
//!
//! Exactly once: a claim is atomic, so a job has one runner at a time; a job
//! that only writes to the database (emitting a notice, a batch of an
//! announcement) is marked done in the transaction that does its work, so
//! it takes effect once whatever crashes. A job that sends (email, SMS,
//! push, the live stream) is marked done right after the send, by its runner
//! only if its lease still holds; the send is cut off at half the lease, so
//! a slow send never overlaps a retry. What remains is a runner dying
//! between the provider's acceptance and that mark: the job runs again
//! after its lease, which is why sends carry the job's id where the channel
//! allows it (email Message-ID, push Topic).

use std::time::Duration;

use tokio::task::JoinSet;

use super::deliver::{self, Delivered};
use super::jobs::{self, Claimed, Outcome};
use super::retry::{self, Failure, Next, Policy};
use super::{announce, emit, Job};
use crate::state::AppState;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// How a job's work ended, before it is recorded.
enum Ran {
    /// Recorded done in the work's own transaction.
    Committed,
    /// Another runner holds the job now: nothing to record.
    Lost,
    Delivered(Delivered),
}

#[derive(Clone)]
pub struct Runner {
    state: AppState,
    /// Written into `jobs.locked_by`.
    id: String,
}

impl Runner {
    pub fn new(state: AppState) -> Runner {
        Runner {
            state,
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Claims the due jobs (at most a batch) and runs them concurrently;
    /// returns how many it claimed.
    pub async fn run_due(&self) -> Result<usize, sqlx::Error> {
        let settings = &self.state.settings.notify;
        let claimed = jobs::claim(
            &self.state.db,
            &self.id,
            self.state.now(),
            ms(settings.lease),
            i64::from(settings.batch_size),
        )
        .await?;
        let count = claimed.len();
        // Live deliveries go out one after another in the order they were
        // queued (job ids are time-ordered UUIDv7s), so an open stream gets a
        // conversation's messages in order, and a client that reconnects
        // after the last one it got has missed none before it.
        let (mut live, others): (Vec<_>, Vec<_>) =
            claimed.into_iter().partition(|job| is_live(&job.payload));
        live.sort_by(|a, b| a.id.cmp(&b.id));
        let mut running = JoinSet::new();
        let runner = self.clone();
        running.spawn(async move {
            for job in live {
                runner.run(job).await;
            }
        });
        for job in others {
            let runner = self.clone();
            running.spawn(async move { runner.run(job).await });
        }
        while let Some(done) = running.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a job's task failed");
            }
        }
        Ok(count)
    }

    async fn run(&self, job: Claimed) {
        let limit = self.state.settings.notify.lease / 2;
        let result = match serde_json::from_str::<Job>(&job.payload) {
            Err(e) => Err(Failure::Permanent(format!("unreadable job: {e}"))),
            Ok(work) => match tokio::time::timeout(limit, self.work(&job, work)).await {
                Ok(result) => result,
                Err(_) => Err(Failure::Transient(format!(
                    "did not finish within {}s",
                    limit.as_secs()
                ))),
            },
        };
        if let Err(e) = self.record(&job, result).await {
            // The lease runs out and another runner takes the job again.
            tracing::warn!(job = %job.id, error = %e, "could not record a job's end");
        }
    }

    async fn work(&self, claim: &Claimed, job: Job) -> Result<Ran, Failure> {
        let transient = |e: &dyn std::fmt::Display| Failure::Transient(e.to_string());
        match job {
            Job::Deliver {
                notification_id,
                channel,
                subscription_id,
            } => deliver::deliver(
                &self.state,
                &claim.id,
                &notification_id,
                channel,
                subscription_id.as_deref(),
            )
            .await
            .map(Ran::Delivered),
            Job::Notify { notice } => {
                let (mut tx, now) = self.begin().await?;
                emit(&mut tx, now, notice)
                    .await
                    .map_err(|e| transient(&e))?;
                self.commit_done(claim, tx, now).await
            }
            Job::ExpireMessage { message_id } => {
                let (mut tx, now) = self.begin().await?;
                self.state
                    .messaging
                    .expire(&mut tx, now, &message_id)
                    .await
                    .map_err(|e| transient(&e))?;
                self.commit_done(claim, tx, now).await
            }
            Job::Announce {
                announcement_id,
                after,
            } => {
                let batch = i64::from(self.state.settings.notify.announcement_batch);
                let (mut tx, now) = self.begin().await?;
                let reached =
                    announce::run_batch(&mut tx, now, &announcement_id, after.as_deref(), batch)
                        .await
                        .map_err(|e| transient(&e))?;
                tracing::info!(announcement = %announcement_id, accounts = reached, "announcement batch emitted");
                self.commit_done(claim, tx, now).await
            }
        }
    }

    /// A writing transaction for a job's work, and the time it runs at.
    async fn begin(&self) -> Result<(sqlx::Transaction<'static, sqlx::Any>, i64), Failure> {
        let tx = self
            .state
            .db
            .begin_write()
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        Ok((tx, self.state.now()))
    }

    /// Marks the job done in `tx` and commits: the work and its record are
    /// one. If the job is no longer ours, the work is rolled back.
    async fn commit_done(
        &self,
        claim: &Claimed,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        now: i64,
    ) -> Result<Ran, Failure> {
        let transient = |e: sqlx::Error| Failure::Transient(e.to_string());
        let done = Outcome::Done { note: None };
        if !jobs::finish(&mut tx, &claim.id, &self.id, now, done)
            .await
            .map_err(transient)?
        {
            return Ok(Ran::Lost);
        }
        tx.commit().await.map_err(transient)?;
        Ok(Ran::Committed)
    }

    async fn record(
        &self,
        claim: &Claimed,
        result: Result<Ran, Failure>,
    ) -> Result<(), sqlx::Error> {
        let now = self.state.now();
        let mut conn = self.state.db.pool().acquire().await?;
        let error: String;
        let outcome = match result {
            Ok(Ran::Committed | Ran::Lost) => return Ok(()),
            Ok(Ran::Delivered(Delivered::Sent)) => Outcome::Done { note: None },
            Ok(Ran::Delivered(Delivered::Skipped(why))) => Outcome::Done { note: Some(why) },
            Err(failure) => {
                error = failure.to_string();
                match retry::next(&self.policy(), &failure, claim.attempts, now) {
                    Next::Retry { at } => {
                        tracing::info!(job = %claim.id, attempts = claim.attempts, error = %error, "job failed; retrying later");
                        Outcome::Retry { at, error: &error }
                    }
                    Next::Fail => {
                        tracing::error!(job = %claim.id, attempts = claim.attempts, error = %error, "job failed for good");
                        Outcome::Failed { error: &error }
                    }
                }
            }
        };
        if !jobs::finish(&mut conn, &claim.id, &self.id, now, outcome).await? {
            tracing::warn!(job = %claim.id, "a job's lease ran out before it finished");
        }
        Ok(())
    }

    fn policy(&self) -> Policy {
        let s = &self.state.settings.notify;
        Policy {
            max_attempts: i64::from(s.max_attempts),
            first_ms: ms(s.retry_after),
            max_ms: ms(s.max_retry_after),
        }
    }
}

fn is_live(payload: &str) -> bool {
    matches!(
        serde_json::from_str::<Job>(payload),
        Ok(Job::Deliver {
            channel: super::Channel::Live,
            ..
        })
    )
}

/// Runs due jobs every `poll_interval` for as long as the process lives,
/// at once again while batches come back full.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let runner = Runner::new(state);
    tokio::spawn(async move {
        let settings = &runner.state.settings.notify;
        let batch = settings.batch_size as usize;
        let mut tick = tokio::time::interval(settings.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match runner.run_due().await {
                    Ok(n) if n == batch => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "claiming due jobs failed"),
                }
                break;
            }
        }
    })
}
