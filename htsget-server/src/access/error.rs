//! Why access control cannot start: a malformed rule, or a key set that cannot be had.

use std::io;

use super::fetch::FetchError;

/// What is wrong with one `[[access]]` rule.
#[derive(Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// An `ids` pattern is empty.
    #[error("an empty ids pattern")]
    EmptyPattern,
    /// An `ids` pattern has an empty segment (`a//b`, a leading or trailing `/`).
    #[error("ids pattern {0:?} has an empty segment")]
    EmptySegment(String),
    /// `**` beside other characters in a segment.
    #[error("ids pattern {0:?}: `**` must be a whole segment")]
    PartialDoubleStar(String),
    /// `researcher` without `terms`, or the reverse.
    #[error("registered access needs both researcher and terms")]
    Registered,
    /// No `ids` at all.
    #[error("no ids")]
    NoIds,
    /// Neither grants, registered access nor `public = true`.
    #[error("give grants, researcher and terms, or public = true")]
    NoGrants,
    /// An empty string among the grants.
    #[error("an empty grant")]
    EmptyGrant,
    /// `regions = []`.
    #[error("regions is empty")]
    NoRegions,
    /// A region that is not `NAME` or `NAME:START-END`.
    #[error("region {0:?}: use NAME or NAME:START-END (0-based, end exclusive)")]
    Region(String),
}

/// Why the token keys cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The JWKS file cannot be read.
    #[error("cannot read the JWKS file: {0}")]
    Read(#[source] io::Error),
    /// The JWKS URL cannot be fetched (the error says why, without the URL).
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(#[from] FetchError),
    /// The key set is larger than allowed.
    #[error("the JWKS is larger than {0} bytes")]
    TooLarge(usize),
    /// The key set is not a JSON Web Key Set.
    #[error("the JWKS is not a JSON key set: {0}")]
    Malformed(#[source] serde_json::Error),
    /// No HTTP client for fetching it.
    #[error("cannot build an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Why access control cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// A rule is malformed (`rule`: its place in the file, from 1).
    #[error("[[access]] rule {rule}: {error}")]
    Rule {
        /// The rule's place in the file, from 1.
        rule: usize,
        /// What is wrong with it.
        error: RuleError,
    },
    /// The token keys cannot be had.
    #[error("{0}")]
    Keys(#[from] KeysError),
}
