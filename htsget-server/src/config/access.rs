//! Settings for controlled access: where token keys come from, which issuers and audience are
//! trusted, the `[[access]]` rules, data-URL signing, and TLS.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Deserializer};

use super::{
    AccessProblem, ConfigError,
    declare::{Seconds, settings},
};

settings! {
    /// The access settings, resolved.
    pub struct AccessSettings, flags AccessArgs {
        /// Turns access control on: the JWKS that holds the keys of trusted token and visa
        /// issuers, a file or an `https://` URL (re-read on an unknown `kid`, at most every few
        /// seconds, and every 5 minutes).
        #[setting("auth-jwks", "HTSGET_AUTH_JWKS", String, value_name = "PATH|URL")]
        pub jwks: Option<String> = None,

        /// A trusted issuer (`iss`) of access tokens, passports and visas; repeatable.
        #[setting("auth-issuer", "HTSGET_AUTH_ISSUER", Vec<String>, value_name = "ISS")]
        #[serde(deserialize_with = "one_or_many")]
        pub issuers: Vec<String> = Vec::new(),

        /// The audience (`aud`) tokens must name; without it `aud` is not checked.
        #[setting("auth-audience", "HTSGET_AUTH_AUDIENCE", String, value_name = "AUD")]
        pub audience: Option<String> = None,

        /// A claim of plain access tokens that lists granted datasets (an array of strings, or a
        /// space-separated string), for deployments without a passport broker.
        #[setting("auth-grants-claim", "HTSGET_AUTH_GRANTS_CLAIM", String, value_name = "CLAIM")]
        pub grants_claim: Option<String> = None,

        /// Seconds a ticket's signed data URLs stay valid (with access control on) [default: 900].
        #[setting("url-ttl", "HTSGET_URL_TTL", Seconds, value_name = "SECONDS")]
        pub url_ttl: Duration = Duration::from_secs(900),

        /// The file holding the key that signs data URLs (at least 32 bytes; replicas behind one
        /// load balancer share it) [default: a key generated at start].
        #[setting("url-key", "HTSGET_URL_KEY", PathBuf, value_name = "FILE")]
        pub url_key: Option<PathBuf> = None,
    }
    also {
        /// The rules, in file order (`[[access]]`).
        pub rules: Vec<RuleConfig> = Vec::new(),
        /// The token and visa issuers, each with its own keys (`[[issuers]]`).
        pub issuer_tables: Vec<IssuerConfig> = Vec::new(),
    }
}

settings! {
    /// The TLS files as given (the configuration checks there are both or neither).
    pub struct TlsFiles, flags TlsArgs {
        /// Serve https with this certificate chain (PEM); needs `--tls-key`.
        #[setting("tls-cert", "HTSGET_TLS_CERT", PathBuf, value_name = "PEM")]
        pub cert: Option<PathBuf> = None,

        /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
        #[setting("tls-key", "HTSGET_TLS_KEY", PathBuf, value_name = "PEM")]
        pub key: Option<PathBuf> = None,
    }
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
    /// Registered access: `ResearcherStatus` visa values, any one of which admits together
    /// with one of `terms` (both or neither).
    #[serde(default)]
    pub researcher: Vec<String>,
    /// Registered access: `AcceptedTermsAndPolicies` visa values, any one of which admits
    /// together with one of `researcher`.
    #[serde(default)]
    pub terms: Vec<String>,
}

/// One `[[issuers]]` table: an issuer of access tokens or visas (or both) and where its keys
/// come from. A key verifies only tokens of the issuer it was loaded for, of the kinds that
/// issuer may sign.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IssuerConfig {
    /// The issuer's `iss`.
    pub iss: String,
    /// Its JWKS: a file or an `https://` URL; absent: OpenID discovery at
    /// `{iss}/.well-known/openid-configuration` (`jwks_uri`).
    pub jwks: Option<String>,
    /// Its userinfo endpoint (`https://`), asked for the passport of access tokens that carry
    /// none; absent: discovery's `userinfo_endpoint`, when the issuer signs access tokens.
    pub userinfo: Option<String>,
    /// What it may sign [default: access tokens only].
    #[serde(default = "access_only")]
    pub issues: Vec<IssuedKind>,
    /// The `jku` URLs (`https://`) its visas may name for their keys.
    #[serde(default)]
    pub jku: Vec<String>,
}

/// What an issuer may sign.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum IssuedKind {
    /// Access tokens (and Passport JWTs).
    Access,
    /// Visas.
    Visas,
}

fn access_only() -> Vec<IssuedKind> {
    vec![IssuedKind::Access]
}

impl IssuerConfig {
    /// Whether it may sign access tokens.
    pub fn signs_access(&self) -> bool {
        self.issues.contains(&IssuedKind::Access)
    }

    /// Whether it may sign visas.
    pub fn signs_visas(&self) -> bool {
        self.issues.contains(&IssuedKind::Visas)
    }

    /// What is wrong with it, if anything.
    fn problem(&self) -> Option<String> {
        let https = |url: &str| url.starts_with("https://") && url.len() > "https://".len();
        if self.iss.is_empty() {
            return Some("iss is empty".to_owned());
        }
        if self.issues.is_empty() {
            return Some("issues is empty".to_owned());
        }
        if self.jwks.is_none() && !https(&self.iss) {
            return Some("without jwks, iss must be an https URL (for discovery)".to_owned());
        }
        if let Some(jwks) = &self.jwks
            && jwks.contains("://")
            && !https(jwks)
        {
            return Some("jwks must be a file or an https URL".to_owned());
        }
        if self.userinfo.as_deref().is_some_and(|url| !https(url)) {
            return Some("userinfo must be an https URL".to_owned());
        }
        if self.jku.iter().any(|url| !https(url)) {
            return Some("every jku must be an https URL".to_owned());
        }
        if !self.jku.is_empty() && !self.signs_visas() {
            return Some("jku is for issuers of visas".to_owned());
        }
        None
    }
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

/// A string or an array of strings, as a file may give a list with one member.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    OneOrMany::deserialize(deserializer).map(|strings| Some(strings.as_slice().to_vec()))
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

/// TLS: the certificate chain and key files.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TlsSettings {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// The private key, PEM.
    pub key: PathBuf,
}

impl AccessSettings {
    /// Whether access control is on.
    pub fn is_on(&self) -> bool {
        self.jwks.is_some() || !self.issuer_tables.is_empty()
    }

    /// Checks the settings hang together (the rules themselves are compiled by access control
    /// when it starts).
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let refuse = |problem| Err(ConfigError::Access(problem));
        if !self.is_on() {
            if !self.rules.is_empty() {
                return refuse(AccessProblem::RulesWithoutKeys);
            }
            return Ok(());
        }
        if self.jwks.is_some() && self.issuers.is_empty() {
            return refuse(AccessProblem::NoIssuer);
        }
        if self.jwks.is_none() && !self.issuers.is_empty() {
            return refuse(AccessProblem::IssuerWithoutKeys);
        }
        let mut seen: Vec<&str> = self.issuers.iter().map(String::as_str).collect();
        for (i, table) in self.issuer_tables.iter().enumerate() {
            if let Some(problem) = table.problem() {
                return refuse(AccessProblem::Issuer {
                    table: i + 1,
                    problem,
                });
            }
            if seen.contains(&table.iss.as_str()) {
                return refuse(AccessProblem::Issuer {
                    table: i + 1,
                    problem: format!("iss {:?} is given twice", table.iss),
                });
            }
            seen.push(&table.iss);
        }
        Ok(())
    }
}

impl TlsFiles {
    /// The certificate and its key, or neither.
    pub(super) fn pair(self) -> Result<Option<TlsSettings>, ConfigError> {
        let half = |missing| Err(ConfigError::Access(AccessProblem::TlsHalf { missing }));
        match (self.cert, self.key) {
            (Some(cert), Some(key)) => Ok(Some(TlsSettings { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => half("tls-key"),
            (None, Some(_)) => half("tls-cert"),
        }
    }
}
