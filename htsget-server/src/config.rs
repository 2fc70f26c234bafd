//! Configuration: command line, `HTSGET_*` environment variables, and an optional TOML file,
//! in that order of precedence, over the defaults.

pub mod access;
mod cli;
mod declare;
mod file;
pub mod store;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use htsget_core::facts::{Aliases, AmbiguousAlias};

pub use self::{
    access::{
        AccessArgs, AccessSettings, IssuedKind, IssuerConfig, RuleConfig, TlsArgs, TlsFiles,
        TlsSettings,
    },
    cli::Cli,
    declare::Seconds,
    file::{RootConfig, ServiceConfig},
    store::{StoreArgs, StoreSettings, UrlMode},
};
use serde::Deserialize;

use self::{
    declare::settings,
    file::{FileConfig, read_file},
};

/// The smallest `max-header-bytes` accepted: a request line and ordinary headers must fit.
pub const MIN_HEADER_BYTES: usize = 8192;

/// What is wrong with the access settings.
#[derive(Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessProblem {
    /// `[[access]]` rules without a JWKS or `[[issuers]]`.
    #[error("[[access]] rules need auth-jwks or [[issuers]] (access control is off without them)")]
    RulesWithoutKeys,
    /// A JWKS without a trusted issuer.
    #[error("auth-jwks needs at least one auth-issuer")]
    NoIssuer,
    /// `auth-issuer` without `auth-jwks` (whose keys it would trust).
    #[error("auth-issuer needs auth-jwks (use [[issuers]] for issuers with their own keys)")]
    IssuerWithoutKeys,
    /// A malformed `[[issuers]]` table (`table`: its place in the file, from 1).
    #[error("[[issuers]] table {table}: {problem}")]
    Issuer {
        /// Its place in the file, from 1.
        table: usize,
        /// What is wrong.
        problem: String,
    },
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
    /// Two `[aliases]` entries share a name.
    #[error("invalid setting: {0}")]
    Aliases(AmbiguousAlias),
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

/// The Subresource Integrity hash of [`DEFAULT_IGV_JS`] (`dist/igv.min.js` of the npm package
/// igv 3.8.10, which the CDN serves as it is).
pub const DEFAULT_IGV_JS_INTEGRITY: &str =
    "sha384-b/GRD1DJ3Dgldpe6xYBLC9PzuduzTcS8Mm+lklLhsxW/fSCZgZnEyZib80jgh1li";

settings! {
    /// The server's settings.
    pub struct Config, flags ConfigArgs {
        /// The data root: `/reads/{id}` serves `<DIR>/{id}.bam` or `.cram`, `/variants/{id}`
        /// serves `<DIR>/{id}.vcf.gz` or `.bcf`, each with its index beside it.
        /// `s3://BUCKET[/PREFIX]` (also `gs://`, `az://`) serves objects of a bucket, with the
        /// standard environment variables for the connection (`AWS_ACCESS_KEY_ID`,
        /// `AWS_ENDPOINT_URL`, ...). Without it, a built-in demo dataset is served.
        #[setting("data", "HTSGET_DATA", PathBuf, value_name = "DIR|URL")]
        pub data: Option<PathBuf> = None,

        /// The address to listen on [default: 127.0.0.1:8080].
        #[setting("bind", "HTSGET_BIND", SocketAddr, value_name = "ADDR:PORT")]
        pub bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)),

        /// The base of the URLs in tickets [default: http://ADDR:PORT of --bind].
        #[setting("public-url", "HTSGET_PUBLIC_URL", String, value_name = "URL")]
        pub public_url: Option<String> = None,

        /// The largest POST body accepted, in bytes [default: 65536].
        #[setting("max-post-bytes", "HTSGET_MAX_POST_BYTES", u64, value_name = "BYTES")]
        pub max_post_bytes: u64 = 64 << 10,

        /// The most regions one POST may ask for [default: 1024].
        #[setting("max-regions", "HTSGET_MAX_REGIONS", usize, value_name = "N")]
        pub max_regions: usize = 1024,

        /// The longest request target (path and query) accepted, in bytes [default: 8192].
        #[setting("max-url-bytes", "HTSGET_MAX_URL_BYTES", usize, value_name = "BYTES")]
        pub max_url_bytes: usize = 8 << 10,

        /// The most bytes of request line and headers buffered per request (at least 8192)
        /// [default: 65536].
        #[setting("max-header-bytes", "HTSGET_MAX_HEADER_BYTES", usize, value_name = "BYTES")]
        pub max_header_bytes: usize = 64 << 10,

        /// Seconds a client may take to send a request's headers, and may stay idle between
        /// requests on a kept-alive connection [default: 10].
        #[setting("header-timeout", "HTSGET_HEADER_TIMEOUT", Seconds, value_name = "SECONDS")]
        pub header_timeout: Duration = Duration::from_secs(10),

        /// Seconds a client may leave a response unread before its connection is closed
        /// [default: 60].
        #[setting("write-timeout", "HTSGET_WRITE_TIMEOUT", Seconds, value_name = "SECONDS")]
        pub write_timeout: Duration = Duration::from_secs(60),

        /// The most connections served at once; more wait to be accepted [default: 1024].
        #[setting("max-connections", "HTSGET_MAX_CONNECTIONS", usize, value_name = "N")]
        pub max_connections: usize = 1024,

        /// Memory for parsed indexes and headers kept between requests, in MiB [default: 512].
        #[setting("cache-mb", "HTSGET_CACHE_MB", u64, value_name = "MIB")]
        pub cache_mb: u64 = 512,

        /// Serve files reached through symbolic links that lead outside the data root.
        #[setting("follow-symlinks", "HTSGET_FOLLOW_SYMLINKS", bool, value_name = "BOOL",
                  num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub follow_symlinks: bool = false,

        /// Serve `/metrics` (and `/healthz`, `/readyz`) on this address only, not on `--bind`.
        #[setting("metrics-bind", "HTSGET_METRICS_BIND", SocketAddr, value_name = "ADDR:PORT")]
        pub metrics_bind: Option<SocketAddr> = None,

        /// The most connections the `--metrics-bind` listener serves at once; more wait to be
        /// accepted [default: 16].
        #[setting("metrics-max-connections", "HTSGET_METRICS_MAX_CONNECTIONS", usize, value_name = "N")]
        pub metrics_max_connections: usize = 16,

        /// Log lines as `text` or `json` (one object per line), read at start only
        /// [default: text].
        #[setting("log-format", "HTSGET_LOG_FORMAT", LogFormat, value_enum, value_name = "FORMAT")]
        pub log_format: LogFormat = LogFormat::Text,

        /// Where the `/viewer` page loads igv.js from [default: a pinned jsDelivr URL].
        #[setting("igv-js", "HTSGET_IGV_JS", String, value_name = "URL")]
        pub igv_js: String = DEFAULT_IGV_JS.to_owned(),

        /// The Subresource Integrity hash the page requires of igv.js (`sha384-...`) [default:
        /// the pinned hash of the default URL's file; none for another URL].
        #[setting("igv-js-integrity", "HTSGET_IGV_JS_INTEGRITY", String, value_name = "HASH")]
        pub igv_js_integrity: Option<String> = None,

        /// The server's Crypt4GH secret key file: files stored as `ID.bam.c4gh` (and
        /// `.cram.c4gh`, `.vcf.gz.c4gh`, `.bcf.c4gh`, indexes plain or `.c4gh`) are served to
        /// clients asking with `encryptionScheme=C4GH`, re-encrypted for their key. A locked
        /// key's passphrase comes from `C4GH_PASSPHRASE`.
        #[setting("c4gh-key", "HTSGET_C4GH_KEY", PathBuf, value_name = "PATH")]
        pub c4gh_key: Option<PathBuf> = None,

        /// Crypt4GH tickets pass the stored segments through and re-wrap the file's own data key
        /// for the client (who could then open every segment of the file), instead of
        /// re-keying; the only way with `--urls direct`. Per root: `c4gh-passthrough` in
        /// `[[roots]]`.
        #[setting("c4gh-passthrough", "HTSGET_C4GH_PASSTHROUGH", bool, value_name = "BOOL",
                  num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub c4gh_passthrough: bool = false,

        /// Answer a `referenceName` exactly as the file spells it: no `chr` prefix added or
        /// removed, no `M`/`MT`/`chrM`/`chrMT` equivalence (the file's `[aliases]` still apply).
        #[setting("no-aliases", "HTSGET_NO_ALIASES", bool, value_name = "BOOL",
                  num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub no_aliases: bool = false,

        /// FASTA files (a file, or a folder searched) holding the reference sequences CRAM
        /// records are re-encoded against when a grant restricted to regions needs an exact
        /// CRAM payload, found by the `M5` of the header's `@SQ` lines; the local data roots
        /// are searched too. One that does not exist refuses the start (or the reload).
        #[setting("reference", "HTSGET_REFERENCE", PathBuf, value_name = "PATH")]
        pub reference: Option<PathBuf> = None,
    }
    also {
        /// Object-store settings: URL mode, revalidation, timeouts.
        pub store: StoreSettings = StoreSettings::default(),
        /// More data roots, each under an id prefix (the file's `[[roots]]`).
        pub roots: Vec<RootConfig> = Vec::new(),
        /// Access control: token keys, issuers, rules, data-URL signing.
        pub access: AccessSettings = AccessSettings::default(),
        /// TLS; `None` serves plain http.
        pub tls: Option<TlsSettings> = None,
        /// What service-info says.
        pub service: ServiceConfig = ServiceConfig::default(),
        /// Reference names made equivalent (the file's `[aliases]`: each key and its names).
        pub aliases: BTreeMap<String, Vec<String>> = BTreeMap::new(),
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

    /// The reference-name equivalences: the built-in ones (unless `no-aliases`) and the
    /// file's `[aliases]`.
    ///
    /// # Errors
    ///
    /// A name given in two `[aliases]` entries.
    pub fn aliases(&self) -> Result<Aliases, AmbiguousAlias> {
        let base = if self.no_aliases {
            Aliases::none()
        } else {
            Aliases::builtin()
        };
        base.with_table(&self.aliases)
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
            ("metrics-max-connections", self.metrics_max_connections == 0),
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
        self.aliases().map_err(ConfigError::Aliases)?;

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

        let config = Self {
            store: StoreSettings {
                options: file.store_options.unwrap_or_default(),
                ..StoreSettings::from_args(cli.store.over(file.store))
            },
            roots: file.roots.unwrap_or_default(),
            access: AccessSettings {
                rules: file.rules.unwrap_or_default(),
                issuer_tables: file.issuers.unwrap_or_default(),
                ..AccessSettings::from_args(cli.access.over(file.access))
            },
            tls: TlsFiles::from_args(cli.tls.over(file.tls)).pair()?,
            service: file.service.unwrap_or_default(),
            aliases: file.aliases.unwrap_or_default(),
            ..Self::from_args(cli.settings.over(file.settings))
        };

        config.validate()?;
        Ok(config)
    }
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
    fn test_from_cli_with_issuer_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let parse = |text: &str, flags: &[&str]| {
            std::fs::write(&path, text).unwrap();
            let config = path.to_str().unwrap();
            let cli = Cli::parse_from(["htsget-server", "--config", config].iter().chain(flags));
            Config::from_cli(cli)
        };
        let aai_table = "[[issuers]]\niss = \"https://aai.example\"\n";
        let rems = "[[issuers]]\niss = \"https://rems.example\"\njwks = \"/keys/rems.json\"\n\
                    issues = [\"visas\"]\njku = [\"https://rems.example/jwks\"]\n";
        let rule = "[[access]]\nids = \"x/*\"\nresearcher = [\"r\"]\nterms = [\"t\"]\n";

        // Issuer tables alone turn access control on; an issuer signs access tokens by default.
        let on = parse(&format!("{aai_table}{rems}{rule}"), &[]).unwrap();
        assert!(on.access.is_on());
        let [aai, rems] = &on.access.issuer_tables[..] else {
            panic!("two issuers")
        };
        assert!(aai.signs_access() && !aai.signs_visas() && aai.jwks.is_none());
        assert!(rems.signs_visas() && !rems.signs_access());
        assert_eq!(rems.jku, ["https://rems.example/jwks"]);
        assert_eq!(on.access.rules[0].researcher, ["r"]);
        // With the shorthand too.
        let both = parse(
            aai_table,
            &["--auth-jwks", "/k.json", "--auth-issuer", "https://b"],
        );
        assert!(both.unwrap().access.is_on());

        let refused = [
            "[[issuers]]\niss = \"\"\njwks = \"/k\"\n",
            "[[issuers]]\niss = \"http://aai.example\"\n",
            "[[issuers]]\niss = \"https://a\"\njwks = \"http://a/jwks\"\n",
            "[[issuers]]\niss = \"https://a\"\nuserinfo = \"http://a/userinfo\"\n",
            "[[issuers]]\niss = \"https://a\"\nissues = [\"visas\"]\njku = [\"http://a/jwks\"]\n",
            "[[issuers]]\niss = \"https://a\"\njku = [\"https://a/jwks\"]\n",
            "[[issuers]]\niss = \"https://a\"\nissues = []\n",
            "[[issuers]]\niss = \"https://a\"\n[[issuers]]\niss = \"https://a\"\n",
        ];
        for text in refused {
            assert!(
                matches!(
                    parse(text, &[]),
                    Err(ConfigError::Access(AccessProblem::Issuer { .. }))
                ),
                "{text}"
            );
        }
        // Unknown keys and kinds are refused by the file's parser.
        assert!(parse("[[issuers]]\niss = \"https://a\"\nkeys = \"x\"\n", &[]).is_err());
        assert!(parse("[[issuers]]\niss = \"https://a\"\nissues = [\"id\"]\n", &[]).is_err());
        // The same iss from the shorthand and a table; auth-issuer without auth-jwks.
        assert!(matches!(
            parse(
                aai_table,
                &[
                    "--auth-jwks",
                    "/k.json",
                    "--auth-issuer",
                    "https://aai.example"
                ]
            ),
            Err(ConfigError::Access(AccessProblem::Issuer { .. }))
        ));
        assert!(matches!(
            parse(aai_table, &["--auth-issuer", "https://b"]),
            Err(ConfigError::Access(AccessProblem::IssuerWithoutKeys))
        ));
    }

    #[test]
    fn test_cli_with_one_name_per_setting() {
        use clap::CommandFactory;

        let command = Cli::command();
        let file_keys = [
            ConfigArgs::KEYS,
            StoreArgs::KEYS,
            AccessArgs::KEYS,
            TlsArgs::KEYS,
        ]
        .concat();
        let mut flags = Vec::new();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if ["help", "version"].contains(&long) {
                continue;
            }
            let env = format!("HTSGET_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(&*env),
                "{long}"
            );
            flags.push(long);
        }
        // Every flag but --config is a key of the file, and the reverse.
        assert_eq!(flags[0], "config");
        assert_eq!(flags[1..], file_keys);
        assert_eq!(file_keys.len(), 33);
    }

    #[test]
    fn test_from_cli_with_every_file_key_as_flag_gives_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let pairs = [
            ("data", "/srv"),
            ("max-regions", "9"),
            ("header-timeout", "3"),
            ("follow-symlinks", "true"),
            ("log-format", "json"),
            ("c4gh-passthrough", "true"),
            ("urls", "direct"),
            ("revalidate", "0"),
            ("store-timeout", "4"),
            ("auth-jwks", "/k.json"),
            ("auth-issuer", "https://a"),
            ("url-ttl", "5"),
            ("tls-cert", "c.pem"),
            ("tls-key", "k.pem"),
            ("reference", "/refs"),
        ];
        let toml: String = pairs
            .iter()
            .map(|(key, value)| match value.parse::<u64>() {
                Ok(_) => format!("{key} = {value}\n"),
                Err(_) if *value == "true" => format!("{key} = true\n"),
                Err(_) => format!("{key} = {value:?}\n"),
            })
            .collect();
        std::fs::write(&path, toml).unwrap();
        let filed = Config::from_cli(Cli::parse_from([
            "htsget-server",
            "--config",
            path.to_str().unwrap(),
        ]))
        .unwrap();
        let flags = pairs.iter().map(|(key, value)| match *value {
            "true" => format!("--{key}"),
            _ => format!("--{key}={value}"),
        });
        let flagged = Config::from_cli(Cli::parse_from(
            std::iter::once("htsget-server".into()).chain(flags),
        ))
        .unwrap();
        assert_eq!(filed, flagged);
        assert_ne!(filed, Config::default());
        assert!(filed.follow_symlinks && filed.c4gh_passthrough);
        assert_eq!(filed.store.revalidate, Some(Duration::ZERO));
        assert_eq!(filed.header_timeout, Duration::from_secs(3));
    }

    #[test]
    fn test_from_cli_with_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let parse = |toml: &str, flags: &[&str]| {
            std::fs::write(&path, toml).unwrap();
            let config = path.to_str().unwrap();
            let cli = Cli::parse_from(["htsget-server", "--config", config].iter().chain(flags));
            Config::from_cli(cli)
        };
        let config = parse("[aliases]\n\"NC_000011.9\" = [\"11\", \"chr11\"]\n", &[]).unwrap();
        let aliases = config.aliases().unwrap();
        assert!(aliases.equivalents("NC_000011.9").contains("chr11"));
        assert!(aliases.equivalents("chr1").contains("1"), "built in");
        let exact = parse("no-aliases = true\n", &[])
            .unwrap()
            .aliases()
            .unwrap();
        assert!(exact.equivalents("chr1").is_empty());
        assert!(parse("", &["--no-aliases"]).unwrap().no_aliases);
        assert!(matches!(
            parse("[aliases]\na = [\"x\"]\nb = [\"x\"]\n", &[]),
            Err(ConfigError::Aliases(_))
        ));
    }

    #[test]
    fn test_from_cli_with_bad_public_url() {
        let cli = Cli::parse_from(["htsget-server", "--public-url", "ftp://x"]);
        assert!(Config::from_cli(cli).is_err());
    }
}
