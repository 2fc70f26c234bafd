//! Who may sign what: each trusted issuer with its own keys, the kinds of token it may sign
//! (access tokens, visas), its userinfo endpoint and the `jku` URLs its visas may name. A key
//! verifies only tokens of the issuer it was loaded for: a visa issuer's key cannot sign an
//! access token in the AAI's name, nor the reverse.
//!
//! `[[issuers]]` tables give one issuer each (keys from `jwks`, else OpenID discovery). The
//! `--auth-jwks`/`--auth-issuer` shorthand keeps its meaning: every issuer it names signs both
//! kinds with any key of the one set, and visas' `jku` is not looked at.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use serde_json::Value;

use super::{
    error::KeysError,
    fetch::{FetchError, Fetcher},
    keys::{Key, KeySet, MIN_REFRESH},
    refusal::Refusal,
};
use crate::config::{AccessSettings, IssuerConfig};

/// The largest discovery document accepted, in bytes.
const MAX_DISCOVERY_BYTES: usize = 256 << 10;

/// The kind of JWT being checked.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Kind {
    /// An access token or a Passport JWT, sent as the bearer token.
    Access,
    /// A visa of a passport.
    Visa,
}

/// The trusted issuers.
#[derive(Debug)]
pub(crate) struct Trust {
    issuers: HashMap<String, Issuer>,
    fetcher: Arc<Fetcher>,
    /// The key sets of allowed `jku` URLs, opened on first use.
    jku: Mutex<HashMap<String, Arc<KeySet>>>,
}

#[derive(Debug)]
struct Issuer {
    access: bool,
    visas: bool,
    /// Keys given (a file or URL); `None`: discovered.
    keys: Option<Arc<KeySet>>,
    /// The URL of the keys given, if a URL: a visa naming it as its `jku` uses them.
    jwks_url: Option<String>,
    /// The userinfo endpoint given.
    userinfo: Option<String>,
    /// Whether discovery may name the userinfo endpoint (an `[[issuers]]` table of an issuer of
    /// access tokens without one).
    discover_userinfo: bool,
    /// The `jku` URLs its visas may name; `None`: `jku` is not looked at (the shorthand).
    jku: Option<Vec<String>>,
    discovery: Discovery,
}

/// What OpenID discovery found, fetched once on demand (retried, rate-limited, while it fails).
#[derive(Debug, Default)]
struct Discovery {
    found: tokio::sync::Mutex<Option<Arc<Discovered>>>,
    tried: Mutex<Option<Instant>>,
}

#[derive(Debug)]
struct Discovered {
    keys: Option<Arc<KeySet>>,
    userinfo: Option<String>,
}

/// A userinfo endpoint, or why there is none to ask now.
#[derive(Debug)]
pub(crate) enum Userinfo {
    /// Ask this URL.
    At(String),
    /// The issuer has none.
    None,
    /// Discovery cannot be had now.
    Unavailable,
}

impl Trust {
    /// The issuers `settings` trust: the shorthand's and each `[[issuers]]` table's. Key files
    /// are read now; URLs that cannot be fetched yet are retried on demand.
    pub(crate) async fn open(settings: &AccessSettings) -> Result<Self, KeysError> {
        let fetcher = Arc::new(Fetcher::new().map_err(KeysError::Client)?);
        let mut issuers = HashMap::new();
        if let Some(jwks) = &settings.jwks {
            let keys = Arc::new(KeySet::open(jwks, &fetcher, false).await?);
            for iss in &settings.issuers {
                let issuer = Issuer {
                    access: true,
                    visas: true,
                    keys: Some(Arc::clone(&keys)),
                    jwks_url: None,
                    userinfo: None,
                    discover_userinfo: false,
                    jku: None,
                    discovery: Discovery::default(),
                };
                issuers.insert(iss.clone(), issuer);
            }
        }
        for table in &settings.issuer_tables {
            issuers.insert(table.iss.clone(), Issuer::open(table, &fetcher).await?);
        }
        Ok(Self {
            issuers,
            fetcher,
            jku: Mutex::new(HashMap::new()),
        })
    }

    /// The fetcher of userinfo requests.
    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// How many keys are loaded now (discovered and `jku` sets included once fetched).
    pub(crate) fn keys_loaded(&self) -> usize {
        let mut sets: Vec<*const KeySet> = Vec::new();
        let mut total = 0;
        for issuer in self.issuers.values() {
            let found = issuer
                .discovery
                .found
                .try_lock()
                .ok()
                .and_then(|d| d.clone());
            let discovered = found.and_then(|d| d.keys.clone());
            for set in issuer.keys.iter().chain(discovered.iter()) {
                if !sets.contains(&Arc::as_ptr(set)) {
                    sets.push(Arc::as_ptr(set));
                    total += set.len();
                }
            }
        }
        let jku = self.jku.lock().expect("not poisoned");
        total += jku.values().map(|set| set.len()).sum::<usize>();
        total
    }

    /// The key that checks a JWT of `kind` from `iss` with `kid` (and, for visas, the `jku`
    /// its header names): only `iss`'s own keys, and only for kinds `iss` may sign.
    pub(crate) async fn key(
        &self,
        iss: &str,
        kind: Kind,
        kid: &str,
        jku: Option<&str>,
    ) -> Result<Arc<Key>, Refusal> {
        let issuer = self.issuers.get(iss).ok_or(Refusal::Issuer)?;
        match kind {
            Kind::Access if !issuer.access => return Err(Refusal::NotAccessToken),
            Kind::Visa if !issuer.visas => return Err(Refusal::Issuer),
            _ => {}
        }
        let keys = match (kind, jku, &issuer.jku) {
            (Kind::Visa, Some(jku), Some(allowed)) => {
                if !allowed.iter().any(|url| url == jku) {
                    return Err(Refusal::Jku);
                }
                match (&issuer.keys, &issuer.jwks_url) {
                    (Some(keys), Some(url)) if url == jku => Arc::clone(keys),
                    _ => self.jku_keys(jku),
                }
            }
            _ => match &issuer.keys {
                Some(keys) => Arc::clone(keys),
                None => {
                    let discovered = issuer.discovered(iss, &self.fetcher).await;
                    discovered
                        .and_then(|d| d.keys.clone())
                        .ok_or(Refusal::Unavailable)?
                }
            },
        };
        match keys.find(kid).await {
            Some(key) => Ok(key),
            // A set that could never be read: the issuer is unreachable, not the key unknown.
            None if keys.len() == 0 => Err(Refusal::Unavailable),
            None => Err(Refusal::UnknownKey),
        }
    }

    /// The userinfo endpoint of `iss`, given or discovered.
    pub(crate) async fn userinfo(&self, iss: &str) -> Userinfo {
        let Some(issuer) = self.issuers.get(iss) else {
            return Userinfo::None;
        };
        if let Some(url) = &issuer.userinfo {
            return Userinfo::At(url.clone());
        }
        if !issuer.discover_userinfo || !iss.starts_with("https://") {
            return Userinfo::None;
        }
        match issuer.discovered(iss, &self.fetcher).await {
            Some(found) => match &found.userinfo {
                Some(url) => Userinfo::At(url.clone()),
                None => Userinfo::None,
            },
            None => Userinfo::Unavailable,
        }
    }

    /// The userinfo endpoint opaque tokens are sent to: that of the one `[[issuers]]` issuer of
    /// access tokens given one; `None` when there is none, or several (a token is never sent
    /// to an issuer that may not have issued it).
    pub(crate) fn opaque_userinfo(&self) -> Option<&str> {
        let mut given = self
            .issuers
            .values()
            .filter(|issuer| issuer.access)
            .filter_map(|issuer| issuer.userinfo.as_deref());
        let one = given.next()?;
        given.next().is_none().then_some(one)
    }

    /// The key set at an allowed `jku`, made on first use and read when a key is looked for
    /// (its fetches rate-limited like every key set's).
    fn jku_keys(&self, url: &str) -> Arc<KeySet> {
        let mut sets = self.jku.lock().expect("not poisoned");
        let set = sets
            .entry(url.to_owned())
            .or_insert_with(|| Arc::new(KeySet::on_demand(url, &self.fetcher)));
        Arc::clone(set)
    }
}

impl Issuer {
    async fn open(table: &IssuerConfig, fetcher: &Arc<Fetcher>) -> Result<Self, KeysError> {
        let keys = match &table.jwks {
            Some(jwks) => Some(Arc::new(KeySet::open(jwks, fetcher, true).await?)),
            None => None,
        };
        let issuer = Self {
            access: table.signs_access(),
            visas: table.signs_visas(),
            keys,
            jwks_url: table
                .jwks
                .clone()
                .filter(|jwks| jwks.starts_with("https://")),
            userinfo: table.userinfo.clone(),
            discover_userinfo: table.userinfo.is_none() && table.signs_access(),
            jku: Some(table.jku.clone()),
            discovery: Discovery::default(),
        };
        if issuer.keys.is_none() {
            // Discovered now if it can be; else on demand.
            issuer.discovered(&table.iss, fetcher).await;
        }
        Ok(issuer)
    }

    /// What discovery found for `iss`; `None` while it cannot be had (tried again at most
    /// every [`MIN_REFRESH`]).
    async fn discovered(&self, iss: &str, fetcher: &Arc<Fetcher>) -> Option<Arc<Discovered>> {
        let mut found = self.discovery.found.lock().await;
        if let Some(found) = &*found {
            return Some(Arc::clone(found));
        }
        let recently = |tried: &Mutex<Option<Instant>>| {
            tried
                .lock()
                .expect("not poisoned")
                .is_some_and(|at| at.elapsed() < MIN_REFRESH)
        };
        if recently(&self.discovery.tried) {
            return None;
        }
        let discovered = discover(iss, self.keys.is_none(), fetcher).await;
        // Timed from the end, so callers queued behind a slow attempt do not try again.
        *self.discovery.tried.lock().expect("not poisoned") = Some(Instant::now());
        match discovered {
            Ok(discovered) => {
                let discovered = Arc::new(discovered);
                *found = Some(Arc::clone(&discovered));
                Some(discovered)
            }
            Err(e) => {
                tracing::warn!(issuer = iss, error = %e, "OpenID discovery failed; retrying on demand");
                None
            }
        }
    }
}

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
enum DiscoveryError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("the discovery document is not JSON")]
    Malformed,
    #[error("the discovery document names another issuer")]
    OtherIssuer,
    #[error("the discovery document has no https jwks_uri")]
    NoKeys,
    #[error("{0}")]
    Keys(#[from] KeysError),
}

/// Fetches `{iss}/.well-known/openid-configuration`: its `issuer` must be `iss`; its
/// `jwks_uri` (opened when `with_keys`) and `userinfo_endpoint` must be https.
async fn discover(
    iss: &str,
    with_keys: bool,
    fetcher: &Arc<Fetcher>,
) -> Result<Discovered, DiscoveryError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        iss.trim_end_matches('/')
    );
    // Without keys to learn, an issuer that answers but offers no usable discovery document
    // (a client error, not JSON, another issuer's) simply has no userinfo endpoint; only a
    // failure to answer is worth trying again.
    let none = Discovered {
        keys: None,
        userinfo: None,
    };
    let body = match fetcher.get(&url, None, MAX_DISCOVERY_BYTES, true).await {
        Err(FetchError::Status(status)) if status.is_client_error() && !with_keys => {
            return Ok(none);
        }
        other => other?,
    };
    let document = match serde_json::from_slice::<Value>(&body) {
        Ok(document) if document.get("issuer").and_then(Value::as_str) == Some(iss) => document,
        _ if !with_keys => return Ok(none),
        Ok(_) => return Err(DiscoveryError::OtherIssuer),
        Err(_) => return Err(DiscoveryError::Malformed),
    };
    let https = |field: &str| {
        document
            .get(field)
            .and_then(Value::as_str)
            .filter(|url| url.starts_with("https://"))
            .map(str::to_owned)
    };
    let keys = if with_keys {
        let jwks = https("jwks_uri").ok_or(DiscoveryError::NoKeys)?;
        Some(Arc::new(KeySet::open(&jwks, fetcher, true).await?))
    } else {
        None
    };
    Ok(Discovered {
        keys,
        userinfo: https("userinfo_endpoint"),
    })
}
