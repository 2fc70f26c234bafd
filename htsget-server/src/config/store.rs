//! Settings for data roots in object stores: where ticket URLs point, how long facts are
//! trusted, how long the store may take.

use std::{collections::BTreeMap, time::Duration};

use clap::ValueEnum;
use serde::Deserialize;

use super::declare::{Seconds, settings};

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

/// How long an object store's facts are trusted when `--revalidate` is not given.
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(10);

settings! {
    /// The object-store settings, resolved.
    pub struct StoreSettings, flags StoreArgs {
        /// Where ticket URLs send clients: `server` (this server's data endpoint) or `direct`
        /// (presigned object-store URLs) [default: server].
        #[setting("urls", "HTSGET_URLS", UrlMode, value_enum, value_name = "MODE")]
        pub urls: UrlMode = UrlMode::Server,

        /// Seconds a file's facts are trusted before its identity (ETag, or inode and mtime) is
        /// checked again; 0 checks on every ticket [default: 10 for object stores; local files,
        /// where the check is one `stat`, on every ticket].
        #[setting("revalidate", "HTSGET_REVALIDATE", Seconds, value_name = "SECONDS")]
        pub revalidate: Option<Duration> = None,

        /// Seconds an object-store call may take, retries included, before the request fails with
        /// 503 [default: 30].
        #[setting("store-timeout", "HTSGET_STORE_TIMEOUT", Seconds, value_name = "SECONDS")]
        pub timeout: Duration = Duration::from_secs(30),

        /// Seconds presigned URLs stay valid (`--urls direct`) [default: 900].
        #[setting("presign-ttl", "HTSGET_PRESIGN_TTL", Seconds, value_name = "SECONDS")]
        pub presign_ttl: Duration = Duration::from_secs(900),
    }
    also {
        /// `object_store` settings over the environment's (the file's `[store-options]` table:
        /// `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`, ...).
        pub options: BTreeMap<String, String> = BTreeMap::new(),
    }
}
