//! CPU- and memory-heavy work (password hashing, image decoding) runs on
//! blocking threads, at most one job per core at a time. A burst of logins or
//! uploads then waits its turn instead of exhausting memory: argon2 takes
//! 19 MiB per hash, and decoding an image may take up to 256 MiB.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores)
    })
}

/// Runs `job` on a blocking thread once a core is free.
pub async fn run<T, F>(job: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let _permit = permits().acquire().await?;
    Ok(tokio::task::spawn_blocking(job).await?)
}
