//! Bearer tokens: checked once against the trusted keys, issuers and audience, their grants
//! gathered (passport visas, or a grants claim), and the verdict cached until the token, or the
//! earliest visa it relies on, expires. The cache is keyed by the SHA-256 of the token's
//! signature (short, and unique to it), and a hit must match the whole token.

use std::{collections::BTreeSet, sync::Arc};

use jsonwebtoken::{Validation, errors::ErrorKind};
use quick_cache::sync::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{keys::KeySet, passport};

/// The longest bearer token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 32 << 10;

/// Seconds of clock skew forgiven on `exp` and `nbf`.
pub const LEEWAY: u64 = 30;

/// Cached verdicts, about.
const CACHE_ENTRIES: usize = 16 << 10;

/// The memory cached verdicts may take, in bytes (tokens weigh their length).
const CACHE_BYTES: u64 = 64 << 20;

/// A cached verdict and the token it is for.
#[derive(Clone, Debug)]
struct Cached {
    token: Arc<str>,
    caller: Arc<Caller>,
}

/// Weighs a cached verdict by its token's length, plus an allowance for the rest.
#[derive(Clone, Debug)]
struct Weighter;

impl quick_cache::Weighter<[u8; 32], Cached> for Weighter {
    fn weight(&self, _: &[u8; 32], cached: &Cached) -> u64 {
        cached.token.len() as u64 + 512
    }
}

/// Who a valid token speaks for, and what it grants.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Caller {
    /// The token's `sub` (`-` when it has none).
    pub subject: String,
    /// The datasets granted: ControlledAccessGrants visa values and grants-claim entries.
    pub grants: BTreeSet<String>,
    /// When this verdict ends (Unix seconds): the token's `exp`, or an earlier visa's.
    pub expires: u64,
}

/// Why a token is refused (never echoing the token).
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token was sent")]
    Missing,
    /// Longer than [`MAX_TOKEN_BYTES`].
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
    /// A visa (typed `vnd.ga4gh.visa+jwt`, or holding `ga4gh_visa_v1`) sent as the bearer
    /// token: a visa is never an access token.
    #[error("a visa is not an access token")]
    NotAccessToken,
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
        }
    }

    fn of(error: &jsonwebtoken::errors::Error) -> Self {
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

/// Checks tokens.
#[derive(Debug)]
pub struct Verifier {
    keys: KeySet,
    issuers: Vec<String>,
    audience: Option<String>,
    grants_claim: Option<String>,
    cache: Cache<[u8; 32], Cached, Weighter>,
}

impl Verifier {
    /// A verifier trusting the keys of `keys`, tokens and visas of `issuers`, tokens for
    /// `audience` (if set), and grants listed in `grants_claim` (if set).
    pub(crate) fn new(
        keys: KeySet,
        issuers: Vec<String>,
        audience: Option<String>,
        grants_claim: Option<String>,
    ) -> Self {
        Self {
            keys,
            issuers,
            audience,
            grants_claim,
            cache: Cache::with_weighter(CACHE_ENTRIES, CACHE_BYTES, Weighter),
        }
    }

    /// The number of trusted keys loaded.
    pub fn keys_loaded(&self) -> usize {
        self.keys.len()
    }

    /// Who `token` speaks for, checked (or from the cache, while the verdict lasts).
    pub async fn verify(&self, token: &str) -> Result<Arc<Caller>, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Oversized);
        }
        let signature = token.rsplit('.').next().unwrap_or(token);
        let hash: [u8; 32] = Sha256::digest(signature.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(cached) = self.cache.get(&hash)
            && *cached.token == *token
        {
            if now <= cached.caller.expires.saturating_add(LEEWAY) {
                return Ok(cached.caller);
            }
            self.cache.remove(&hash);
            return Err(Refusal::Expired);
        }

        let claims = self.check(token, true).await?;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            None => "-".to_owned(),
            Some(_) => return Err(Refusal::Claims),
        };
        let mut expires = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(Refusal::Claims)?;

        let mut grants = BTreeSet::new();
        if let Some(visas) = claims.get(passport::CLAIM) {
            let visas = visas.as_array().ok_or(Refusal::Claims)?;
            for jwt in passport::visa_jwts(visas) {
                match self.check(jwt, false).await {
                    Ok(visa) => {
                        if let Some(grant) = passport::grant_of(&visa) {
                            expires = expires.min(grant.expires);
                            grants.insert(grant.value);
                        }
                    }
                    Err(refusal) => tracing::debug!(reason = refusal.reason(), "ignoring a visa"),
                }
            }
        }
        if let Some(name) = &self.grants_claim {
            grants.extend(claim_grants(claims.get(name)));
        }

        let caller = Arc::new(Caller {
            subject,
            grants,
            expires,
        });
        let cached = Cached {
            token: token.into(),
            caller: Arc::clone(&caller),
        };
        self.cache.insert(hash, cached);
        Ok(caller)
    }

    /// Checks one JWT's signature and claims: the key its `kid` names among the trusted ones,
    /// `alg` that key's algorithm, `iss` trusted, `exp` required and `nbf` honoured (with
    /// [`LEEWAY`]), and, for tokens (not visas), `aud` when an audience is configured.
    pub(crate) async fn check(
        &self,
        jwt: &str,
        is_token: bool,
    ) -> Result<Map<String, Value>, Refusal> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| Refusal::Malformed)?;
        if is_token
            && header
                .typ
                .as_deref()
                .is_some_and(|typ| typ.eq_ignore_ascii_case(VISA_TYPE))
        {
            return Err(Refusal::NotAccessToken);
        }
        let kid = header.kid.as_deref().ok_or(Refusal::UnknownKey)?;
        let key = self.keys.find(kid).await.ok_or(Refusal::UnknownKey)?;
        if header.alg != key.algorithm {
            return Err(Refusal::Algorithm);
        }
        if key.algorithm == jsonwebtoken::Algorithm::ES256 && !low_s(jwt) {
            return Err(Refusal::Signature);
        }

        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.set_issuer(&self.issuers);
        let mut required = vec!["exp", "iss"];
        match (&self.audience, is_token) {
            (Some(audience), true) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            _ => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        let claims = jsonwebtoken::decode::<Map<String, Value>>(jwt, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| Refusal::of(&e))?;
        // `iss` is one string: an array naming a trusted issuer among others is not trusted.
        if !matches!(claims.get("iss"), Some(Value::String(_))) {
            return Err(Refusal::Issuer);
        }
        if is_token && claims.contains_key(passport::VISA_CLAIM) {
            return Err(Refusal::NotAccessToken);
        }
        Ok(claims)
    }
}

/// The JWT `typ` of GA4GH visas.
const VISA_TYPE: &str = "vnd.ga4gh.visa+jwt";

/// Half the order of P-256, big-endian: an ES256 signature's `s` above it is the malleable
/// twin of a valid one, refused (low-S, as canonical ECDSA requires).
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether an ES256 `jwt`'s signature (`r || s`, 64 bytes) has `s` at most half the curve's
/// order; a signature of another length is left to the verifier to refuse.
fn low_s(jwt: &str) -> bool {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let signature = jwt.rsplit('.').next().unwrap_or_default();
    match URL_SAFE_NO_PAD.decode(signature) {
        Ok(bytes) if bytes.len() == 64 => bytes[32..] <= P256_HALF_ORDER[..],
        _ => true,
    }
}

/// The grants a grants claim lists: an array of strings, or one space-separated string.
fn claim_grants(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The bearer token of an `Authorization` header value: `Bearer TOKEN` (scheme in any case).
pub fn bearer(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bearer() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(b"\xffBearer x"), None);
    }

    #[test]
    fn test_low_s() {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let jwt = |s: [u8; 32]| {
            let signature = [[1; 32], s].concat();
            format!("a.b.{}", URL_SAFE_NO_PAD.encode(signature))
        };
        assert!(low_s(&jwt(P256_HALF_ORDER)));
        assert!(low_s(&jwt([0; 32])));
        let mut above = P256_HALF_ORDER;
        above[31] += 1;
        assert!(!low_s(&jwt(above)));
        assert!(!low_s(&jwt([0xff; 32])));
        assert!(low_s("a.b.c"), "left to the verifier");
    }

    #[test]
    fn test_claim_grants() {
        let grants = |v: Value| claim_grants(Some(&v));
        assert_eq!(grants(Value::from("a b  c")), ["a", "b", "c"]);
        assert_eq!(grants(serde_json::json!(["a", 1, "", "b"])), ["a", "b"]);
        assert!(grants(serde_json::json!({"a": 1})).is_empty());
        assert!(claim_grants(None).is_empty());
    }
}
