//! The TOML file: the settings it may hold (kebab-case keys, unknown keys refused), the
//! `[[roots]]` and `[service]` tables.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{ConfigError, LogFormat, RuleConfig, UrlMode, access::OneOrMany};

/// The settings a TOML file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct FileConfig {
    pub(super) data: Option<PathBuf>,
    pub(super) bind: Option<SocketAddr>,
    pub(super) public_url: Option<String>,
    pub(super) max_post_bytes: Option<u64>,
    pub(super) max_regions: Option<usize>,
    pub(super) max_url_bytes: Option<usize>,
    pub(super) max_header_bytes: Option<usize>,
    pub(super) header_timeout: Option<u64>,
    pub(super) write_timeout: Option<u64>,
    pub(super) max_connections: Option<usize>,
    pub(super) cache_mb: Option<u64>,
    pub(super) follow_symlinks: Option<bool>,
    pub(super) service: Option<ServiceConfig>,
    pub(super) urls: Option<UrlMode>,
    pub(super) revalidate: Option<u64>,
    pub(super) store_timeout: Option<u64>,
    pub(super) presign_ttl: Option<u64>,
    pub(super) store_options: Option<BTreeMap<String, String>>,
    pub(super) roots: Option<Vec<RootConfig>>,
    pub(super) auth_jwks: Option<String>,
    pub(super) auth_issuer: Option<OneOrMany>,
    pub(super) auth_audience: Option<String>,
    pub(super) auth_grants_claim: Option<String>,
    pub(super) url_ttl: Option<u64>,
    pub(super) url_key: Option<PathBuf>,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    pub(super) access: Option<Vec<RuleConfig>>,
    pub(super) metrics_bind: Option<SocketAddr>,
    pub(super) log_format: Option<LogFormat>,
    pub(super) igv_js: Option<String>,
    pub(super) c4gh_key: Option<PathBuf>,
    pub(super) c4gh_passthrough: Option<bool>,
}

/// A data root under an id prefix (`[[roots]]` in the file).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RootConfig {
    /// The id prefix: `archive` serves ids `archive/...` from this root.
    pub prefix: String,
    /// A directory, or `s3://BUCKET[/PREFIX]` (`gs://`, `az://`).
    pub data: PathBuf,
    /// Where its ticket URLs point [default: `--urls`].
    pub urls: Option<UrlMode>,
    /// Crypt4GH pass-through for this root [default: `--c4gh-passthrough`].
    pub c4gh_passthrough: Option<bool>,
}

/// What service-info says about this service.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServiceConfig {
    /// Reverse-domain id, e.g. `org.example.htsget`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The organization running the service.
    pub organization_name: String,
    /// The organization's URL.
    pub organization_url: String,
    /// Optional description.
    pub description: Option<String>,
    /// Optional environment: prod, test, dev, staging.
    pub environment: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            id: "local.htsget".to_owned(),
            name: "htsget-server".to_owned(),
            organization_name: "Unconfigured".to_owned(),
            organization_url: "https://example.org".to_owned(),
            description: Some("GA4GH htsget 1.3 server for BAM, CRAM, VCF and BCF".to_owned()),
            environment: None,
        }
    }
}

pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;

    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}
