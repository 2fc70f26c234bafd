//! The keys tokens and visas are checked with: a JWKS from a file or a URL, parsed
//! into one verifying key per `kid`, each bound to the one algorithm its type implies.
//! Re-read on an unknown `kid` (at most once per [`MIN_REFRESH`]) and when older than
//! [`MAX_AGE`], so keys rotate without a restart.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use super::{error::KeysError, fetch::Fetcher};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};

/// The least time between two reads of the key set.
pub(crate) const MIN_REFRESH: Duration = Duration::from_secs(2);

/// How long a key set is used before it is read again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);

/// The largest JWKS accepted, in bytes.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// One verifying key and the algorithm it admits.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Where the JWKS comes from.
#[derive(Debug)]
enum Source {
    File(std::path::PathBuf),
    Url {
        url: String,
        fetcher: Arc<Fetcher>,
        https_only: bool,
    },
}

type KeyMap = HashMap<String, Arc<Key>>;

/// A key set, refreshed from its source.
#[derive(Debug)]
pub(crate) struct KeySet {
    source: Source,
    keys: RwLock<(Arc<KeyMap>, Instant)>,
    /// When the source was last read (successfully or not); one refresh at a time.
    refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl KeySet {
    /// The key set of `source` (a path, or an `http(s)://` URL fetched by `fetcher`, https
    /// only when `https_only`), read once now. A file that cannot be read or parsed is an
    /// error; a URL that cannot be fetched yet is retried on demand (the error is logged).
    pub(crate) async fn open(
        source: &str,
        fetcher: &Arc<Fetcher>,
        https_only: bool,
    ) -> Result<Self, KeysError> {
        let source = if source.starts_with("https://") || source.starts_with("http://") {
            Source::Url {
                url: source.to_owned(),
                fetcher: Arc::clone(fetcher),
                https_only,
            }
        } else {
            Source::File(source.into())
        };
        let set = Self {
            source,
            keys: RwLock::new((Arc::new(HashMap::new()), Instant::now())),
            refresh: tokio::sync::Mutex::new(None),
        };
        match set.read().await {
            Ok(keys) => set.store(keys),
            Err(e) if matches!(set.source, Source::Url { .. }) => {
                tracing::warn!(error = %e, "a JWKS cannot be fetched yet; retrying on demand");
                *set.refresh.lock().await = Some(Instant::now());
            }
            Err(e) => return Err(e),
        }
        Ok(set)
    }

    /// The key set at `url` (https only), read when a key is first looked for.
    pub(crate) fn on_demand(url: &str, fetcher: &Arc<Fetcher>) -> Self {
        Self {
            source: Source::Url {
                url: url.to_owned(),
                fetcher: Arc::clone(fetcher),
                https_only: true,
            },
            keys: RwLock::new((Arc::new(HashMap::new()), Instant::now())),
            refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// How many keys are loaded.
    pub(crate) fn len(&self) -> usize {
        self.keys.read().expect("not poisoned").0.len()
    }

    /// The key `kid` names: from the set in hand, or, when it is unknown or the set is old,
    /// after reading the source again (rate-limited).
    pub(crate) async fn find(&self, kid: &str) -> Option<Arc<Key>> {
        let (keys, loaded) = {
            let guard = self.keys.read().expect("not poisoned");
            (Arc::clone(&guard.0), guard.1)
        };
        let found = keys.get(kid).cloned();
        if found.is_some() && loaded.elapsed() < MAX_AGE {
            return found;
        }
        if found.is_some() {
            // Old keys: read again unless another caller is at it; the key in hand answers.
            if let Ok(last) = self.refresh.try_lock() {
                self.refresh_with(last).await;
            }
            return self.get(kid).or(found);
        }
        self.refresh_with(self.refresh.lock().await).await;
        self.get(kid)
    }

    fn get(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.read().expect("not poisoned").0.get(kid).cloned()
    }

    /// Reads the source again unless its last read ended within [`MIN_REFRESH`] (timed from
    /// the end, so callers queued behind a slow read do not read again); on failure the keys
    /// in hand stay.
    async fn refresh_with(&self, mut last: tokio::sync::MutexGuard<'_, Option<Instant>>) {
        if last.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return;
        }
        let read = self.read().await;
        *last = Some(Instant::now());
        match read {
            Ok(keys) => self.store(keys),
            Err(e) => {
                tracing::warn!(error = %e, "cannot refresh a JWKS; keeping the keys in hand")
            }
        }
    }

    fn store(&self, keys: KeyMap) {
        *self.keys.write().expect("not poisoned") = (Arc::new(keys), Instant::now());
    }

    async fn read(&self) -> Result<KeyMap, KeysError> {
        let bytes = match &self.source {
            Source::File(path) => {
                let path = path.clone();
                crate::blocking::blocking(move || std::fs::read(&path))
                    .await
                    .map_err(KeysError::Read)?
            }
            Source::Url {
                url,
                fetcher,
                https_only,
            } => fetcher.get(url, None, MAX_JWKS_BYTES, *https_only).await?,
        };
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(KeysError::TooLarge(MAX_JWKS_BYTES));
        }
        parse(&bytes)
    }
}

/// Parses a JWKS: `{"keys": [...]}`. Keys that are not for signatures, have no `kid`, are of
/// another algorithm than RS256, ES256 (P-256) or EdDSA (Ed25519), are symmetric, are RSA
/// keys under 2048 bits, or share their `kid` with another key of the set (which one would
/// verify is not for the set to leave open) are skipped, with a warning; the set itself must
/// be JSON with a `keys` array.
pub(crate) fn parse(bytes: &[u8]) -> Result<KeyMap, KeysError> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(bytes).map_err(KeysError::Malformed)?;

    let mut kids: HashMap<&str, usize> = HashMap::new();
    for value in &set.keys {
        if let Some(kid) = value.get("kid").and_then(serde_json::Value::as_str) {
            *kids.entry(kid).or_default() += 1;
        }
    }

    let mut keys = HashMap::new();
    for value in &set.keys {
        let jwk: Jwk = match serde_json::from_value(value.clone()) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::warn!(error = %e, "skipping a JWKS key that does not parse");
                continue;
            }
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::warn!("skipping a JWKS key without a kid");
            continue;
        };
        if kids.get(kid.as_str()).is_some_and(|count| *count > 1) {
            tracing::warn!(kid = %kid, "skipping every JWKS key of a kid given twice");
            continue;
        }
        match key_of(&jwk) {
            Ok(key) => {
                keys.insert(kid, Arc::new(key));
            }
            Err(why) => tracing::warn!(kid = %kid, why, "skipping a JWKS key"),
        }
    }
    Ok(keys)
}

/// The verifying key of `jwk` and the one algorithm its type implies.
fn key_of(jwk: &Jwk) -> Result<Key, &'static str> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err("not a signature key");
    }
    let (algorithm, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) if rsa_bits(&rsa.n) < MIN_RSA_BITS => {
            return Err("RSA keys under 2048 bits are refused");
        }
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            (Algorithm::EdDSA, KeyAlgorithm::EdDSA)
        }
        AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are refused"),
        _ => return Err("only RSA, P-256 and Ed25519 keys are accepted"),
    };
    if jwk.common.key_algorithm.is_some_and(|alg| alg != declared) {
        return Err("its alg is not RS256, ES256 or EdDSA to match its type");
    }
    let decoding = DecodingKey::from_jwk(jwk).map_err(|_| "its parameters are malformed")?;
    Ok(Key {
        decoding,
        algorithm,
    })
}

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// The bits of an RSA modulus given as base64url (0 if it does not decode).
fn rsa_bits(n: &str) -> usize {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_skips_short_rsa_keys_and_shared_kids() {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let modulus = |bytes: usize| {
            let mut n = vec![0xc5; bytes];
            n[bytes - 1] |= 1;
            URL_SAFE_NO_PAD.encode(n)
        };
        let ed = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let jwks = format!(
            r#"{{"keys": [
                {{"kty": "RSA", "n": "{}", "e": "AQAB", "kid": "rsa-1024"}},
                {{"kty": "RSA", "n": "{}", "e": "AQAB", "kid": "rsa-2048"}},
                {{"kty": "OKP", "crv": "Ed25519", "x": "{ed}", "kid": "twice"}},
                {{"kty": "OKP", "crv": "Ed25519", "x": "{ed}", "kid": "twice"}},
                {{"kty": "OKP", "crv": "Ed25519", "x": "{ed}", "kid": "once"}}
            ]}}"#,
            modulus(128),
            modulus(256)
        );
        let keys = parse(jwks.as_bytes()).unwrap();
        let mut kids: Vec<_> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["once", "rsa-2048"]);
        assert_eq!(rsa_bits(&modulus(256)), 2048);
        assert_eq!(rsa_bits("AAE"), 1);
        assert_eq!(rsa_bits("@@"), 0);
    }

    #[test]
    fn test_parse_keeps_only_signature_keys_of_the_three_algorithms() {
        let jwks = br#"{"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "hs", "alg": "HS256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            {"kty": "weird", "kid": "weird"}
        ]}"#;
        let keys = parse(jwks).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
        assert!(parse(b"{}").is_err());
        assert!(parse(b"not json").is_err());
    }
}
