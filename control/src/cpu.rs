//! CPU- and memory-heavy work (password hashing, image decoding) runs on
//! blocking threads, at most one job per core at a time. A burst of logins or
//! uploads then waits its turn instead of exhausting memory: argon2 takes
//! 19 MiB per hash, and decoding an image may take up to 256 MiB.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

fn permits() -> Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            Arc::new(Semaphore::new(cores))
        })
        .clone()
}

/// Runs `job` on a blocking thread once a core is free.
pub async fn run<T, F>(job: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let permit = permits().acquire_owned().await?;
    // The permit travels with the job: if the request is abandoned (the
    // client hung up), the job still runs to its end and holds its core.
    Ok(tokio::task::spawn_blocking(move || {
        let out = job();
        drop(permit);
        out
    })
    .await?)
}
