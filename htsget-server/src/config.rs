//! Configuration: command line, `HTSGET_*` environment variables, and an optional TOML file,
//! in that order of precedence, over the defaults.

pub mod access;
mod cli;
mod file;
pub mod store;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub use self::{
    access::{AccessArgs, AccessSettings, RuleConfig, TlsSettings},
    cli::Cli,
    file::{RootConfig, ServiceConfig},
    store::{StoreArgs, StoreSettings, UrlMode},
};
use serde::Deserialize;

use self::file::{FileConfig, read_file};

/// The smallest `max-header-bytes` accepted: a request line and ordinary headers must fit.
pub const MIN_HEADER_BYTES: usize = 8192;

/// What is wrong with the access settings.
#[derive(Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessProblem {
    /// `[[access]]` rules without a JWKS.
    #[error("[[access]] rules need auth-jwks (access control is off without it)")]
    RulesWithoutKeys,
    /// A JWKS without a trusted issuer.
    #[error("auth-jwks needs at least one auth-issuer")]
    NoIssuer,
    /// A TLS certificate without its key, or the reverse.
    #[error("TLS needs {missing} too")]
    TlsHalf {
        /// The setting missing.
        missing: &'static str,
    },
}

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file does not parse or has unknown keys.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// `public-url` is not an http(s) URL.
    #[error("invalid setting: public-url must start with http:// or https://, got {url:?}")]
    PublicUrl {
        /// The value given.
        url: String,
    },
    /// A setting that must be at least 1 is 0.
    #[error("invalid setting: {setting} must be at least 1")]
    Zero {
        /// The setting's name, as the command line and the file spell it.
        setting: &'static str,
    },
    /// A `[[roots]]` prefix is empty, malformed (it must be an id of `/`-separated names), or
    /// given twice.
    #[error("invalid setting: roots prefix {prefix:?}: empty, malformed or given twice")]
    RootPrefix {
        /// The prefix given.
        prefix: String,
    },
    /// The access settings do not hang together.
    #[error("invalid access setting: {0}")]
    Access(AccessProblem),
    /// `max-header-bytes` is below [`MIN_HEADER_BYTES`].
    #[error("invalid setting: max-header-bytes must be at least {MIN_HEADER_BYTES}, got {value}")]
    HeaderBytes {
        /// The value given.
        value: usize,
    },
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The igv.js the viewer loads unless `--igv-js` says otherwise.
pub const DEFAULT_IGV_JS: &str = "https://cdn.jsdelivr.net/npm/igv@3.8.10/dist/igv.min.js";

/// The server's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data root; `None` serves the built-in demo dataset.
    pub data: Option<PathBuf>,
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The base URL of tickets' data URLs; `None`: `http://<bound address>`.
    pub public_url: Option<String>,
    /// The largest POST body accepted, in bytes.
    pub max_post_bytes: u64,
    /// The most regions one POST may ask for.
    pub max_regions: usize,
    /// The longest request target accepted, in bytes.
    pub max_url_bytes: usize,
    /// The most bytes of request line and headers buffered per request (at least 8192).
    pub max_header_bytes: usize,
    /// How long a client may take to send headers, or stay idle between requests.
    pub header_timeout: Duration,
    /// How long a response may go unread before the connection is closed.
    pub write_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// Memory for cached facts (parsed indexes and headers), in MiB.
    pub cache_mb: u64,
    /// Whether symbolic links may lead outside the data root.
    pub follow_symlinks: bool,
    /// Object-store settings: URL mode, revalidation, timeouts.
    pub store: StoreSettings,
    /// More data roots, each under an id prefix (the file's `[[roots]]`).
    pub roots: Vec<RootConfig>,
    /// Access control: token keys, issuers, rules, data-URL signing.
    pub access: AccessSettings,
    /// TLS; `None` serves plain http.
    pub tls: Option<TlsSettings>,
    /// A separate address for `/metrics`; `None`: on the main one.
    pub metrics_bind: Option<SocketAddr>,
    /// How log lines are written (read at start only).
    pub log_format: LogFormat,
    /// Where the viewer loads igv.js from.
    pub igv_js: String,
    /// The Crypt4GH secret key file; `None`: encrypted files are not served.
    pub c4gh_key: Option<PathBuf>,
    /// Crypt4GH tickets pass stored segments through (the file's key re-wrapped).
    pub c4gh_passthrough: bool,
    /// What service-info says.
    pub service: ServiceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_post_bytes: 64 << 10,
            max_regions: 1024,
            max_url_bytes: 8 << 10,
            max_header_bytes: 64 << 10,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(60),
            max_connections: 1024,
            cache_mb: 512,
            follow_symlinks: false,
            store: StoreSettings::default(),
            roots: Vec::new(),
            access: AccessSettings::default(),
            tls: None,
            metrics_bind: None,
            log_format: LogFormat::Text,
            igv_js: DEFAULT_IGV_JS.to_owned(),
            c4gh_key: None,
            c4gh_passthrough: false,
            service: ServiceConfig::default(),
        }
    }
}

impl Config {
    /// The configuration for a data root, with every other setting at its default.
    pub fn for_data(data: impl Into<PathBuf>) -> Self {
        Self {
            data: Some(data.into()),
            ..Self::default()
        }
    }

    /// Checks that every setting is in range.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::PublicUrl { url: url.clone() });
        }

        let zero = [
            ("cache-mb", self.cache_mb == 0),
            ("max-connections", self.max_connections == 0),
            ("max-regions", self.max_regions == 0),
            ("header-timeout", self.header_timeout.is_zero()),
            ("write-timeout", self.write_timeout.is_zero()),
            ("store-timeout", self.store.timeout.is_zero()),
            ("presign-ttl", self.store.presign_ttl.is_zero()),
            ("url-ttl", self.access.url_ttl.is_zero()),
        ];
        if let Some((setting, _)) = zero.into_iter().find(|(_, is_zero)| *is_zero) {
            return Err(ConfigError::Zero { setting });
        }

        let mut prefixes = std::collections::BTreeSet::new();
        for root in &self.roots {
            if crate::ids::validate(&root.prefix).is_err() || !prefixes.insert(&root.prefix) {
                return Err(ConfigError::RootPrefix {
                    prefix: root.prefix.clone(),
                });
            }
        }

        self.access.validate()?;

        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::HeaderBytes {
                value: self.max_header_bytes,
            });
        }

        Ok(())
    }

    /// The configuration from the command line (and environment), over a TOML file if one is
    /// named, over the defaults.
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };

        let access_file = access::AccessFile {
            auth_jwks: file.auth_jwks.clone(),
            auth_issuer: file.auth_issuer.clone(),
            auth_audience: file.auth_audience.clone(),
            auth_grants_claim: file.auth_grants_claim.clone(),
            url_ttl: file.url_ttl,
            url_key: file.url_key.clone(),
            tls_cert: file.tls_cert.clone(),
            tls_key: file.tls_key.clone(),
        };
        let tls = TlsSettings::merge(&cli.access, &access_file)
            .map_err(|missing| ConfigError::Access(AccessProblem::TlsHalf { missing }))?;
        let access = AccessSettings::merge(
            &cli.access,
            &access_file,
            file.access.clone().unwrap_or_default(),
        );

        let defaults = Self::default();
        let seconds = |cli: Option<u64>, file: Option<u64>, default: Duration| {
            cli.or(file).map_or(default, Duration::from_secs)
        };
        let config = Self {
            data: cli.data.or(file.data),
            bind: pick(cli.bind, file.bind, defaults.bind),
            public_url: cli.public_url.or(file.public_url),
            max_post_bytes: pick(
                cli.max_post_bytes,
                file.max_post_bytes,
                defaults.max_post_bytes,
            ),
            max_regions: pick(cli.max_regions, file.max_regions, defaults.max_regions),
            max_url_bytes: pick(
                cli.max_url_bytes,
                file.max_url_bytes,
                defaults.max_url_bytes,
            ),
            max_header_bytes: pick(
                cli.max_header_bytes,
                file.max_header_bytes,
                defaults.max_header_bytes,
            ),
            header_timeout: seconds(
                cli.header_timeout,
                file.header_timeout,
                defaults.header_timeout,
            ),
            write_timeout: seconds(
                cli.write_timeout,
                file.write_timeout,
                defaults.write_timeout,
            ),
            max_connections: pick(
                cli.max_connections,
                file.max_connections,
                defaults.max_connections,
            ),
            cache_mb: pick(cli.cache_mb, file.cache_mb, defaults.cache_mb),
            follow_symlinks: cli.follow_symlinks || file.follow_symlinks.unwrap_or(false),
            store: StoreSettings::merge(
                &cli.store,
                &store::StoreFile {
                    urls: file.urls,
                    revalidate: file.revalidate,
                    store_timeout: file.store_timeout,
                    presign_ttl: file.presign_ttl,
                    options: file.store_options.clone().unwrap_or_default(),
                },
            ),
            roots: file.roots.unwrap_or_default(),
            access,
            tls,
            metrics_bind: cli.metrics_bind.or(file.metrics_bind),
            log_format: pick(cli.log_format, file.log_format, LogFormat::Text),
            igv_js: cli
                .igv_js
                .or(file.igv_js)
                .unwrap_or_else(|| DEFAULT_IGV_JS.to_owned()),
            c4gh_key: cli.c4gh_key.or(file.c4gh_key),
            c4gh_passthrough: cli.c4gh_passthrough || file.c4gh_passthrough.unwrap_or(false),
            service: file.service.unwrap_or_default(),
        };

        config.validate()?;
        Ok(config)
    }
}

/// The command line's value, else the file's, else the default.
fn pick<T>(cli: Option<T>, file: Option<T>, default: T) -> T {
    cli.or(file).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use super::*;

    #[test]
    fn test_from_cli_with_file_under_flags() {
        let dir = std::env::temp_dir().join(format!("htsget-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "data = \"/srv\"\nbind = \"0.0.0.0:9000\"\nmax-post-bytes = 10\n[service]\nid = \"org.x\"\n",
        )
        .unwrap();

        let cli = Cli::parse_from([
            "htsget-server",
            "--config",
            path.to_str().unwrap(),
            "--bind",
            "127.0.0.1:1",
        ]);
        let config = Config::from_cli(cli).unwrap();
        assert_eq!(config.data.as_deref(), Some(Path::new("/srv")));
        assert_eq!(config.bind, "127.0.0.1:1".parse().unwrap());
        assert_eq!(config.max_post_bytes, 10);
        assert_eq!(config.service.id, "org.x");
        assert_eq!(config.service.name, "htsget-server");

        std::fs::write(&path, "nonsense = 1\n").unwrap();
        let cli = Cli::parse_from(["htsget-server", "--config", path.to_str().unwrap()]);
        assert!(matches!(
            Config::from_cli(cli),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn test_from_cli_with_out_of_range_limits() {
        for flags in [
            ["--max-header-bytes", "100"],
            ["--header-timeout", "0"],
            ["--write-timeout", "0"],
            ["--max-connections", "0"],
            ["--cache-mb", "0"],
        ] {
            let cli = Cli::parse_from(["htsget-server", flags[0], flags[1]]);
            assert!(Config::from_cli(cli).is_err(), "{flags:?}");
        }
    }

    #[test]
    fn test_from_cli_with_typed_errors() {
        let error = |flags: &[&str]| {
            let cli = Cli::parse_from(["htsget-server"].iter().chain(flags));
            Config::from_cli(cli).unwrap_err()
        };
        assert!(matches!(
            error(&["--write-timeout", "0"]),
            ConfigError::Zero {
                setting: "write-timeout"
            }
        ));
        assert!(matches!(
            error(&["--max-header-bytes", "100"]),
            ConfigError::HeaderBytes { value: 100 }
        ));
        assert!(matches!(
            error(&["--public-url", "ftp://x"]),
            ConfigError::PublicUrl { .. }
        ));
    }

    #[test]
    fn test_from_cli_with_access_flags_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "auth-issuer = \"https://file.example\"\nurl-ttl = 60\n\
             [[access]]\nids = \"bam/*\"\ngrants = [\"g\"]\n\
             [[access]]\nids = [\"vcf/*\", \"x/**\"]\npublic = true\nregions = [\"chr1:0-10\"]\n",
        )
        .unwrap();
        let config = path.to_str().unwrap();
        let parse = |flags: &[&str]| {
            let cli = Cli::parse_from(["htsget-server", "--config", config].iter().chain(flags));
            Config::from_cli(cli)
        };

        let on = parse(&[
            "--auth-jwks",
            "/k.json",
            "--auth-issuer",
            "https://a",
            "--auth-issuer",
            "https://b",
            "--auth-audience",
            "aud",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .unwrap();
        assert_eq!(on.access.jwks.as_deref(), Some("/k.json"));
        assert_eq!(on.access.issuers, ["https://a", "https://b"]);
        assert_eq!(on.access.audience.as_deref(), Some("aud"));
        assert_eq!(on.access.url_ttl, Duration::from_secs(60));
        assert_eq!(on.access.rules.len(), 2);
        assert_eq!(on.tls.unwrap().key, Path::new("k.pem"));

        // The file's issuer stands when no flag gives one.
        let file_issuer = parse(&["--auth-jwks", "/k.json"]).unwrap();
        assert_eq!(file_issuer.access.issuers, ["https://file.example"]);

        // Rules without a JWKS, a cert without its key, a zero TTL: refused.
        assert!(matches!(parse(&[]), Err(ConfigError::Access(_))));
        assert!(matches!(
            parse(&["--auth-jwks", "/k.json", "--tls-cert", "c.pem"]),
            Err(ConfigError::Access(_))
        ));
        assert!(matches!(
            parse(&["--auth-jwks", "/k.json", "--url-ttl", "0"]),
            Err(ConfigError::Zero { setting: "url-ttl" })
        ));
    }

    #[test]
    fn test_from_cli_with_bad_public_url() {
        let cli = Cli::parse_from(["htsget-server", "--public-url", "ftp://x"]);
        assert!(Config::from_cli(cli).is_err());
    }
}
