//! State shared by every request: configuration, storage, and the facts cache.

use std::{sync::Arc, time::Instant};

use htsget_core::{
    BgzfSpan, Content, Error, Format, Plan, Served,
    facts::{Aliases, FileFacts},
    load,
    query::Query,
    storage::{Fault, Object, Storage as _},
};
use quick_cache::sync::Cache;

#[cfg(feature = "crypt4gh")]
use crate::data_url::TicketKeys;
#[cfg(feature = "access")]
use crate::{access::Access, references::Catalogue};
use crate::{
    blocking::blocking,
    changes::{Changes, Count, folders, is_plain_entry},
    config::Config,
    data_url::Signer,
    ids::{self, Located},
    metrics::Metrics,
    roots::Roots,
};

/// The longest a location in a watched folder is trusted without a look, should a change
/// escape the kernel's notice (a network file system written from another host).
const WATCHED_AT_MOST: std::time::Duration = std::time::Duration::from_secs(1);

/// How many opened data files are kept (each may hold a file descriptor).
const OPENED: usize = 64;

/// What a state serves with, built from its configuration before the state is made whole.
#[derive(Debug)]
pub struct Services {
    /// The data roots.
    pub storage: Roots,
    /// The base of data URLs in tickets.
    pub public_url: String,
    /// Access control; `None` when it is off.
    #[cfg(feature = "access")]
    pub access: Option<Access>,
    /// Signs data URLs (with access control on).
    pub signer: Option<Signer>,
    /// Where Crypt4GH tickets' data keys come from.
    #[cfg(feature = "crypt4gh")]
    pub ticket_keys: TicketKeys,
    /// The metrics (shared across reloads).
    pub metrics: Arc<Metrics>,
    /// Which reference names are equivalent.
    pub aliases: Aliases,
}

/// Shared server state.
#[derive(Debug)]
pub struct State {
    /// The settings.
    pub config: Config,
    /// Where ids' files are: the data roots.
    pub storage: Roots,
    /// The base of data URLs in tickets, without a trailing slash.
    pub public_url: String,
    /// Access control; `None` when it is off.
    #[cfg(feature = "access")]
    pub access: Option<Access>,
    /// Signs data URLs (with access control on).
    pub signer: Option<Signer>,
    /// The metrics (shared across reloads).
    pub metrics: Arc<Metrics>,
    /// Which reference names are equivalent.
    pub aliases: Aliases,
    /// Where Crypt4GH tickets' data keys come from.
    #[cfg(feature = "crypt4gh")]
    pub ticket_keys: TicketKeys,
    /// Writes Crypt4GH tickets' headers (one writer key, a key exchange per client).
    #[cfg(feature = "crypt4gh")]
    pub headers: htsget_core::crypt4gh::header::Writer,
    cache: Cache<Located, Arc<FileFacts>, FactsWeighter>,
    /// Where ids were found, when, and (for local files) at which count of changes: trusted
    /// for `revalidate`, or while no change is seen, before storage is asked again.
    locations: Cache<(String, Format), (Located, Instant, Option<Count>)>,
    /// Data files opened for tickets that read them (Crypt4GH headers, encrypted spans), by
    /// location: a replaced file is located anew, so never answered from a stale handle.
    opened: Cache<Located, Arc<dyn Object>>,
    /// Changes to the local folders of located ids (`revalidate` not set).
    changes: Arc<Changes>,
    /// The contents of BGZF spans of encrypted files, by file identity and span: their cut
    /// blocks decrypted, decoded and re-encoded, the costly part of a Crypt4GH ticket.
    spans: Cache<SpanKey, Arc<Vec<Served>>, SpanWeighter>,
    /// Exact plans (a region-restricted grant's payloads), by file version and query; `None`
    /// where the file cannot be cut exactly.
    exact: Cache<ExactKey, Option<Arc<Plan>>, ExactWeighter>,
    /// The reference sequences exact CRAM payloads are re-encoded against.
    #[cfg(feature = "access")]
    references: Arc<Catalogue>,
}

/// A query on one version of a file: its key, identity and the query's regions as text.
type ExactKey = (String, htsget_core::storage::Identity, String);

/// Weighs exact plans by their inline bytes, plus an allowance.
#[derive(Clone, Debug)]
struct ExactWeighter;

impl quick_cache::Weighter<ExactKey, Option<Arc<Plan>>> for ExactWeighter {
    fn weight(&self, key: &ExactKey, plan: &Option<Arc<Plan>>) -> u64 {
        let inline: usize = plan
            .iter()
            .flat_map(|plan| plan.parts())
            .map(|part| match part.content() {
                Content::Inline(bytes) => bytes.len(),
                Content::Span(_) => 64,
            })
            .sum();
        (inline + key.2.len() + 256) as u64
    }
}

/// CRAM exact plans made at once, server-wide (each decodes and re-encodes containers on the
/// blocking pool): a request past that waits its turn.
#[cfg(feature = "access")]
static CUTTING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    tokio::sync::Semaphore::new(cores)
});

/// A span of one version of a file: its key, identity and encryption (a plaintext view is never
/// taken for a plain object), start and end.
type SpanKey = (
    String,
    htsget_core::storage::Identity,
    htsget_core::storage::Encryption,
    u64,
    u64,
);

/// Weighs span contents by their inline bytes, plus an allowance.
#[derive(Clone, Debug)]
struct SpanWeighter;

impl quick_cache::Weighter<SpanKey, Arc<Vec<Served>>> for SpanWeighter {
    fn weight(&self, _: &SpanKey, contents: &Arc<Vec<Served>>) -> u64 {
        let inline: usize = contents
            .iter()
            .map(|c| match c {
                Served::Inline(bytes) => bytes.len(),
                Served::Bytes(_) => 0,
            })
            .sum();
        inline as u64 + 256
    }
}

/// Weighs cached facts by an estimate of their memory: parsed indexes take a few times their
/// file's size; headers and the rest a fixed allowance.
#[derive(Clone, Debug)]
struct FactsWeighter;

impl quick_cache::Weighter<Located, Arc<FileFacts>> for FactsWeighter {
    fn weight(&self, located: &Located, _: &Arc<FileFacts>) -> u64 {
        located.index_metadata.size().saturating_mul(4) + (64 << 10)
    }
}

impl State {
    /// The whole state of `config`, serving with `services`.
    pub fn new(config: Config, services: Services) -> Self {
        let capacity = config.cache_mb.saturating_mul(1 << 20);
        let revalidate = config.store.revalidate;
        let cache = Cache::with_weighter(1024, capacity, FactsWeighter);
        let Services {
            storage,
            public_url,
            #[cfg(feature = "access")]
            access,
            signer,
            #[cfg(feature = "crypt4gh")]
            ticket_keys,
            metrics,
            aliases,
        } = services;
        #[cfg(feature = "access")]
        let reference_paths: Vec<_> = config
            .reference
            .iter()
            .cloned()
            .chain(storage.dirs().map(std::path::Path::to_path_buf))
            .collect();
        Self {
            storage,
            config,
            public_url: public_url.trim_end_matches('/').to_owned(),
            #[cfg(feature = "access")]
            access,
            signer,
            metrics,
            aliases,
            #[cfg(feature = "crypt4gh")]
            ticket_keys,
            #[cfg(feature = "crypt4gh")]
            headers: htsget_core::crypt4gh::header::Writer::new(),
            cache,
            locations: Cache::new(16 << 10),
            opened: Cache::new(OPENED),
            changes: Arc::new(match revalidate {
                None => Changes::new(),
                Some(_) => Changes::off(),
            }),
            // An eighth of the facts cache's memory.
            spans: Cache::with_weighter(1024, (capacity / 8).max(1 << 20), SpanWeighter),
            exact: Cache::with_weighter(1024, (capacity / 8).max(1 << 20), ExactWeighter),
            #[cfg(feature = "access")]
            references: Arc::new(Catalogue::new(reference_paths, capacity / 4)),
        }
    }

    /// The exact plan of `query` on `located` (see [`load::exact_with`]), kept per file
    /// version and query; `None` where the file cannot be cut exactly (a CRAM container to
    /// re-encode against a reference sequence that cannot be found).
    pub async fn exact_plan(
        &self,
        located: &Located,
        facts: &Arc<FileFacts>,
        query: &Query,
    ) -> Result<Option<Arc<Plan>>, Error> {
        let key = (
            located.data.clone(),
            located.data_metadata.identity().clone(),
            format!("{:?} {:?}", query.class(), query.regions()),
        );
        // One computation per key at once; the others wait for its plan (or its refusal).
        self.exact
            .get_or_insert_async(&key, async {
                let object = self.open_located(located).await?;
                let plan = if facts.format() == Format::Cram {
                    // Decoding, re-encoding and reading reference sequences: on the blocking
                    // pool, a bounded number at once.
                    #[cfg(feature = "access")]
                    {
                        let _permit = CUTTING.acquire().await.expect("never closed");
                        let (facts, query) = (Arc::clone(facts), query.clone());
                        let (aliases, references) =
                            (self.aliases.clone(), Arc::clone(&self.references));
                        let runtime = tokio::runtime::Handle::current();
                        blocking(move || {
                            runtime.block_on(load::exact_with(
                                &*object,
                                &facts,
                                &query,
                                &aliases,
                                Some(&*references),
                            ))
                        })
                        .await?
                    }
                    #[cfg(not(feature = "access"))]
                    load::exact(&*object, facts, query, &self.aliases).await?
                } else {
                    load::exact(&*object, facts, query, &self.aliases).await?
                };
                Ok(plan.map(Arc::new))
            })
            .await
    }

    /// The contents of `span` of `data`, the opened file `key` (see [`load::span_contents`]),
    /// kept per file, version and span.
    pub async fn span_contents(
        &self,
        key: &str,
        data: &dyn Object,
        span: &BgzfSpan,
    ) -> Result<Arc<Vec<Served>>, Error> {
        let key = (
            key.to_owned(),
            data.metadata().identity().clone(),
            data.metadata().encryption(),
            u64::from(span.start()),
            u64::from(span.end()),
        );
        self.spans
            .get_or_insert_async(&key, async {
                load::span_contents(data, span).await.map(Arc::new)
            })
            .await
    }

    /// The facts cache's entries and estimated weight in bytes.
    pub fn facts_cached(&self) -> (u64, u64) {
        (self.cache.len() as u64, self.cache.weight())
    }

    /// Whether access control is on.
    pub fn access_on(&self) -> bool {
        #[cfg(feature = "access")]
        return self.access.is_some();
        #[cfg(not(feature = "access"))]
        false
    }

    /// Whether a public rule covers `id` (every id is public without access control).
    pub fn is_public(&self, id: &str) -> bool {
        #[cfg(feature = "access")]
        if let Some(access) = &self.access {
            return access.is_public(id);
        }
        let _ = id;
        true
    }

    /// Why access control cannot decide now: no token keys loaded.
    pub fn access_unready(&self) -> Option<&'static str> {
        #[cfg(feature = "access")]
        if let Some(access) = &self.access
            && access.verifier().keys_loaded() == 0
        {
            return Some("no token keys are loaded (from a JWKS or OpenID discovery)");
        }
        None
    }

    /// Opens the data file of `located` as it was when located (or gives the handle a ticket of
    /// the same location opened); if it has changed since, the location is forgotten and the
    /// change reported (a 503: ask again).
    pub async fn open_located(&self, located: &Located) -> Result<Arc<dyn Object>, Error> {
        let io = |source| Error::Io {
            what: "data file",
            source,
        };
        if let Some(object) = self.opened.get(located) {
            return Ok(object);
        }
        let object = self.storage.open(&located.data).await.map_err(io)?;
        if object.metadata() != &located.data_metadata {
            self.forget(located);
            return Err(io(Fault::Changed.into()));
        }
        self.opened.insert(located.clone(), Arc::clone(&object));
        Ok(object)
    }

    /// Forgets where `located` was found: its objects changed, so the next ticket asks again.
    pub fn forget(&self, located: &Located) {
        self.locations.retain(|_, (cached, _, _)| cached != located);
    }

    /// The files behind `id` in `format`: as found within the last `revalidate` seconds (or,
    /// without `revalidate`, as found in local folders that have not changed since), or asked of
    /// storage again (whose answer carries the objects' current identities, so a replaced file
    /// gets new facts). With a warm cache a ticket costs no storage request.
    pub async fn locate(&self, id: &str, format: Format) -> Result<Located, Error> {
        let key = (id.to_owned(), format);
        let Some(revalidate) = self.config.store.revalidate else {
            return self.locate_watched(key).await;
        };

        if !revalidate.is_zero()
            && let Some((located, found, _)) = self.locations.get(&key)
            && found.elapsed() < revalidate
        {
            return Ok(located);
        }

        let located = ids::locate(&self.storage, id, format).await?;
        if !revalidate.is_zero() {
            self.locations
                .insert(key, (located.clone(), Instant::now(), None));
        }
        Ok(located)
    }

    /// [`State::locate`] for local files: trusted while their folder reports no change (and for
    /// [`WATCHED_AT_MOST`]); the folder is watched before the files are looked at, so a change
    /// made after the look is always seen.
    async fn locate_watched(&self, key: (String, Format)) -> Result<Located, Error> {
        if let Some((located, found, Some(count))) = self.locations.get(&key)
            && found.elapsed() < WATCHED_AT_MOST
            && self.changes.count() == Some(count)
        {
            return Ok(located);
        }

        let (id, format) = &key;
        let folders = self
            .storage
            .local_path(id)
            .map(|(root, path)| folders(root, &path));
        let watched = match folders {
            Some(folders) => {
                let changes = Arc::clone(&self.changes);
                blocking(move || changes.watch(&folders)).await
            }
            None => false,
        };
        let count = self.changes.count();

        let located = ids::locate(&self.storage, id, *format).await?;
        if let (true, Some(count)) = (watched, count) {
            let stored = [
                (&located.data, &located.data_metadata),
                (&located.index, &located.index_metadata),
            ]
            .map(|(key, metadata)| metadata.encryption().stored_key(key).into_owned());
            let paths = stored.map(|key| self.storage.local_path(&key).map(|(_, path)| path));
            // A link to a file elsewhere is not watched: it is looked at each time.
            let plain = blocking(move || {
                paths
                    .iter()
                    .all(|path| path.as_deref().is_some_and(is_plain_entry))
            })
            .await;
            if plain {
                self.locations
                    .insert(key, (located.clone(), Instant::now(), Some(count)));
            }
        }
        Ok(located)
    }

    /// The facts of a located file, from the cache or loaded once (concurrent requests for
    /// the same file wait for the one load). Keyed by the files' identities, so a replaced
    /// file is never answered from a stale index.
    pub async fn facts(&self, located: &Located) -> Result<Arc<FileFacts>, Error> {
        if let Some(facts) = self.cache.get(located) {
            self.metrics.facts(true);
            return Ok(facts);
        }
        self.metrics.facts(false);

        self.cache
            .get_or_insert_async(located, async {
                load::facts_known(
                    &self.storage,
                    located.format,
                    (&located.data, &located.data_metadata),
                    (&located.index, &located.index_metadata),
                )
                .await
                .map(Arc::new)
            })
            .await
    }
}
