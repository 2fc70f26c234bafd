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
        self.jwks.is_some()
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
        if self.issuers.is_empty() {
            return refuse(AccessProblem::NoIssuer);
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
