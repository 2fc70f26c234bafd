//! What a reload swaps: the state every request reads and the TLS acceptor new connections
//! use, rebuilt whole from a configuration re-read on SIGHUP (or left as they were).

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, RwLock},
};

use super::{StartError, build::build};
use crate::blocking::blocking;
use crate::{
    config::{Config, ConfigError},
    metrics::Metrics,
    state::State,
    tls,
};

/// What a reload replaces: the state every request reads, and the TLS acceptor new
/// connections use. In-flight requests keep what they started with.
#[derive(Debug)]
pub(crate) struct Live {
    pub(super) state: RwLock<Arc<State>>,
    pub(super) tls: RwLock<Option<tls::Tls>>,
    /// The bound address (a reload cannot move it).
    pub(super) local: SocketAddr,
    /// The built-in dataset's root, if it is served.
    pub(super) demo_root: Option<PathBuf>,
    pub(super) metrics: Arc<Metrics>,
}

impl Live {
    /// The state as of now.
    pub(crate) fn state(&self) -> Arc<State> {
        Arc::clone(&self.state.read().expect("not poisoned"))
    }

    pub(super) fn tls(&self) -> Option<tls::Tls> {
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

/// Reloads on each SIGHUP, until aborted.
pub(super) async fn reload_on_hangup<F>(live: Arc<Live>, load: F)
where
    F: Fn() -> Result<Config, ConfigError> + Send + Sync + 'static,
{
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; live reload is off");
        return;
    };
    let load = Arc::new(load);
    while hangups.recv().await.is_some() {
        // The configuration file is read off the async workers.
        let loading = Arc::clone(&load);
        let outcome = match blocking(move || loading()).await {
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
