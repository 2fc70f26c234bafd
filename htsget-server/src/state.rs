//! State shared by every request: configuration, storage, and the facts cache.

use std::{path::PathBuf, sync::Arc};

use htsget_core::{Error, LocalStorage, facts::FileFacts, load};
use quick_cache::sync::Cache;

use crate::{
    config::Config,
    ids::{Located, Resolver},
};

/// Shared server state.
#[derive(Debug)]
pub struct State {
    /// The settings.
    pub config: Config,
    /// The canonical data root.
    pub root: PathBuf,
    /// Ids and data keys to files, with path safety.
    pub resolver: Resolver,
    /// Storage over the data root.
    pub storage: Arc<LocalStorage>,
    /// The base of data URLs in tickets, without a trailing slash.
    pub public_url: String,
    cache: Cache<Located, Arc<FileFacts>, FactsWeighter>,
}

/// Weighs cached facts by an estimate of their memory: parsed indexes take a few times their
/// file's size; headers and the rest a fixed allowance.
#[derive(Clone, Debug)]
struct FactsWeighter;

impl quick_cache::Weighter<Located, Arc<FileFacts>> for FactsWeighter {
    fn weight(&self, located: &Located, _: &Arc<FileFacts>) -> u64 {
        located.identity.1.size().saturating_mul(4) + (64 << 10)
    }
}

impl State {
    /// State for `config`, serving files under `root` (canonical) with tickets pointing at
    /// `public_url`.
    pub fn new(config: Config, root: PathBuf, public_url: String) -> Self {
        let capacity = config.cache_mb.saturating_mul(1 << 20);
        let cache = Cache::with_weighter(1024, capacity, FactsWeighter);
        Self {
            storage: Arc::new(LocalStorage::new(&root)),
            resolver: Resolver::new(root.clone(), config.follow_symlinks),
            config,
            root,
            public_url: public_url.trim_end_matches('/').to_owned(),
            cache,
        }
    }

    /// The facts of a located file, from the cache or loaded once (concurrent requests for
    /// the same file wait for the one load). Keyed by the files' size and modification time,
    /// so a replaced file is never answered from a stale index.
    pub async fn facts(self: &Arc<Self>, located: &Located) -> Result<Arc<FileFacts>, Error> {
        if let Some(facts) = self.cache.get(located) {
            return Ok(facts);
        }

        let state = Arc::clone(self);
        let located = located.clone();

        tokio::task::spawn_blocking(move || {
            state.cache.get_or_insert_with(&located, || {
                load::facts(
                    &*state.storage,
                    located.format,
                    &located.data,
                    &located.index,
                )
                .map(Arc::new)
            })
        })
        .await
        .map_err(|e| Error::Io {
            what: "blocking task",
            source: std::io::Error::other(e),
        })?
    }
}
