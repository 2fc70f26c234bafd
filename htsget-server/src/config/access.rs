//! Settings for controlled access: where token keys come from, which issuers and audience are
//! trusted, the `[[access]]` rules, data-URL signing, and TLS.

use std::{path::PathBuf, time::Duration};

use clap::Args;
use serde::Deserialize;

/// The command-line flags of these settings.
#[derive(Debug, Default, Args)]
pub struct AccessArgs {
    /// Turns access control on: the JWKS that holds the keys of trusted token and visa issuers,
    /// a file or an `https://` URL (re-read on an unknown `kid`, at most every few seconds, and
    /// every 5 minutes).
    #[arg(long, value_name = "PATH|URL", env = "HTSGET_AUTH_JWKS")]
    pub auth_jwks: Option<String>,

    /// A trusted issuer (`iss`) of access tokens, passports and visas; repeatable.
    #[arg(long = "auth-issuer", value_name = "ISS", env = "HTSGET_AUTH_ISSUER")]
    pub auth_issuer: Vec<String>,

    /// The audience (`aud`) tokens must name; without it `aud` is not checked.
    #[arg(long, value_name = "AUD", env = "HTSGET_AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,

    /// A claim of plain access tokens that lists granted datasets (an array of strings, or a
    /// space-separated string), for deployments without a passport broker.
    #[arg(long, value_name = "CLAIM", env = "HTSGET_AUTH_GRANTS_CLAIM")]
    pub auth_grants_claim: Option<String>,

    /// Seconds a ticket's signed data URLs stay valid (with access control on) [default: 900].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_URL_TTL")]
    pub url_ttl: Option<u64>,

    /// The file holding the key that signs data URLs (at least 32 bytes; replicas behind one
    /// load balancer share it) [default: a key generated at start].
    #[arg(long, value_name = "FILE", env = "HTSGET_URL_KEY")]
    pub url_key: Option<PathBuf>,

    /// Serve https with this certificate chain (PEM); needs `--tls-key`.
    #[arg(long, value_name = "PEM", env = "HTSGET_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", env = "HTSGET_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// One `[[access]]` rule of the file: the ids it covers and who may read them.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleConfig {
    /// Glob patterns of ids: `*` within one `/`-separated segment, `**` across segments.
    pub ids: OneOrMany,
    /// Grants (ControlledAccessGrants visa values, or grants-claim entries); any one admits.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Readable without a token.
    #[serde(default)]
    pub public: bool,
    /// Restricts what the rule admits to these references or regions: `chr1`, or
    /// `chr1:START-END` in htsget coordinates (0-based start, exclusive end); `*` is the
    /// unplaced reads. A query reaching outside them is refused.
    pub regions: Option<Vec<String>>,
}

/// A string, or an array of strings.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl OneOrMany {
    /// The strings.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// The access settings as a TOML file gives them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AccessFile {
    pub(super) auth_jwks: Option<String>,
    pub(super) auth_issuer: Option<OneOrMany>,
    pub(super) auth_audience: Option<String>,
    pub(super) auth_grants_claim: Option<String>,
    pub(super) url_ttl: Option<u64>,
    pub(super) url_key: Option<PathBuf>,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
}

/// The access settings, resolved.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AccessSettings {
    /// The JWKS file or URL; `None`: access control off (everything readable, as without
    /// rules).
    pub jwks: Option<String>,
    /// Trusted issuers of tokens and visas.
    pub issuers: Vec<String>,
    /// The audience tokens must name.
    pub audience: Option<String>,
    /// A claim of access tokens listing grants.
    pub grants_claim: Option<String>,
    /// How long signed data URLs stay valid.
    pub url_ttl: Duration,
    /// The data-URL signing key's file; `None`: generated at start.
    pub url_key: Option<PathBuf>,
    /// The rules, in file order.
    pub rules: Vec<RuleConfig>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            jwks: None,
            issuers: Vec::new(),
            audience: None,
            grants_claim: None,
            url_ttl: Duration::from_secs(900),
            url_key: None,
            rules: Vec::new(),
        }
    }
}

/// TLS: the certificate chain and key files.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TlsSettings {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// The private key, PEM.
    pub key: PathBuf,
}

impl AccessSettings {
    /// The flags' values, else the file's, else the defaults; `rules` from the file.
    pub(super) fn merge(args: &AccessArgs, file: &AccessFile, rules: Vec<RuleConfig>) -> Self {
        let issuers = if args.auth_issuer.is_empty() {
            file.auth_issuer
                .as_ref()
                .map(|i| i.as_slice().to_vec())
                .unwrap_or_default()
        } else {
            args.auth_issuer.clone()
        };
        Self {
            jwks: args.auth_jwks.clone().or_else(|| file.auth_jwks.clone()),
            issuers,
            audience: args
                .auth_audience
                .clone()
                .or_else(|| file.auth_audience.clone()),
            grants_claim: args
                .auth_grants_claim
                .clone()
                .or_else(|| file.auth_grants_claim.clone()),
            url_ttl: args
                .url_ttl
                .or(file.url_ttl)
                .map_or(Self::default().url_ttl, Duration::from_secs),
            url_key: args.url_key.clone().or_else(|| file.url_key.clone()),
            rules,
        }
    }

    /// Whether access control is on.
    pub fn is_on(&self) -> bool {
        self.jwks.is_some()
    }
}

impl TlsSettings {
    /// The flags' files, else the file's: both or neither (`Err` names the one missing).
    pub(super) fn merge(
        args: &AccessArgs,
        file: &AccessFile,
    ) -> Result<Option<Self>, &'static str> {
        let cert = args.tls_cert.clone().or_else(|| file.tls_cert.clone());
        let key = args.tls_key.clone().or_else(|| file.tls_key.clone());
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(Self { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err("tls-key"),
            (None, Some(_)) => Err("tls-cert"),
        }
    }
}

impl AccessSettings {
    /// Checks the settings hang together (the rules themselves are compiled by access control
    /// when it starts).
    pub(super) fn validate(&self) -> Result<(), super::ConfigError> {
        let refuse = |problem| Err(super::ConfigError::Access(problem));
        if !self.is_on() {
            if !self.rules.is_empty() {
                return refuse(super::AccessProblem::RulesWithoutKeys);
            }
            return Ok(());
        }
        if self.issuers.is_empty() {
            return refuse(super::AccessProblem::NoIssuer);
        }
        Ok(())
    }
}
