//! The TOML file: the settings it may hold (kebab-case keys, unknown keys refused), the
//! `[[roots]]`, `[[access]]`, `[[issuers]]`, `[store-options]`, `[service]` and `[aliases]` tables.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{
    AccessArgs, ConfigArgs, ConfigError, IssuerConfig, RuleConfig, StoreArgs, TlsArgs, UrlMode,
};

/// The settings a TOML file may hold: every flag's setting under the flag's name, and the
/// tables no flag gives.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct FileConfig {
    #[serde(flatten)]
    pub(super) settings: ConfigArgs,
    #[serde(flatten)]
    pub(super) store: StoreArgs,
    #[serde(flatten)]
    pub(super) access: AccessArgs,
    #[serde(flatten)]
    pub(super) tls: TlsArgs,
    pub(super) store_options: Option<BTreeMap<String, String>>,
    pub(super) roots: Option<Vec<RootConfig>>,
    #[serde(rename = "access")]
    pub(super) rules: Option<Vec<RuleConfig>>,
    pub(super) issuers: Option<Vec<IssuerConfig>>,
    pub(super) service: Option<ServiceConfig>,
    pub(super) aliases: Option<BTreeMap<String, Vec<String>>>,
}

/// The keys of [`FileConfig`]'s own tables.
const TABLES: [&str; 6] = [
    "store-options",
    "roots",
    "access",
    "issuers",
    "service",
    "aliases",
];

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

/// Reads a TOML file; a key that is no setting's is refused (flattened settings cannot say so
/// themselves).
pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse = |source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    };

    let table: toml::Table = toml::from_str(&text).map_err(parse)?;
    let known = [
        ConfigArgs::KEYS,
        StoreArgs::KEYS,
        AccessArgs::KEYS,
        TlsArgs::KEYS,
        &TABLES,
    ];
    if let Some(key) = table
        .keys()
        .find(|key| !known.iter().any(|keys| keys.contains(&key.as_str())))
    {
        return Err(parse(serde::de::Error::custom(format!(
            "unknown key `{key}`"
        ))));
    }
    toml::from_str(&text).map_err(parse)
}
