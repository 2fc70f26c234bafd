//! The passport parsing that takes outside input without a signature check: visa conditions
//! (any JSON, matched against a fixed passport) and userinfo answers. The first byte picks:
//! - 0: the rest is a visa's `conditions`;
//! - 1: the rest is a userinfo answer, for the subject `alice`;
//! - 2: the rest, split at the first `\n`, is a pattern and a text for the glob matcher.
//!
//! Nothing may panic. Conditions that are met name, in one alternative, only visa types the
//! passport holds; a userinfo answer accepted is a JSON object about `alice`; a pattern without
//! wildcards matches only itself, and `*` matches anything.
#![no_main]

use htsget_server::access::{
    conditions::{self, Facts},
    userinfo,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const PASSPORT: [Facts<'static>; 2] = [
    Facts {
        kind: "AffiliationAndRole",
        value: "faculty@uni.example",
        source: "https://uni.example",
        by: Some("so"),
    },
    Facts {
        kind: "AcceptedTermsAndPolicies",
        value: "https://terms.example/v1;https://terms.example/v2",
        source: "https://dac.example",
        by: None,
    },
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let Ok(value) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            if conditions::met(&value, &PASSPORT) && !value.is_null() {
                let Some(alternatives) = value.as_array() else {
                    panic!("met by something not an array: {value}");
                };
                let known = |clause: &Value| {
                    let kind = clause["type"].as_str();
                    PASSPORT.iter().any(|visa| Some(visa.kind) == kind)
                };
                assert!(
                    alternatives.is_empty()
                        || alternatives
                            .iter()
                            .any(|all| all.as_array().is_some_and(|all| all.iter().all(known))),
                    "met without the visas: {value}"
                );
            }
        }
        1 => {
            if let Ok((sub, visas)) = userinfo::visas_of(rest, Some("alice")) {
                let answer: Value = serde_json::from_slice(rest).unwrap();
                assert_eq!(answer["sub"], "alice");
                assert_eq!(sub, "alice");
                assert!(visas.len() <= answer["ga4gh_passport_v1"].as_array().map_or(0, Vec::len));
            }
            if let Ok((sub, _)) = userinfo::visas_of(rest, None) {
                assert!(!sub.is_empty());
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let (pattern, text) = text.split_once('\n').unwrap_or((text, ""));
            if pattern.len() + text.len() > 2048 {
                return;
            }
            let matched = conditions::glob(pattern, text);
            if !pattern.contains(['*', '?']) {
                assert_eq!(matched, pattern == text);
            }
            assert!(conditions::glob("*", text));
            assert!(conditions::glob(text, text) || text.contains(['*', '?']));
        }
    }
});
