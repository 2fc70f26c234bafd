//! GA4GH Passport v1.2 visas and what a passport holds: the datasets its
//! `ControlledAccessGrants` visas grant, and the `ResearcherStatus` and
//! `AcceptedTermsAndPolicies` values registered access asks for, each with the issuer and type
//! of the visa that gave it (for the audit trail).
//!
//! A visa that is malformed, unsigned by its issuer's key, expired, without the `by` the spec
//! requires of grants and accepted terms, or whose `conditions` are not met (or are malformed,
//! or use anything unknown) is ignored; the rest of the passport still counts. Conditions are
//! matched against the passport's unconditional visas.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::conditions::{self, Facts};

/// The passport claim.
pub const CLAIM: &str = "ga4gh_passport_v1";

/// The visa claim inside each visa.
pub(crate) const VISA_CLAIM: &str = "ga4gh_visa_v1";

/// The visa type that grants datasets.
pub const GRANTS: &str = "ControlledAccessGrants";

/// The visa type of registered researchers.
pub const RESEARCHER: &str = "ResearcherStatus";

/// The visa type of accepted terms.
pub const TERMS: &str = "AcceptedTermsAndPolicies";

/// What gives a held value: the grants claim of the token, if no visa.
pub const GRANTS_CLAIM: &str = "grants-claim";

/// The most visas looked at in one passport.
pub const MAX_VISAS: usize = 64;

/// The longest visa looked at, in bytes.
const MAX_VISA_BYTES: usize = 8 << 10;

/// The longest value honoured, as the spec bounds it.
const MAX_VALUE: usize = 255;

/// Who vouched for a held value: the issuer and the type of its visa (or [`GRANTS_CLAIM`]).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Via {
    /// The visa's (or token's) `iss`.
    pub issuer: String,
    /// The visa type, or [`GRANTS_CLAIM`].
    pub kind: String,
}

/// What a caller holds.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Held {
    /// Datasets granted, each with the first visa that granted it.
    pub grants: BTreeMap<String, Via>,
    /// `ResearcherStatus` values.
    pub researcher: BTreeMap<String, Via>,
    /// `AcceptedTermsAndPolicies` values.
    pub terms: BTreeMap<String, Via>,
}

/// One verified visa's claims that count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Visa {
    pub(crate) issuer: String,
    pub(crate) kind: String,
    pub(crate) value: String,
    pub(crate) source: String,
    pub(crate) by: Option<String>,
    pub(crate) expires: u64,
    pub(crate) conditions: Value,
}

/// The visa JWTs of a passport worth verifying: at most [`MAX_VISAS`], each a string of at
/// most 8 KiB (the rest are ignored).
pub(crate) fn visa_jwts(visas: &[Value]) -> impl Iterator<Item = &str> {
    visas.iter().take(MAX_VISAS).filter_map(|visa| {
        let jwt = visa.as_str().filter(|v| v.len() <= MAX_VISA_BYTES);
        if jwt.is_none() {
            tracing::debug!("ignoring a visa that is not a short string");
        }
        jwt
    })
}

impl Visa {
    /// The visa of one verified visa JWT's `claims`: `type`, `value` and `source` strings
    /// (these two, and `by`, at most 255 characters), `by` a non-empty string if present (required of
    /// grants and accepted terms), `conditions` kept for [`held`].
    pub(crate) fn of(claims: &Map<String, Value>) -> Option<Self> {
        let visa = claims.get(VISA_CLAIM)?.as_object()?;
        let text = |name: &str| visa.get(name).and_then(Value::as_str);
        let kind = text("type").filter(|t| !t.is_empty())?;
        let value = text("value")?;
        let source = text("source")?;
        if value.chars().count() > MAX_VALUE || source.chars().count() > MAX_VALUE {
            return None;
        }
        let by = match visa.get("by") {
            None | Some(Value::Null) => None,
            Some(Value::String(by)) if !by.is_empty() && by.chars().count() <= MAX_VALUE => {
                Some(by.clone())
            }
            Some(_) => return None,
        };
        if by.is_none() && (kind == GRANTS || kind == TERMS) {
            return None;
        }
        Some(Self {
            issuer: claims.get("iss")?.as_str()?.to_owned(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            source: source.to_owned(),
            by,
            expires: claims.get("exp")?.as_u64()?,
            conditions: visa.get("conditions").cloned().unwrap_or(Value::Null),
        })
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            kind: &self.kind,
            value: &self.value,
            source: &self.source,
            by: self.by.as_deref(),
        }
    }

    fn is_unconditional(&self) -> bool {
        match &self.conditions {
            Value::Null => true,
            Value::Array(items) => items.is_empty(),
            _ => false,
        }
    }
}

/// What `visas` (verified, unexpired) hold, and the earliest `exp` among those that count
/// (`None`: none counts).
pub(crate) fn held(visas: &[Visa]) -> (Held, Option<u64>) {
    let unconditional: Vec<Facts<'_>> = visas
        .iter()
        .filter(|visa| visa.is_unconditional())
        .map(Visa::facts)
        .collect();
    let mut held = Held::default();
    let mut expires: Option<u64> = None;
    for visa in visas {
        if !conditions::met(&visa.conditions, &unconditional) {
            tracing::debug!(
                kind = visa.kind,
                "ignoring a visa whose conditions are not met"
            );
            continue;
        }
        let into = match visa.kind.as_str() {
            GRANTS => &mut held.grants,
            RESEARCHER => &mut held.researcher,
            TERMS => &mut held.terms,
            _ => continue,
        };
        if visa.value.is_empty() {
            continue;
        }
        into.entry(visa.value.clone()).or_insert_with(|| Via {
            issuer: visa.issuer.clone(),
            kind: visa.kind.clone(),
        });
        expires = Some(expires.map_or(visa.expires, |e| e.min(visa.expires)));
    }
    // A conditional visa counts only while the visas meeting its conditions last.
    if held != Held::default() && visas.iter().any(|visa| !visa.is_unconditional()) {
        let earliest = visas
            .iter()
            .filter(|visa| visa.is_unconditional())
            .map(|visa| visa.expires)
            .min();
        expires = match (expires, earliest) {
            (Some(e), Some(u)) => Some(e.min(u)),
            (e, _) => e,
        };
    }
    (held, expires)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(exp: u64, visa: Value) -> Map<String, Value> {
        json!({"iss": "https://v", "sub": "s", "exp": exp, "ga4gh_visa_v1": visa})
            .as_object()
            .unwrap()
            .clone()
    }

    fn visa(exp: u64, visa: Value) -> Visa {
        Visa::of(&claims(exp, visa)).unwrap()
    }

    #[test]
    fn test_visa_of_refuses_malformed_visas() {
        let ok =
            json!({"type": GRANTS, "value": "https://d/1", "source": "https://dac", "by": "dac"});
        let parsed = Visa::of(&claims(99, ok)).unwrap();
        assert_eq!((parsed.issuer.as_str(), parsed.expires), ("https://v", 99));
        let refused = [
            json!({"type": GRANTS, "value": "x", "source": "s"}),
            json!({"type": GRANTS, "value": "x", "source": "s", "by": ""}),
            json!({"type": GRANTS, "value": "x", "source": "s", "by": 1}),
            json!({"type": TERMS, "value": "x", "source": "s"}),
            json!({"type": GRANTS, "value": 7, "source": "s", "by": "dac"}),
            json!({"type": GRANTS, "value": "x".repeat(256), "source": "s", "by": "dac"}),
            json!({"type": GRANTS, "value": "x", "source": "s".repeat(256), "by": "dac"}),
            json!({"type": GRANTS, "value": "x", "source": "s", "by": "d".repeat(256)}),
            json!({"type": GRANTS, "value": "x", "by": "dac"}),
            json!({"value": "x", "source": "s", "by": "dac"}),
            json!("not an object"),
        ];
        for bad in refused {
            assert_eq!(Visa::of(&claims(99, bad.clone())), None, "{bad}");
        }
        // ResearcherStatus need not say `by`.
        assert!(
            Visa::of(&claims(
                9,
                json!({"type": RESEARCHER, "value": "x", "source": "s"})
            ))
            .is_some()
        );
    }

    #[test]
    fn test_held_evaluates_conditions() {
        let role = json!({"type": "AffiliationAndRole", "value": "faculty@uni", "source": "s", "by": "so"});
        let on_role = |value: &str| {
            json!({"type": GRANTS, "value": "https://d/2", "source": "s", "by": "dac",
                   "conditions": [[{"type": "AffiliationAndRole", "value": value}]]})
        };
        let plain = json!({"type": GRANTS, "value": "https://d/1", "source": "s", "by": "dac"});

        let (held, expires) = held(&[
            visa(50, plain.clone()),
            visa(40, role.clone()),
            visa(90, on_role("pattern:*@uni")),
        ]);
        assert_eq!(
            held.grants.keys().collect::<Vec<_>>(),
            ["https://d/1", "https://d/2"]
        );
        assert_eq!(held.grants["https://d/1"].kind, GRANTS);
        assert_eq!(
            expires,
            Some(40),
            "bounded by the visa meeting the conditions"
        );

        let (unmet, _) = held_of(&[
            visa(50, plain.clone()),
            visa(40, role),
            visa(90, on_role("const:student@uni")),
        ]);
        assert_eq!(unmet.grants.keys().collect::<Vec<_>>(), ["https://d/1"]);

        // Conditions are met only by unconditional visas: not by the visa itself, nor by
        // another conditional one (two visas conditioned on each other count for nothing).
        let (alone, expires) = held_of(&[visa(90, on_role("pattern:*"))]);
        assert!(alone.grants.is_empty());
        assert_eq!(expires, None);
        let conditional_role = json!({"type": "AffiliationAndRole", "value": "faculty@uni",
            "source": "s", "by": "so",
            "conditions": [[{"type": "ControlledAccessGrants"}]]});
        let (mutual, _) = held_of(&[visa(90, conditional_role), visa(90, on_role("pattern:*"))]);
        assert!(mutual.grants.is_empty());
    }

    fn held_of(visas: &[Visa]) -> (Held, Option<u64>) {
        held(visas)
    }

    #[test]
    fn test_held_gathers_registered_access() {
        let (held, _) = held(&[
            visa(
                9,
                json!({"type": RESEARCHER, "value": "https://doi.org/10.1038/s41431-018-0219-y", "source": "s", "by": "so"}),
            ),
            visa(
                9,
                json!({"type": TERMS, "value": "https://terms.example/v1", "source": "s", "by": "self"}),
            ),
            visa(
                9,
                json!({"type": "LinkedIdentities", "value": "x", "source": "s"}),
            ),
        ]);
        assert!(held.grants.is_empty());
        assert_eq!(held.researcher.len(), 1);
        assert_eq!(held.terms["https://terms.example/v1"].kind, TERMS);
    }
}
