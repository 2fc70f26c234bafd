//! GA4GH Passport v1.2 visas: the signed JWTs of a token's `ga4gh_passport_v1` claim whose
//! `ga4gh_visa_v1.type` is `ControlledAccessGrants` grant the dataset their `value` names.
//! A visa that is malformed, unsigned by a trusted key, from an untrusted issuer, expired, of
//! another type, without the `by` the spec requires of it, or carrying `conditions` (not
//! evaluated here, so never honoured) is ignored;
//! the rest of the passport still counts.

use serde_json::Value;

/// The passport claim.
pub const CLAIM: &str = "ga4gh_passport_v1";

/// The visa claim inside each visa.
pub(crate) const VISA_CLAIM: &str = "ga4gh_visa_v1";

/// The one visa type that grants datasets.
const GRANTS: &str = "ControlledAccessGrants";

/// The most visas looked at in one passport.
pub const MAX_VISAS: usize = 64;

/// The longest visa looked at, in bytes.
const MAX_VISA_BYTES: usize = 8 << 10;

/// The longest dataset value honoured, as the spec bounds it.
const MAX_VALUE: usize = 255;

/// A dataset a visa grants, until when.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Grant {
    pub(crate) value: String,
    pub(crate) expires: u64,
}

/// The visa JWTs of a passport worth verifying: at most [`MAX_VISAS`], each a string of at
/// most 8 KiB (the rest are ignored). Whoever verifies them hands the claims to [`grant_of`].
pub(crate) fn visa_jwts(visas: &[Value]) -> impl Iterator<Item = &str> {
    visas.iter().take(MAX_VISAS).filter_map(|visa| {
        let jwt = visa.as_str().filter(|v| v.len() <= MAX_VISA_BYTES);
        if jwt.is_none() {
            tracing::debug!("ignoring a visa that is not a short string");
        }
        jwt
    })
}

/// The grant of one verified visa's claims, if it is a ControlledAccessGrants visa without
/// conditions, with a string `value` of at most 255 characters and the `by` the spec requires
/// of it (a visa that does not say who asserted it is ignored).
pub(crate) fn grant_of(claims: &serde_json::Map<String, Value>) -> Option<Grant> {
    let visa = claims.get(VISA_CLAIM)?.as_object()?;
    if visa.get("type")?.as_str()? != GRANTS {
        return None;
    }
    let conditions = visa.get("conditions").unwrap_or(&Value::Null);
    let unconditional = match conditions {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if !unconditional {
        return None;
    }
    if visa.get("by")?.as_str()?.is_empty() {
        return None;
    }
    let value = visa.get("value")?.as_str()?;
    if value.is_empty() || value.chars().count() > MAX_VALUE {
        return None;
    }
    Some(Grant {
        value: value.to_owned(),
        expires: claims.get("exp")?.as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(visa: Value) -> serde_json::Map<String, Value> {
        json!({"iss": "i", "sub": "s", "exp": 99, "ga4gh_visa_v1": visa})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn test_grant_of_honours_only_unconditional_grants() {
        let grant = grant_of(&claims(json!({
            "type": "ControlledAccessGrants", "value": "https://d/1", "source": "https://dac",
            "by": "dac", "asserted": 1
        })));
        assert_eq!(
            grant,
            Some(Grant {
                value: "https://d/1".to_owned(),
                expires: 99
            })
        );
        let ignored = [
            json!({"type": "AffiliationAndRole", "value": "x"}),
            json!({"type": "ControlledAccessGrants"}),
            json!({"type": "ControlledAccessGrants", "value": 7}),
            json!({"type": "ControlledAccessGrants", "value": ""}),
            json!({"type": "ControlledAccessGrants", "value": "x".repeat(256)}),
            json!({"type": "ControlledAccessGrants", "value": "x", "conditions": [[{"type": "A"}]]}),
            json!({"type": "ControlledAccessGrants", "value": "x", "conditions": "x"}),
            // The spec requires `by` of ControlledAccessGrants visas.
            json!({"type": "ControlledAccessGrants", "value": "x"}),
            json!({"type": "ControlledAccessGrants", "value": "x", "by": ""}),
            json!({"type": "ControlledAccessGrants", "value": "x", "by": 1}),
            json!("not an object"),
        ];
        for visa in ignored {
            assert_eq!(grant_of(&claims(visa.clone())), None, "{visa}");
        }
        assert!(
            grant_of(&claims(
                json!({"type": "ControlledAccessGrants", "value": "x", "by": "dac", "conditions": []})
            ))
            .is_some()
        );
    }
}
