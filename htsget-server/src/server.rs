//! Binding, accepting connections, and graceful shutdown.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::pin,
    sync::{Arc, RwLock},
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
    crypt4gh::keys::SecretKey,
    storage::{Crypt4ghStorage, ObjectStorage, StoreOptions},
};

use crate::{
    access::{Access, Signer},
    config::{Config, ConfigError, UrlMode, store::DEFAULT_REVALIDATE},
    deadline::Deadline,
    http,
    metrics::{Counted, Metrics},
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
    /// The data URL signing key cannot be had.
    #[error("access control: {0}")]
    UrlKey(#[source] crate::access::signed::KeyError),
    /// The Crypt4GH key file is refused.
    #[error("Crypt4GH key {0}")]
    Crypt4gh(String),
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

/// The built-in dataset, kept while it is served (its files go when it is dropped).
#[cfg(feature = "demo")]
type Demo = demo::Dataset;

/// Without the `demo` feature there is no built-in dataset.
#[cfg(not(feature = "demo"))]
#[derive(Debug)]
enum Demo {}

/// The storage of a data root: a bucket for a store URL, else the local directory (which must
/// exist), with the root as shown in logs.
fn open_root(
    root: PathBuf,
    config: &Config,
    metrics: &Arc<Metrics>,
) -> Result<(PathBuf, Arc<dyn Storage>), StartError> {
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
        let counted = Counted::new(Arc::new(storage), Arc::clone(metrics));
        return Ok((root, Arc::new(counted)));
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

/// What a reload replaces: the state every request reads, and the TLS acceptor new
/// connections use. In-flight requests keep what they started with.
#[derive(Debug)]
pub(crate) struct Live {
    state: RwLock<Arc<State>>,
    tls: RwLock<Option<tls::Tls>>,
    /// The bound address (a reload cannot move it).
    local: SocketAddr,
    /// The built-in dataset's root, if it is served.
    demo_root: Option<PathBuf>,
    metrics: Arc<Metrics>,
}

impl Live {
    /// The state as of now.
    pub(crate) fn state(&self) -> Arc<State> {
        Arc::clone(&self.state.read().expect("not poisoned"))
    }

    fn tls(&self) -> Option<tls::Tls> {
        self.tls.read().expect("not poisoned").clone()
    }

    /// Builds the state of `config` and swaps it in, or leaves everything as it was.
    async fn reload(&self, config: Config) -> Result<(), StartError> {
        let previous = self.state();
        if config.bind != previous.config.bind
            || config.metrics_bind != previous.config.metrics_bind
        {
            tracing::warn!("bind addresses are kept as they are: changing them needs a restart");
        }
        let (state, tls, _) = build(
            config,
            self.local,
            self.demo_root.as_deref(),
            Arc::clone(&self.metrics),
            Some(&previous),
        )
        .await?;
        *self.tls.write().expect("not poisoned") = tls;
        *self.state.write().expect("not poisoned") = Arc::new(state);
        Ok(())
    }
}

/// The state (and TLS acceptor, and main data root) of `config`, for a server bound at
/// `local`; `demo_root` stands in when no data root is configured; `previous`, on a reload,
/// lends its generated URL key, so outstanding URLs stay valid.
async fn build(
    config: Config,
    local: SocketAddr,
    demo_root: Option<&Path>,
    metrics: Arc<Metrics>,
    previous: Option<&State>,
) -> Result<(State, Option<tls::Tls>, PathBuf), StartError> {
    let root = match (&config.data, config.roots.is_empty()) {
        (Some(data), _) => Some(data.clone()),
        (None, false) => None,
        (None, true) => Some(demo_root.ok_or(StartError::NoDataRoot)?.to_owned()),
    };

    let c4gh = match &config.c4gh_key {
        Some(path) => Some(Arc::new(load_c4gh_key(path)?)),
        None => None,
    };
    let mut roots = Vec::new();
    let mut any_store = false;
    let configured = config
        .roots
        .iter()
        .map(|r| (r.prefix.clone(), r.data.clone(), r.urls, r.c4gh_passthrough));
    let main = root.clone().map(|root| (String::new(), root, None, None));
    for (prefix, data, urls, passthrough) in main.into_iter().chain(configured) {
        let urls = urls.unwrap_or(config.store.urls);
        let (data, storage) = open_root(data, &config, &metrics)?;
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
        let storage = match &c4gh {
            Some(key) => Arc::new(Crypt4ghStorage::new(storage, Arc::clone(key))),
            None => storage,
        };
        roots.push(Root {
            prefix,
            storage,
            urls,
            dir: (!store).then_some(data),
            passthrough: passthrough.unwrap_or(config.c4gh_passthrough),
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
    let signer = match (&access, config.access.url_key.as_deref()) {
        (None, _) => None,
        (Some(_), None) => match previous.and_then(|p| p.signer.as_ref()) {
            Some(signer) if previous.is_some_and(|p| p.config.access.url_key.is_none()) => {
                Some(signer.with_ttl(config.access.url_ttl))
            }
            _ => {
                tracing::warn!(
                    "data URLs are signed with a key generated now: replicas behind one \
                     load balancer need --url-key to share one"
                );
                Some(Signer::load(None, config.access.url_ttl).map_err(StartError::UrlKey)?)
            }
        },
        (Some(_), Some(file)) => {
            Some(Signer::load(Some(file), config.access.url_ttl).map_err(StartError::UrlKey)?)
        }
    };
    let tls = config
        .tls
        .as_ref()
        .map(tls::acceptor)
        .transpose()
        .map_err(StartError::Tls)?;

    let public_url = config.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{local}")
    });
    let mut state = State::new(config, Arc::new(Roots::new(roots)), public_url, metrics);
    state.access = access.map(Arc::new);
    state.signer = signer;
    state.c4gh = c4gh;
    Ok((state, tls, root))
}

/// The server's Crypt4GH secret key from `path`, unlocked with `C4GH_PASSPHRASE` if locked.
fn load_c4gh_key(path: &Path) -> Result<SecretKey, StartError> {
    let refuse = |why: String| StartError::Crypt4gh(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?;
    let passphrase = std::env::var("C4GH_PASSPHRASE").ok();
    SecretKey::from_file_text(&text, passphrase.as_deref().map(str::as_bytes))
        .map_err(|e| refuse(e.to_string()))
}

impl Server {
    /// Binds `config.bind` (and `config.metrics_bind`) and prepares the state (with no data
    /// root, writes the demo dataset; built without the `demo` feature, fails with
    /// [`StartError::NoDataRoot`] instead).
    pub async fn bind(config: Config) -> Result<Self, StartError> {
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
        let metrics_server = metrics_listener
            .map(|listener| tokio::spawn(serve_metrics(listener, Arc::clone(&live))));

        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        let max_connections = live.state().config.max_connections;
        let connections = Arc::new(Semaphore::new(max_connections));

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
                    let state = live.state();
                    let io = Deadline::new(stream, state.config.write_timeout);
                    let watcher = graceful.watcher();
                    let (live, tls) = (Arc::clone(&live), live.tls());
                    tokio::spawn(async move {
                        match tls {
                            None => connection(live, io, watcher).await,
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
                () = &mut shutdown => break,
            }
        }

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

/// Reloads on each SIGHUP, until aborted.
async fn reload_on_hangup<F>(live: Arc<Live>, load: F)
where
    F: Fn() -> Result<Config, ConfigError> + Send + Sync + 'static,
{
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; live reload is off");
        return;
    };
    while hangups.recv().await.is_some() {
        let outcome = match load() {
            Ok(config) => live.reload(config).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        live.metrics.reload(outcome.is_ok());
        match outcome {
            Ok(()) => tracing::info!("configuration reloaded"),
            Err(error) => {
                tracing::error!(%error, "configuration reload refused; the old one is kept");
            }
        }
    }
}

/// Serves `/metrics` (and the health checks) alone on the metrics listener.
async fn serve_metrics(listener: TcpListener, live: Arc<Live>) {
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
