//! Binding, serving until shutdown (then waiting for in-flight requests), and reloading on
//! SIGHUP; building the state, reloading it and accepting connections live in their own files.

mod accept;
mod build;
mod live;

use std::{
    future::Future,
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::pin,
    sync::{Arc, RwLock},
};

use hyper_util::server::graceful::GracefulShutdown;
use tokio::{net::TcpListener, sync::Semaphore};

use self::{
    build::build,
    live::{Live, reload_on_hangup},
};
#[cfg(feature = "demo")]
use crate::demo;
use crate::{
    config::{Config, ConfigError},
    metrics::Metrics,
};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Two `[aliases]` entries share a name.
    #[error("{0}")]
    Aliases(#[source] htsget_core::facts::AmbiguousAlias),
    /// The data root does not exist or cannot be read.
    #[error("data root {path}: {source}")]
    DataRoot {
        /// The configured root.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The reference sequences (`--reference`) do not exist or cannot be read.
    #[error("reference {path}: {source}")]
    Reference {
        /// The configured file or folder.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The object store's settings are refused (scheme, bucket, prefix, environment).
    #[error("data root {url}: {source}")]
    Store {
        /// The configured URL.
        url: String,
        /// Why.
        source: io::Error,
    },
    /// The demo dataset could not be written.
    #[error("cannot write the demo dataset: {0}")]
    Demo(io::Error),
    /// No data root was given, and the server was built without the `demo` feature, so it has
    /// no built-in dataset to serve instead.
    #[error("no data root given (this build has no built-in demo dataset)")]
    NoDataRoot,
    /// Access control cannot start: its JWKS file or rules are refused.
    #[cfg(feature = "access")]
    #[error("access control: {0}")]
    Access(#[source] crate::access::AccessError),
    /// The configuration asks for what this build left out.
    #[error("{what} needs the `{feature}` feature, which this build has not")]
    NotBuilt {
        /// What was asked.
        what: &'static str,
        /// The cargo feature of `htsget-server` that brings it.
        feature: &'static str,
    },
    /// The data URL signing key cannot be had.
    #[error("access control: {0}")]
    UrlKey(#[source] crate::data_url::KeyError),
    /// The Crypt4GH key file is refused: unreadable, malformed, or locked with another
    /// passphrase.
    #[error("Crypt4GH key {path}: {source}")]
    Crypt4gh {
        /// The key file.
        path: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The TLS certificate or key is refused.
    #[error("{0}")]
    Tls(#[source] crate::tls::TlsError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// The built-in dataset, kept while it is served (its files go when it is dropped).
#[cfg(feature = "demo")]
type Demo = demo::Dataset;

/// Without the `demo` feature there is no built-in dataset.
#[cfg(not(feature = "demo"))]
#[derive(Debug)]
enum Demo {}

#[cfg(feature = "demo")]
fn builtin() -> Result<(PathBuf, Demo), StartError> {
    let dataset = demo::Dataset::generate().map_err(StartError::Demo)?;
    Ok((dataset.root().to_owned(), dataset))
}

#[cfg(not(feature = "demo"))]
fn builtin() -> Result<(PathBuf, Demo), StartError> {
    Err(StartError::NoDataRoot)
}

/// A bound server, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    live: Arc<Live>,
    root: PathBuf,
    demo: Option<Demo>,
}

impl Server {
    /// Binds `config.bind` (and `config.metrics_bind`) and prepares the state (with no data
    /// root, writes the demo dataset; built without the `demo` feature, fails with
    /// [`StartError::NoDataRoot`] instead).
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        // TLS clients (object stores, JWKS) and the listener speak rustls: the process's
        // provider is chosen here, unless the embedding application chose one already.
        #[cfg(any(feature = "access", feature = "object-store"))]
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let demo = match (&config.data, config.roots.is_empty()) {
            (None, true) => Some(builtin()?),
            _ => None,
        };

        let bind = |addr: SocketAddr| async move {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| StartError::Bind { addr, source })?;
            Ok::<_, StartError>((listener, local))
        };
        let (listener, local) = bind(config.bind).await?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(bind(addr).await?.0),
            None => None,
        };

        let metrics = Arc::new(Metrics::new());
        let demo_root = demo.as_ref().map(|(root, _)| root.clone());
        let (state, tls, root) = build(
            config,
            local,
            demo_root.as_deref(),
            Arc::clone(&metrics),
            None,
        )
        .await?;
        let live = Arc::new(Live {
            state: RwLock::new(Arc::new(state)),
            tls: RwLock::new(tls),
            local,
            demo_root,
            metrics,
        });

        Ok(Self {
            listener,
            metrics_listener,
            live,
            root,
            demo: demo.map(|(_, dataset)| dataset),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.live.local
    }

    /// The address of the separate metrics listener, if one is bound.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The base URL of tickets.
    pub fn public_url(&self) -> String {
        self.live.state().public_url.clone()
    }

    /// The canonical data root.
    pub fn data_root(&self) -> &Path {
        &self.root
    }

    /// Whether the built-in demo dataset is served.
    pub fn is_demo(&self) -> bool {
        self.demo.is_some()
    }

    /// Serves until `shutdown` completes, then stops accepting and waits for in-flight
    /// requests (streams included) to finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        self.serve_with_reload(shutdown, None::<fn() -> Result<Config, ConfigError>>)
            .await
    }

    /// As [`Server::serve`], and on each SIGHUP re-reads the configuration with `load` (the
    /// whole file and command line again) and applies all of it but the bind addresses:
    /// data roots, limits, access rules, key files, TLS certificates. A configuration that
    /// does not load or start is refused and logged, and the old one keeps serving;
    /// in-flight streams and kept-alive connections go on either way.
    pub async fn serve_with_reload<F>(
        self,
        shutdown: impl Future<Output = ()>,
        load: Option<F>,
    ) -> io::Result<()>
    where
        F: Fn() -> Result<Config, ConfigError> + Send + Sync + 'static,
    {
        let Self {
            listener,
            metrics_listener,
            live,
            root: _,
            // Kept to the end: the demo files must outlive the last stream.
            demo: _demo,
        } = self;

        let reloader = load.map(|load| tokio::spawn(reload_on_hangup(Arc::clone(&live), load)));
        // The metrics listener, hardened as the main one, with its own (small) connection cap.
        let metrics_server = metrics_listener.map(|listener| {
            let live = Arc::clone(&live);
            let slots = live.state().config.metrics_max_connections;
            tokio::spawn(async move {
                let graceful = GracefulShutdown::new();
                let mut never = pin!(std::future::pending::<()>());
                let slots = Arc::new(Semaphore::new(slots));
                let service = accept::Service::Metrics;
                accept::run(&listener, &live, &graceful, slots, never.as_mut(), service).await;
            })
        });

        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        let max_connections = live.state().config.max_connections;
        let connections = Arc::new(Semaphore::new(max_connections));

        let service = accept::Service::Main;
        accept::run(
            &listener,
            &live,
            &graceful,
            connections,
            shutdown.as_mut(),
            service,
        )
        .await;

        drop(listener);
        if let Some(task) = reloader {
            task.abort();
        }
        if let Some(task) = metrics_server {
            task.abort();
        }
        tracing::info!("shutting down: waiting for in-flight requests");
        graceful.shutdown().await;
        Ok(())
    }
}
