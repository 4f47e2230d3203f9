//! Group commit: concurrent `Ledger::apply` calls share transactions.
//!
//! Calls queue up; a dispatcher takes the first waiting request and
//! whatever else is queued at that moment (up to `MAX_BATCH`) and applies
//! them as one batch, with at most `lanes` batches in the database at once.
//! A lone call goes alone at once, so nothing waits for a batch to fill;
//! under load, requests that arrive while the lanes are busy make up the
//! next batch, and one transaction carries many. Two requests with the same
//! key never share a batch: the second goes in a later one, where it is a
//! retry and gets the first one's receipt.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::store::MAX_BATCH;
use super::{Ledger, LedgerError, Receipt, Request};

pub(super) struct Job {
    pub key: String,
    pub request: Request,
    pub reply: oneshot::Sender<Result<Receipt, LedgerError>>,
}

/// Starts the dispatcher applying what is sent on the returned queue with
/// `ledger` (which must not batch itself), `lanes` batches at a time. It
/// stops when every sender is gone.
pub(super) fn spawn(ledger: Ledger, lanes: usize) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(dispatch(ledger, rx, Arc::new(Semaphore::new(lanes))));
    tx
}

async fn dispatch(ledger: Ledger, mut rx: mpsc::UnboundedReceiver<Job>, lanes: Arc<Semaphore>) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        // A lane first: while all are busy, requests gather into the next batch.
        let Ok(lane) = lanes.clone().acquire_owned().await else {
            return;
        };
        if waiting.is_empty() {
            match rx.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = rx.try_recv() {
            waiting.push_back(job);
        }
        let mut jobs = Vec::new();
        let mut keys = HashSet::new();
        let mut later = VecDeque::new();
        for job in waiting.drain(..) {
            if jobs.len() < MAX_BATCH && keys.insert(job.key.clone()) {
                jobs.push(job);
            } else {
                later.push_back(job);
            }
        }
        waiting = later;
        let ledger = ledger.clone();
        tokio::spawn(async move {
            run(&ledger, jobs).await;
            drop(lane);
        });
    }
}

async fn run(ledger: &Ledger, jobs: Vec<Job>) {
    let requests: Vec<(String, Request)> = jobs
        .iter()
        .map(|j| (j.key.clone(), j.request.clone()))
        .collect();
    match ledger.apply_batch(&requests).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for job in jobs {
                let failed = sqlx::Error::Protocol(format!("the batch failed: {message}"));
                let _ = job.reply.send(Err(LedgerError::Db(failed)));
            }
        }
    }
}
