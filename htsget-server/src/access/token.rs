//! Bearer tokens: checked once against their issuer's keys and the audience, what they hold
//! gathered (passport visas, embedded or from the issuer's userinfo endpoint, and a grants
//! claim), and the verdict cached until the token, or the earliest visa it relies on, expires. The cache is keyed by the SHA-256 of the token's
//! signature (short, and unique to it), and a hit must match the whole token.

use std::sync::Arc;

use jsonwebtoken::Validation;
use quick_cache::sync::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use super::refusal::Refusal;
use super::{
    issuers::{Kind, Trust, Userinfo},
    passport::{self, Held, Via, Visa},
    userinfo::{self, UserinfoError},
};

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
    /// The token's own `exp` (`u64::MAX` for an opaque token): a verdict that ends before it
    /// (an earlier visa's, an opaque token's TTL) is checked again, not refused.
    token_expires: u64,
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
    /// What its passport and grants claim hold.
    pub held: Held,
    /// When this verdict ends (Unix seconds): the token's `exp`, or an earlier visa's.
    pub expires: u64,
}

/// Checks tokens.
#[derive(Debug)]
pub struct Verifier {
    trust: Trust,
    audience: Option<String>,
    grants_claim: Option<String>,
    cache: Cache<[u8; 32], Cached, Weighter>,
    /// Opaque tokens the userinfo endpoint refused, by hash, until when.
    refused: Cache<[u8; 32], u64>,
    userinfo_calls: tokio::sync::Semaphore,
}

impl Verifier {
    /// A verifier trusting the issuers of `trust`, tokens for `audience` (if set), and grants
    /// listed in `grants_claim` (if set).
    pub(crate) fn new(
        trust: Trust,
        audience: Option<String>,
        grants_claim: Option<String>,
    ) -> Self {
        Self {
            trust,
            audience,
            grants_claim,
            cache: Cache::with_weighter(CACHE_ENTRIES, CACHE_BYTES, Weighter),
            refused: Cache::new(4096),
            userinfo_calls: tokio::sync::Semaphore::new(USERINFO_CALLS),
        }
    }

    /// The number of trusted keys loaded.
    pub fn keys_loaded(&self) -> usize {
        self.trust.keys_loaded()
    }

    /// Who `token` speaks for, checked (or from the cache, while the verdict lasts). Callers
    /// with the same token while it is being checked wait for that check (so a token costs one
    /// userinfo request).
    pub async fn verify(&self, token: &str) -> Result<Arc<Caller>, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Oversized);
        }
        let signature = token.rsplit('.').next().unwrap_or(token);
        let hash: [u8; 32] = Sha256::digest(signature.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        let mut guard = None;
        // Twice at most: a verdict that ended before its token is dropped and checked again.
        for _ in 0..2 {
            match self.cache.get_value_or_guard_async(&hash).await {
                Ok(cached) if *cached.token == *token => {
                    if now <= cached.caller.expires.saturating_add(LEEWAY) {
                        return Ok(cached.caller);
                    }
                    self.cache.remove(&hash);
                    if now > cached.token_expires.saturating_add(LEEWAY) {
                        return Err(Refusal::Expired);
                    }
                }
                // Another token with this signature part: checked, not cached.
                Ok(_) => break,
                Err(placeholder) => {
                    guard = Some(placeholder);
                    break;
                }
            }
        }
        let (caller, token_expires) = self.caller(token).await?;
        let caller = Arc::new(caller);
        if let Some(guard) = guard {
            let cached = Cached {
                token: token.into(),
                caller: Arc::clone(&caller),
                token_expires,
            };
            let _ = guard.insert(cached);
        }
        Ok(caller)
    }

    /// Checks `token` and gathers what its passport (embedded, or from its issuer's userinfo
    /// endpoint) and grants claim hold; with the token's own expiry. A token without a `.` is
    /// opaque: see [`Self::opaque`].
    async fn caller(&self, token: &str) -> Result<(Caller, u64), Refusal> {
        if !token.contains('.') {
            return Ok((self.opaque(token).await?, u64::MAX));
        }
        let (claims, issuer, typ) = self.check(token, Kind::Access).await?;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            None => "-".to_owned(),
            Some(_) => return Err(Refusal::Claims),
        };
        let expires = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(Refusal::Claims)?;

        let fetched;
        let visas: &[Value] = match claims.get(passport::CLAIM) {
            Some(visas) => visas.as_array().ok_or(Refusal::Claims)?,
            // A Passport JWT is the passport; an access token without one has it at userinfo.
            None if !typ.eq_ignore_ascii_case(PASSPORT_TYPE) => {
                fetched = match self.trust.userinfo(&issuer).await {
                    Userinfo::At(url) => self.userinfo(&url, token, Some(&subject)).await?.1,
                    Userinfo::None => Vec::new(),
                    Userinfo::Unavailable => return Err(Refusal::Unavailable),
                };
                &fetched
            }
            None => &[],
        };

        let mut caller = self.gather(subject, expires, visas).await;
        if let Some(name) = &self.grants_claim {
            for grant in claim_grants(claims.get(name)) {
                caller.held.grants.entry(grant).or_insert_with(|| Via {
                    issuer: issuer.clone(),
                    kind: passport::GRANTS_CLAIM.to_owned(),
                });
            }
        }
        Ok((caller, expires))
    }

    /// Asks the userinfo endpoint `url` for the subject and passport of `token` (at most
    /// [`USERINFO_CALLS`] such requests at once).
    async fn userinfo(
        &self,
        url: &str,
        token: &str,
        subject: Option<&str>,
    ) -> Result<(String, Vec<Value>), Refusal> {
        let _permit = self
            .userinfo_calls
            .acquire()
            .await
            .map_err(|_| Refusal::Unavailable)?;
        userinfo::passport(self.trust.fetcher(), url, token, subject)
            .await
            .map_err(refusal_of)
    }

    /// An opaque token: vouched for by the userinfo endpoint of the one issuer of access
    /// tokens configured with one (`userinfo` in its `[[issuers]]` table), which names its
    /// subject and passport; the verdict lasts [`OPAQUE_TTL`] at most. Its audience cannot be
    /// checked, so with an audience configured it is refused; without such an issuer (or with
    /// several) it is malformed.
    async fn opaque(&self, token: &str) -> Result<Caller, Refusal> {
        if self.audience.is_some() {
            return Err(Refusal::Audience);
        }
        let url = self.trust.opaque_userinfo().ok_or(Refusal::Malformed)?;
        // A string the endpoint refused is not sent again for a while.
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if self.refused.get(&hash).is_some_and(|until| now < until) {
            return Err(Refusal::Userinfo);
        }
        let (subject, visas) = match self.userinfo(url, token, None).await {
            Err(Refusal::Userinfo) => {
                self.refused.insert(hash, now + REFUSED_TTL);
                return Err(Refusal::Userinfo);
            }
            other => other?,
        };
        Ok(self.gather(subject, now + OPAQUE_TTL, &visas).await)
    }

    /// The caller `subject` with what the verified ones of `visas` hold, its verdict ending at
    /// `expires` or the earliest visa it relies on.
    async fn gather(&self, subject: String, mut expires: u64, visas: &[Value]) -> Caller {
        let mut verified = Vec::new();
        let mut unreachable = false;
        for jwt in passport::visa_jwts(visas) {
            match self.check(jwt, Kind::Visa).await {
                Ok((visa, ..)) => match Visa::of(&visa) {
                    Some(visa) => verified.push(visa),
                    None => tracing::debug!("ignoring a malformed visa"),
                },
                Err(refusal) => {
                    unreachable |= refusal == Refusal::Unavailable;
                    tracing::debug!(reason = refusal.reason(), "ignoring a visa");
                }
            }
        }
        let (held, visas_expire) = passport::held(&verified);
        if let Some(at) = visas_expire {
            expires = expires.min(at);
        }
        // A visa whose issuer could not be reached is ignored for a short while only.
        if unreachable {
            expires = expires.min(jsonwebtoken::get_current_timestamp() + UNREACHABLE_TTL);
        }
        Caller {
            subject,
            held,
            expires,
        }
    }

    /// Checks one JWT of `kind`: its `iss` one trusted issuer's that may sign `kind`, the key
    /// its `kid` (and, for visas, `jku`) names among that issuer's, `alg` that key's algorithm,
    /// `exp` required and `nbf` honoured (with [`LEEWAY`]), and, for access tokens, `aud` when
    /// an audience is configured. Its claims, its issuer and its `typ`.
    pub(crate) async fn check(
        &self,
        jwt: &str,
        kind: Kind,
    ) -> Result<(Map<String, Value>, String, String), Refusal> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| Refusal::Malformed)?;
        let typ = header.typ.clone().unwrap_or_default();
        if kind == Kind::Access && typ.eq_ignore_ascii_case(VISA_TYPE) {
            return Err(Refusal::NotAccessToken);
        }
        let kid = header.kid.as_deref().ok_or(Refusal::UnknownKey)?;
        // Which issuer's keys to use; the signature then proves the claim.
        let unverified: Map<String, Value> =
            jsonwebtoken::dangerous::insecure_decode_claims(jwt).map_err(|_| Refusal::Malformed)?;
        // `iss` is one string: an array naming a trusted issuer among others is not trusted.
        let Some(Value::String(iss)) = unverified.get("iss") else {
            return Err(Refusal::Issuer);
        };
        let key = self
            .trust
            .key(iss, kind, kid, header.jku.as_deref())
            .await?;
        if header.alg != key.algorithm {
            return Err(Refusal::Algorithm);
        }
        if key.algorithm == jsonwebtoken::Algorithm::ES256 && !low_s(jwt) {
            return Err(Refusal::Signature);
        }

        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.set_issuer(&[iss]);
        let mut required = vec!["exp", "iss"];
        match (&self.audience, kind) {
            (Some(audience), Kind::Access) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            _ => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        let claims = jsonwebtoken::decode::<Map<String, Value>>(jwt, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| Refusal::of(&e))?;
        if claims.get("iss") != Some(&Value::String(iss.clone())) {
            return Err(Refusal::Issuer);
        }
        if kind == Kind::Access && claims.contains_key(passport::VISA_CLAIM) {
            return Err(Refusal::NotAccessToken);
        }
        Ok((claims, iss.clone(), typ))
    }
}

/// The refusal of a token its issuer's userinfo endpoint did not vouch for.
fn refusal_of(error: UserinfoError) -> Refusal {
    match error {
        UserinfoError::Unavailable => Refusal::Unavailable,
        UserinfoError::Refused | UserinfoError::OtherSubject => Refusal::Userinfo,
    }
}

/// The longest an opaque token's verdict is cached, in seconds (its expiry is not known).
pub const OPAQUE_TTL: u64 = 300;

/// How long an opaque token the userinfo endpoint refused is refused without asking, seconds.
pub const REFUSED_TTL: u64 = 60;

/// How long a verdict that ignored a visa whose issuer could not be reached lasts, seconds.
pub const UNREACHABLE_TTL: u64 = 30;

/// The most userinfo requests under way at once.
pub const USERINFO_CALLS: usize = 16;

/// The JWT `typ` of Passport JWTs (from token exchange).
const PASSPORT_TYPE: &str = "vnd.ga4gh.passport+jwt";

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
