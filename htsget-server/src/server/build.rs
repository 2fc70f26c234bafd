//! Building the state of a configuration: the storage of each data root (with Crypt4GH over
//! it when a key is configured), access control and its URL signer, TLS, and the public URL.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use htsget_core::storage::{LocalStorage, Storage};
#[cfg(feature = "object-store")]
use htsget_core::storage::{ObjectStorage, StoreOptions};
#[cfg(feature = "crypt4gh")]
use htsget_core::{crypt4gh::keys::SecretKey, storage::Crypt4ghStorage};

use super::StartError;
#[cfg(feature = "access")]
use crate::access::Access;
use crate::blocking::blocking;
#[cfg(feature = "crypt4gh")]
use crate::data_url::{KeyError, TicketKeys};
#[cfg(feature = "metrics")]
use crate::metrics::Counted;
use crate::{
    config::{Config, UrlMode, store::DEFAULT_REVALIDATE},
    data_url::Signer,
    metrics::Metrics,
    roots::{Root, Roots},
    state::{Services, State},
    tls,
};

/// The storage of a data root: a bucket for a store URL, else the local directory (which must
/// exist), with the root as shown in logs.
async fn open_root(
    root: PathBuf,
    config: &Config,
    metrics: &Arc<Metrics>,
) -> Result<(PathBuf, Arc<dyn Storage>), StartError> {
    if let Some(url) = root.to_str().filter(|r| is_store_url(r)) {
        let storage = open_store(url, config).map_err(|source| StartError::Store {
            url: url.to_owned(),
            source,
        })?;
        #[cfg(feature = "metrics")]
        let storage = Arc::new(Counted::new(storage, Arc::clone(metrics)));
        #[cfg(not(feature = "metrics"))]
        let _ = metrics;
        return Ok((root, storage));
    }

    let root = canonical(&root)
        .await
        .map_err(|source| StartError::DataRoot {
            path: root.display().to_string(),
            source,
        })?;
    let storage = LocalStorage::new(&root).follow_symlinks(config.follow_symlinks);
    Ok((root, Arc::new(storage)))
}

/// The reference sequences' file or folder, canonical: one that is missing is refused at start
/// (not left to refuse the CRAM payloads that need it), and one named through a symbolic link
/// is catalogued where the link leads.
async fn reference(path: Option<PathBuf>) -> Result<Option<PathBuf>, StartError> {
    let Some(path) = path else {
        return Ok(None);
    };
    #[cfg(not(feature = "access"))]
    {
        let _ = path;
        Err(StartError::NotBuilt {
            what: "--reference",
            feature: "access",
        })
    }
    #[cfg(feature = "access")]
    canonical(&path)
        .await
        .map(Some)
        .map_err(|source| StartError::Reference {
            path: path.display().to_string(),
            source,
        })
}

/// `path` made canonical (links resolved; an error if it does not exist), on the blocking pool.
async fn canonical(path: &Path) -> io::Result<PathBuf> {
    let path = path.to_owned();
    blocking(move || path.canonicalize()).await
}

/// The bucket (and prefix) `url` names.
#[cfg(feature = "object-store")]
fn open_store(url: &str, config: &Config) -> io::Result<Arc<dyn Storage>> {
    let options = StoreOptions {
        timeout: config.store.timeout,
        settings: config.store.options.clone().into_iter().collect(),
        ..StoreOptions::default()
    };
    Ok(Arc::new(ObjectStorage::from_url(url, options)?))
}

/// Without the `object-store` feature there is no store to open.
#[cfg(not(feature = "object-store"))]
fn open_store(_: &str, _: &Config) -> io::Result<Arc<dyn Storage>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this build has no object stores (the `object-store` feature)",
    ))
}

/// Whether a data root names an object store (`s3://`, `gs://`, `az://`).
pub(crate) fn is_store_url(root: &str) -> bool {
    ["s3://", "gs://", "az://"]
        .iter()
        .any(|s| root.starts_with(s))
}

/// The state (and TLS acceptor, and main data root) of `config`, for a server bound at
/// `local`; `demo_root` stands in when no data root is configured; `previous`, on a reload,
/// lends its generated URL key, so outstanding URLs stay valid.
pub(super) async fn build(
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

    #[cfg(feature = "crypt4gh")]
    let c4gh = match &config.c4gh_key {
        Some(path) => {
            let path = path.clone();
            Some(Arc::new(blocking(move || load_c4gh_key(&path)).await?))
        }
        None => None,
    };
    #[cfg(not(feature = "crypt4gh"))]
    if config.c4gh_key.is_some() {
        return Err(StartError::NotBuilt {
            what: "--c4gh-key",
            feature: "crypt4gh",
        });
    }
    let mut roots = Vec::new();
    let mut any_store = false;
    let configured = config
        .roots
        .iter()
        .map(|r| (r.prefix.clone(), r.data.clone(), r.urls, r.c4gh_passthrough));
    let main = root.clone().map(|root| (String::new(), root, None, None));
    for (prefix, data, urls, passthrough) in main.into_iter().chain(configured) {
        let urls = urls.unwrap_or(config.store.urls);
        let (data, storage) = open_root(data, &config, &metrics).await?;
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
        #[cfg(feature = "crypt4gh")]
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
    config.reference = reference(config.reference.take()).await?;
    if config.store.revalidate.is_none() && any_store {
        config.store.revalidate = Some(DEFAULT_REVALIDATE);
    }

    #[cfg(feature = "access")]
    let access = Access::open(&config.access)
        .await
        .map_err(StartError::Access)?;
    #[cfg(not(feature = "access"))]
    if config.access.is_on() {
        return Err(StartError::NotBuilt {
            what: "access control",
            feature: "access",
        });
    }
    let signer = match (config.access.is_on(), config.access.url_key.as_deref()) {
        (false, _) => None,
        (true, None) => match previous.and_then(|p| p.signer.as_ref()) {
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
        (true, Some(file)) => {
            let (file, ttl) = (file.to_owned(), config.access.url_ttl);
            let signer = blocking(move || Signer::load(Some(&file), ttl)).await;
            Some(signer.map_err(StartError::UrlKey)?)
        }
    };
    let tls = match config.tls.clone() {
        Some(settings) => Some(
            blocking(move || tls::acceptor(&settings))
                .await
                .map_err(StartError::Tls)?,
        ),
        None => None,
    };

    let public_url = config.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{local}")
    });
    #[cfg(feature = "crypt4gh")]
    let ticket_keys = ticket_keys(&config, c4gh.as_deref(), signer.as_ref(), previous).await?;
    let aliases = config.aliases().map_err(StartError::Aliases)?;
    let services = Services {
        storage: Roots::new(roots),
        public_url,
        #[cfg(feature = "access")]
        access,
        signer,
        #[cfg(feature = "crypt4gh")]
        ticket_keys,
        metrics,
        aliases,
    };
    let state = State::new(config, services);
    Ok((state, tls, root))
}

/// What the secret of Crypt4GH ticket keys is derived for (0xFF first: see [`Signer::derive`]).
#[cfg(feature = "crypt4gh")]
const TICKET_KEYS: &[u8] = b"\xffhtsget crypt4gh ticket keys";

/// The secret Crypt4GH tickets' data keys come from, the same on every replica configured
/// alike: derived from the Crypt4GH key, else from the URL-signing key (`--url-key` is read for
/// this even with access control off), else made now (and kept across reloads).
#[cfg(feature = "crypt4gh")]
async fn ticket_keys(
    config: &Config,
    c4gh: Option<&SecretKey>,
    signer: Option<&Signer>,
    previous: Option<&State>,
) -> Result<TicketKeys, StartError> {
    if let Some(secret) = c4gh {
        return Ok(TicketKeys::new(&secret.derive_key(TICKET_KEYS, b"")));
    }
    let signer = match (signer, &config.access.url_key) {
        (Some(signer), _) => Some(signer.clone()),
        (None, Some(file)) => {
            let (file, ttl) = (file.clone(), config.access.url_ttl);
            let signer = blocking(move || Signer::load(Some(&file), ttl)).await;
            Some(signer.map_err(StartError::UrlKey)?)
        }
        (None, None) => None,
    };
    if let Some(signer) = signer {
        return Ok(TicketKeys::new(&signer.derive(TICKET_KEYS)));
    }
    match previous.map(|state| &state.ticket_keys) {
        Some(keys) if keys.is_generated() => Ok(keys.clone()),
        _ => TicketKeys::generated().map_err(|e| StartError::UrlKey(KeyError::Random(e))),
    }
}

#[cfg(feature = "crypt4gh")]
/// The server's Crypt4GH secret key from `path`, unlocked with `C4GH_PASSPHRASE` if locked.
fn load_c4gh_key(path: &Path) -> Result<SecretKey, StartError> {
    let refuse = |source: Box<dyn std::error::Error + Send + Sync>| StartError::Crypt4gh {
        path: path.display().to_string(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|e| refuse(e.into()))?;
    let passphrase = std::env::var("C4GH_PASSPHRASE").ok();
    SecretKey::from_file_text(&text, passphrase.as_deref().map(str::as_bytes))
        .map_err(|e| refuse(e.into()))
}

#[cfg(all(test, feature = "access"))]
mod tests {
    use super::*;

    fn config(data: &Path, reference: PathBuf) -> Config {
        Config {
            data: Some(data.to_owned()),
            reference: Some(reference),
            ..Config::default()
        }
    }

    async fn start(config: Config) -> Result<State, StartError> {
        let local = "127.0.0.1:0".parse().unwrap();
        let metrics = Arc::new(Metrics::new());
        Ok(build(config, local, None, metrics, None).await?.0)
    }

    #[tokio::test]
    async fn test_build_with_missing_reference() {
        let data = tempfile::tempdir().unwrap();
        let missing = data.path().join("no-such-refs");
        let error = start(config(data.path(), missing.clone()))
            .await
            .expect_err("a missing reference starts nothing");
        assert!(matches!(error, StartError::Reference { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&missing.display().to_string()) && message.contains("No such file"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn test_build_with_reference_through_a_link() {
        let data = tempfile::tempdir().unwrap();
        let refs = tempfile::tempdir().unwrap();
        std::fs::write(refs.path().join("a.fa"), ">one\nACGT\n").unwrap();
        let link = data.path().join("refs");
        std::os::unix::fs::symlink(refs.path(), &link).unwrap();
        let state = start(config(data.path(), link)).await.unwrap();
        let reference = state.config.reference.clone().unwrap();
        assert_eq!(reference, refs.path().canonicalize().unwrap());
        // Catalogued where the link leads (the catalogue itself follows no links).
        use htsget_core::load::ReferenceSequences as _;
        let catalogue = crate::references::Catalogue::new(vec![reference], 1 << 20);
        let one = "f1f8f4bf413b16ad135722aa4591043e"; // MD5 of ACGT
        assert_eq!(catalogue.bases(one).unwrap().as_deref(), Some(&b"ACGT"[..]));
    }
}
