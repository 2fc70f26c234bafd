//! Why a token is refused: one name per reason, for the 401's challenge, logs and metrics.

use jsonwebtoken::errors::ErrorKind;

/// Why a token is refused (never echoing the token).
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token was sent")]
    Missing,
    /// Longer than the tokens accepted (32 KiB).
    #[error("the token is too long")]
    Oversized,
    /// Not three base64url parts of JSON, or a header naming an unknown algorithm (`none`).
    #[error("the token is malformed")]
    Malformed,
    /// No `kid`, or one no trusted key has.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// `alg` is not the algorithm of the key `kid` names (HMAC, or another family).
    #[error("the token's algorithm does not match its key")]
    Algorithm,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` missing or not trusted.
    #[error("the token's issuer is not trusted")]
    Issuer,
    /// `aud` missing or not this service.
    #[error("the token's audience is not this service")]
    Audience,
    /// A required claim is missing or malformed.
    #[error("the token's claims are malformed")]
    Claims,
    /// A visa (typed `vnd.ga4gh.visa+jwt`, or holding `ga4gh_visa_v1`), or a token of an
    /// issuer of visas only, sent as the bearer token: a visa is never an access token.
    #[error("a visa is not an access token")]
    NotAccessToken,
    /// A visa naming a `jku` its issuer's list does not allow.
    #[error("the visa's jku is not allowed for its issuer")]
    Jku,
    /// The issuer's userinfo endpoint refused the token, or answered about another subject.
    #[error("the issuer's userinfo endpoint does not vouch for the token")]
    Userinfo,
    /// The issuer's keys or userinfo endpoint cannot be had now (503, retry later).
    #[error("the token's issuer cannot be reached now")]
    Unavailable,
}

impl Refusal {
    /// A short name for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "no-token",
            Self::Oversized => "oversized",
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown-key",
            Self::Algorithm => "algorithm",
            Self::Signature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Claims => "claims",
            Self::NotAccessToken => "visa-as-token",
            Self::Jku => "jku",
            Self::Userinfo => "userinfo-refused",
            Self::Unavailable => "issuer-unavailable",
        }
    }

    /// The refusal of a token jsonwebtoken rejected with `error`.
    pub(crate) fn of(error: &jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => Self::Signature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::Issuer,
            ErrorKind::InvalidAudience => Self::Audience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Self::Algorithm,
            ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Self::Issuer,
            ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => Self::Audience,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => Self::Claims,
            _ => Self::Malformed,
        }
    }
}
