//! Accepting connections, the same way on every listener: a connection slot first, then the
//! accept (backing off when the process is out of descriptors), TLS within the header timeout
//! on the main listener, and each connection under the header timeout, the keep-alive idle
//! limit and the write deadline, watched for graceful shutdown.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};

use super::live::Live;
use crate::{deadline::Deadline, http};

/// What a listener serves.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Service {
    /// The htsget API, the data endpoint and the rest (TLS when configured).
    Main,
    /// `/metrics`, `/healthz` and `/readyz` only (`--metrics-bind`).
    Metrics,
}

/// The first wait after a failed accept; it doubles on each failure in a row, up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// The longest wait after a failed accept.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Accepts connections on `listener` for `service` until `shutdown` completes, at most as many
/// at once as `connections` has permits.
pub(super) async fn run(
    listener: &TcpListener,
    live: &Arc<Live>,
    graceful: &GracefulShutdown,
    connections: Arc<Semaphore>,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
    service: Service,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        // Wait for a free connection slot before accepting: excess clients queue in the
        // kernel's backlog instead of costing memory here.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => return,
        };

        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        backoff = FIRST_BACKOFF;
                        stream
                    }
                    Err(e) => {
                        // Out of descriptors (EMFILE, ENFILE) or another failure: wait, longer
                        // each time in a row, rather than spin on a listener that stays ready.
                        if backoff == FIRST_BACKOFF {
                            tracing::warn!(error = %e, ?service, "accept failed; backing off");
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = live.state();
                let io = Deadline::new(stream, state.config.write_timeout);
                let watcher = graceful.watcher();
                let tls = match service {
                    Service::Main => live.tls(),
                    Service::Metrics => None,
                };
                let live = Arc::clone(live);
                tokio::spawn(async move {
                    match tls {
                        None => connection(live, io, watcher, service).await,
                        #[cfg(feature = "access")]
                        Some(acceptor) => {
                            let handshake = acceptor.0.accept(io);
                            match tokio::time::timeout(state.config.header_timeout, handshake).await {
                                Ok(Ok(stream)) => {
                                    connection(live, stream, watcher, service).await;
                                }
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        }
                    }
                    drop(permit);
                });
            }
            () = &mut shutdown => return,
        }
    }
}

/// Serves the requests of one connection (plain or TLS) for `service` until it closes, or
/// until a graceful shutdown lets its in-flight request finish. Each request reads the state
/// as of its arrival, so a kept-alive connection follows reloads.
async fn connection<I>(
    live: Arc<Live>,
    io: I,
    watcher: hyper_util::server::graceful::Watcher,
    service: Service,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = live.state();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(state.config.max_header_bytes);
    drop(state);
    let io = TokioIo::new(io);
    let served = match service {
        Service::Main => {
            let serve = service_fn(move |request| http::serve(live.state(), request));
            watcher.watch(builder.serve_connection(io, serve)).await
        }
        Service::Metrics => {
            let serve = service_fn(move |request| http::serve_metrics(live.state(), request));
            watcher.watch(builder.serve_connection(io, serve)).await
        }
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
