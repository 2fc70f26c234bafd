//! Binding, accepting connections, and graceful shutdown.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::pin,
    sync::Arc,
    time::Duration,
};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};

#[cfg(feature = "demo")]
use crate::demo;
use htsget_core::{
    LocalStorage, Storage,
    storage::{ObjectStorage, StoreOptions},
};

use crate::{
    access::{Access, Signer},
    config::{Config, UrlMode, store::DEFAULT_REVALIDATE},
    deadline::Deadline,
    http,
    roots::{Root, Roots},
    state::State,
    tls,
};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data root does not exist or cannot be read.
    #[error("data root {path}: {source}")]
    DataRoot {
        /// The configured root.
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
    /// Access control cannot start: its JWKS file, rules or URL key are refused.
    #[error("access control: {0}")]
    Access(String),
    /// The TLS certificate or key is refused.
    #[error("{0}")]
    Tls(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// A bound server, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    tls: Option<tls::Tls>,
    state: Arc<State>,
    root: PathBuf,
    demo: Option<Demo>,
}

/// The built-in dataset, kept while it is served (its files go when it is dropped).
#[cfg(feature = "demo")]
type Demo = demo::Dataset;

/// Without the `demo` feature there is no built-in dataset.
#[cfg(not(feature = "demo"))]
#[derive(Debug)]
enum Demo {}

/// The data root to serve: the configured one, or else the built-in dataset's.
fn data_root(config: &Config) -> Result<(PathBuf, Option<Demo>), StartError> {
    match &config.data {
        Some(path) => Ok((path.clone(), None)),
        None => builtin(),
    }
}

/// The storage of a data root: a bucket for a store URL, else the local directory (which must
/// exist), with the root as shown in logs.
fn open_root(root: PathBuf, config: &Config) -> Result<(PathBuf, Arc<dyn Storage>), StartError> {
    if let Some(url) = root.to_str().filter(|r| is_store_url(r)) {
        let options = StoreOptions {
            timeout: config.store.timeout,
            settings: config.store.options.clone().into_iter().collect(),
            ..StoreOptions::default()
        };
        let storage =
            ObjectStorage::from_url(url, options).map_err(|source| StartError::Store {
                url: url.to_owned(),
                source,
            })?;
        return Ok((root, Arc::new(storage)));
    }

    let root = root.canonicalize().map_err(|source| StartError::DataRoot {
        path: root.display().to_string(),
        source,
    })?;
    let storage = LocalStorage::new(&root).follow_symlinks(config.follow_symlinks);
    Ok((root, Arc::new(storage)))
}

/// Whether a data root names an object store (`s3://`, `gs://`, `az://`).
pub(crate) fn is_store_url(root: &str) -> bool {
    ["s3://", "gs://", "az://"]
        .iter()
        .any(|s| root.starts_with(s))
}

#[cfg(feature = "demo")]
fn builtin() -> Result<(PathBuf, Option<Demo>), StartError> {
    let dataset = demo::Dataset::generate().map_err(StartError::Demo)?;
    Ok((dataset.root().to_owned(), Some(dataset)))
}

#[cfg(not(feature = "demo"))]
fn builtin() -> Result<(PathBuf, Option<Demo>), StartError> {
    Err(StartError::NoDataRoot)
}

impl Server {
    /// Binds `config.bind` and prepares the state (with no data root, writes the demo dataset;
    /// built without the `demo` feature, fails with [`StartError::NoDataRoot`] instead).
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let (root, demo) = match (&config.data, config.roots.is_empty()) {
            (None, false) => (None, None),
            _ => {
                let (root, demo) = data_root(&config)?;
                (Some(root), demo)
            }
        };

        let mut roots = Vec::new();
        let mut any_store = false;
        let configured = config
            .roots
            .iter()
            .map(|r| (r.prefix.clone(), r.data.clone(), r.urls));
        let main = root.clone().map(|root| (String::new(), root, None));
        for (prefix, data, urls) in main.into_iter().chain(configured) {
            let urls = urls.unwrap_or(config.store.urls);
            let (data, storage) = open_root(data, &config)?;
            let store = is_store_url(&data.to_string_lossy());
            if !store && urls == UrlMode::Direct {
                return Err(StartError::Store {
                    url: data.display().to_string(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "direct URLs need an object store to presign them",
                    ),
                });
            }
            any_store |= store;
            roots.push(Root {
                prefix,
                storage,
                urls,
            });
        }
        let root = root.unwrap_or_default();

        let mut config = config;
        if config.store.revalidate.is_none() && any_store {
            config.store.revalidate = Some(DEFAULT_REVALIDATE);
        }

        let access = Access::open(&config.access)
            .await
            .map_err(StartError::Access)?;
        let signer = match &access {
            Some(_) => {
                if config.access.url_key.is_none() {
                    tracing::warn!(
                        "data URLs are signed with a key generated now: replicas behind one \
                         load balancer need --url-key to share one"
                    );
                }
                let signer = Signer::load(config.access.url_key.as_deref(), config.access.url_ttl)
                    .map_err(StartError::Access)?;
                Some(signer)
            }
            None => None,
        };
        let tls = config
            .tls
            .as_ref()
            .map(tls::acceptor)
            .transpose()
            .map_err(StartError::Tls)?;

        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;

        let public_url = config.public_url.clone().unwrap_or_else(|| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{local}")
        });
        let mut state = State::new(config, Arc::new(Roots::new(roots)), public_url);
        state.access = access.map(Arc::new);
        state.signer = signer;
        let state = Arc::new(state);

        Ok(Self {
            listener,
            tls,
            state,
            root,
            demo,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The base URL of tickets.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
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
        let Self {
            listener,
            tls,
            state,
            root: _,
            // Kept to the end: the demo files must outlive the last stream.
            demo: _demo,
        } = self;
        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        let connections = Arc::new(Semaphore::new(state.config.max_connections));

        loop {
            // Wait for a free connection slot before accepting: excess clients queue in the
            // kernel's backlog instead of costing memory here.
            let permit = tokio::select! {
                permit = Arc::clone(&connections).acquire_owned() => permit.expect("never closed"),
                () = &mut shutdown => break,
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
                    let io = Deadline::new(stream, state.config.write_timeout);
                    let watcher = graceful.watcher();
                    let (state, tls) = (Arc::clone(&state), tls.clone());
                    tokio::spawn(async move {
                        match tls {
                            None => connection(state, io, watcher).await,
                            Some(acceptor) => {
                                let handshake = acceptor.0.accept(io);
                                match tokio::time::timeout(state.config.header_timeout, handshake).await {
                                    Ok(Ok(stream)) => connection(state, stream, watcher).await,
                                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                    Err(_) => tracing::debug!("TLS handshake timed out"),
                                }
                            }
                        }
                        drop(permit);
                    });
                }
                () = &mut shutdown => break,
            }
        }

        drop(listener);
        tracing::info!("shutting down: waiting for in-flight requests");
        graceful.shutdown().await;
        Ok(())
    }
}

/// Serves the requests of one connection (plain or TLS) until it closes, or until a graceful
/// shutdown lets its in-flight request finish.
async fn connection<I>(state: Arc<State>, io: I, watcher: hyper_util::server::graceful::Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::clone(&state);
    let service = service_fn(move |request| http::serve(Arc::clone(&shared), request));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(state.config.max_header_bytes)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
