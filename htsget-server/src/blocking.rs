//! The one place where the server's blocking work (reading key, certificate and configuration
//! files, resolving paths) meets the runtime: on tokio's blocking pool, never on an async
//! worker, so a slow disk at a reload stalls no request.

/// Runs `work` on the blocking pool and gives its result (a panic in it goes on here).
pub(crate) async fn blocking<T, F>(work: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("the blocking pool is shut down: {error}"),
    }
}
