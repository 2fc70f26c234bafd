//! Settings for data roots in object stores: where ticket URLs point, how long facts are
//! trusted, how long the store may take.

use std::{collections::BTreeMap, time::Duration};

use clap::{Args, ValueEnum};
use serde::Deserialize;

/// Where the URLs of a ticket send clients for the bytes.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum UrlMode {
    /// To this server's data endpoint, which streams from the store.
    #[default]
    Server,
    /// Straight to the store: presigned URLs for whole blocks (the range and the object's
    /// version signed), cut pieces inline; the server never touches body bytes.
    Direct,
}

/// The command-line flags of these settings.
#[derive(Debug, Default, Args)]
pub struct StoreArgs {
    /// Where ticket URLs send clients: `server` (this server's data endpoint) or `direct`
    /// (presigned object-store URLs) [default: server].
    #[arg(long, value_enum, value_name = "MODE", env = "HTSGET_URLS")]
    pub urls: Option<UrlMode>,

    /// Seconds a file's facts are trusted before its identity (ETag, or inode and mtime) is
    /// checked again; 0 checks on every ticket [default: 10 for object stores; local files,
    /// where the check is one `stat`, on every ticket].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_REVALIDATE")]
    pub revalidate: Option<u64>,

    /// Seconds an object-store call may take, retries included, before the request fails with
    /// 503 [default: 30].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_STORE_TIMEOUT")]
    pub store_timeout: Option<u64>,

    /// Seconds presigned URLs stay valid (`--urls direct`) [default: 900].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_PRESIGN_TTL")]
    pub presign_ttl: Option<u64>,
}

/// How long an object store's facts are trusted when `--revalidate` is not given.
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(10);

/// The settings, resolved.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct StoreSettings {
    /// Where ticket URLs point.
    pub urls: UrlMode,
    /// How long facts are trusted before the objects' identities are checked again; `None`:
    /// [`DEFAULT_REVALIDATE`] for object stores, every ticket for local files.
    pub revalidate: Option<Duration>,
    /// How long a store call may take.
    pub timeout: Duration,
    /// How long presigned URLs stay valid.
    pub presign_ttl: Duration,
    /// `object_store` settings over the environment's (the file's `[store-options]` table:
    /// `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`, ...).
    pub options: BTreeMap<String, String>,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            urls: UrlMode::Server,
            revalidate: None,
            timeout: Duration::from_secs(30),
            presign_ttl: Duration::from_secs(900),
            options: BTreeMap::new(),
        }
    }
}

/// The same settings as a TOML file gives them (`urls`, `revalidate`, `store-timeout`,
/// `presign-ttl`).
#[derive(Debug, Default)]
pub(super) struct StoreFile {
    pub(super) urls: Option<UrlMode>,
    pub(super) revalidate: Option<u64>,
    pub(super) store_timeout: Option<u64>,
    pub(super) presign_ttl: Option<u64>,
    pub(super) options: BTreeMap<String, String>,
}

impl StoreSettings {
    /// The flags' values, else the file's, else the defaults.
    pub(super) fn merge(args: &StoreArgs, file: &StoreFile) -> Self {
        let defaults = Self::default();
        let seconds = |flag: Option<u64>, file: Option<u64>, default: Duration| {
            flag.or(file).map_or(default, Duration::from_secs)
        };
        Self {
            urls: args.urls.or(file.urls).unwrap_or(defaults.urls),
            revalidate: args.revalidate.or(file.revalidate).map(Duration::from_secs),
            timeout: seconds(args.store_timeout, file.store_timeout, defaults.timeout),
            presign_ttl: seconds(args.presign_ttl, file.presign_ttl, defaults.presign_ttl),
            options: file.options.clone(),
        }
    }
}
