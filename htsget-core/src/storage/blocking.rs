//! The one place where blocking work meets async callers.

use std::io;

/// Runs `work`, which blocks (file reads), where it cannot stall an async runtime: on tokio's
/// blocking pool when called inside a tokio runtime (feature `tokio`), otherwise right away on
/// the caller's thread (sync callers driving the future with any executor).
pub(crate) async fn blocking<T, F>(work: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    #[cfg(feature = "tokio")]
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        return runtime
            .spawn_blocking(work)
            .await
            .map_err(io::Error::other)?;
    }

    work()
}
