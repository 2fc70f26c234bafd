//! Accepting connections: the main listener's loop (a connection slot first, then the
//! accept, TLS within the header timeout, each connection watched for graceful shutdown) and
//! the metrics listener's.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};

use super::live::Live;
use crate::{deadline::Deadline, http};

/// Accepts connections on `listener` until `shutdown` completes, at most as many at once as
/// `connections` has permits.
pub(super) async fn run(
    listener: &TcpListener,
    live: &Arc<Live>,
    graceful: &GracefulShutdown,
    connections: Arc<Semaphore>,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) {
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
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = live.state();
                let io = Deadline::new(stream, state.config.write_timeout);
                let watcher = graceful.watcher();
                let (live, tls) = (Arc::clone(live), live.tls());
                tokio::spawn(async move {
                    match tls {
                        None => connection(live, io, watcher).await,
                        #[cfg(feature = "access")]
                        Some(acceptor) => {
                            let handshake = acceptor.0.accept(io);
                            match tokio::time::timeout(state.config.header_timeout, handshake).await {
                                Ok(Ok(stream)) => connection(live, stream, watcher).await,
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

/// Serves `/metrics` (and the health checks) alone on the metrics listener.
pub(super) async fn serve_metrics(listener: TcpListener, live: Arc<Live>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let live = Arc::clone(&live);
        tokio::spawn(async move {
            let service = service_fn(move |request| http::serve_metrics(live.state(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Serves the requests of one connection (plain or TLS) until it closes, or until a graceful
/// shutdown lets its in-flight request finish. Each request reads the state as of its
/// arrival, so a kept-alive connection follows reloads.
async fn connection<I>(live: Arc<Live>, io: I, watcher: hyper_util::server::graceful::Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = live.state();
    let service = service_fn(move |request| http::serve(live.state(), request));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(state.config.max_header_bytes)
        .serve_connection(TokioIo::new(io), service);
    drop(state);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
