//! Bearer tokens and GA4GH passport visas, before and after signature checks. The first byte
//! picks what the rest is:
//! - 0: an `Authorization` header value, verified as sent (header and base64/JSON parsing,
//!   key lookup, refusals);
//! - 1: the claims of an access token (any bytes), which the target signs with the trusted
//!   test key, so the claim handling after a good signature runs;
//! - 2: the claims of a visa (any bytes), signed, inside a signed passport.
//!
//! Nothing may panic. A token made in mode 0 is never admitted (it cannot carry a good
//! signature); a verified caller's verdict never outlives its `exp`; grants come only from a
//! `ControlledAccessGrants` visa's `value` or the grants claim, registered-access values only
//! from visas of their type, and never from a visa with conditions (none can be met alone).
#![no_main]

use std::sync::OnceLock;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use htsget_server::{
    access::{Access, bearer},
    config::AccessSettings,
};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;

/// A test key for fuzzing only (its public half is in the JWKS below).
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPsS4BO85RiZRwHHzvkojRR2cnEDz5zbPuUxBYQ7hFmY
-----END PRIVATE KEY-----";
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"fuzz","alg":"EdDSA","use":"sig","x":"1inzoeZ90bUiUCPCJozS4PGtI9AM00h6UlK4ZGvQAIA"}]}"#;
const ISSUER: &str = "https://issuer.example";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    access: Access,
    key: EncodingKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("htsget-fuzz-jwks-{}.json", std::process::id()));
        std::fs::write(&path, JWKS).unwrap();
        let settings = AccessSettings {
            jwks: Some(path.to_string_lossy().into_owned()),
            issuers: vec![ISSUER.to_owned()],
            grants_claim: Some("datasets".to_owned()),
            ..AccessSettings::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let access = runtime.block_on(Access::open(&settings)).unwrap().unwrap();
        Fixture {
            runtime,
            access,
            key: EncodingKey::from_ed_pem(KEY.as_bytes()).unwrap(),
        }
    })
}

/// A compact JWS over `payload` (any bytes) with the test key.
fn sign(key: &EncodingKey, typ: &str, payload: &[u8]) -> String {
    let header = format!(r#"{{"alg":"EdDSA","kid":"fuzz","typ":"{typ}"}}"#);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, Algorithm::EdDSA).unwrap();
    format!("{message}.{signature}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let verifier = fixture.access.verifier();
    let now = jsonwebtoken::get_current_timestamp();

    match mode % 3 {
        0 => {
            let Some(token) = bearer(rest) else { return };
            let verdict = fixture.runtime.block_on(verifier.verify(token));
            assert!(verdict.is_err(), "an unsigned fuzzed token was admitted");
        }
        1 => {
            let token = sign(&fixture.key, "JWT", rest);
            if let Ok(caller) = fixture.runtime.block_on(verifier.verify(&token)) {
                assert!(caller.expires + 60 >= now, "an expired verdict");
                let claims: serde_json::Value = serde_json::from_slice(rest).unwrap();
                let listed: Vec<&str> = match &claims["datasets"] {
                    serde_json::Value::String(s) => s.split_whitespace().collect(),
                    serde_json::Value::Array(items) => {
                        items.iter().filter_map(|i| i.as_str()).collect()
                    }
                    _ => Vec::new(),
                };
                for grant in caller.held.grants.keys() {
                    assert!(
                        listed.contains(&grant.as_str()),
                        "grant {grant:?} from nowhere"
                    );
                }
                assert!(caller.held.researcher.is_empty() && caller.held.terms.is_empty());
            }
        }
        _ => {
            let visa = sign(&fixture.key, "vnd.ga4gh.visa+jwt", rest);
            let passport = serde_json::json!({
                "iss": ISSUER, "sub": "fuzz", "exp": now + 3600,
                "ga4gh_passport_v1": [visa],
            });
            let token = sign(
                &fixture.key,
                "vnd.ga4gh.passport+jwt",
                passport.to_string().as_bytes(),
            );
            let caller = fixture.runtime.block_on(verifier.verify(&token)).unwrap();
            let held = &caller.held;
            for (kind, values) in [
                ("ControlledAccessGrants", &held.grants),
                ("ResearcherStatus", &held.researcher),
                ("AcceptedTermsAndPolicies", &held.terms),
            ] {
                for value in values.keys() {
                    let claims: serde_json::Value = serde_json::from_slice(rest).unwrap();
                    let visa = &claims["ga4gh_visa_v1"];
                    assert_eq!(visa["type"], kind);
                    assert_eq!(visa["value"].as_str(), Some(value.as_str()));
                    assert!(value.chars().count() <= 255);
                    // A lone visa cannot meet conditions (only other, unconditional visas can).
                    assert!(
                        matches!(&visa["conditions"], serde_json::Value::Null)
                            || visa["conditions"] == serde_json::json!([])
                    );
                }
            }
        }
    }
});
