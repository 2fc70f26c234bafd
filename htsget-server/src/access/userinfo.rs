//! The passport of an access token that carries none, from its issuer's userinfo endpoint
//! (GA4GH AAI 1.2): one bounded request with the caller's token; the answer must be about the
//! token's subject. An opaque token (not a JWT) is vouched for by the answer alone.

use serde_json::Value;

use super::{
    fetch::{FetchError, Fetcher},
    passport,
};

/// The largest userinfo answer accepted, in bytes.
pub const MAX_USERINFO_BYTES: usize = 1 << 20;

/// Why no passport came.
#[derive(Debug, Eq, PartialEq, thiserror::Error)]
pub enum UserinfoError {
    /// The endpoint refused the token (401 or 403): the token is not good there.
    #[error("the issuer's userinfo endpoint refused the token")]
    Refused,
    /// The answer is about another subject, or none.
    #[error("the issuer's userinfo answer is about another subject")]
    OtherSubject,
    /// It did not answer usefully (down, slow, an error, too large, not JSON).
    #[error("the issuer's userinfo endpoint cannot be used now")]
    Unavailable,
}

/// The subject and the visas of the passport `url` gives for `token` (whose subject must be
/// `subject`, when known); no visas when the answer has no `ga4gh_passport_v1`.
pub(crate) async fn passport(
    fetcher: &Fetcher,
    url: &str,
    token: &str,
    subject: Option<&str>,
) -> Result<(String, Vec<Value>), UserinfoError> {
    let body = match fetcher
        .get(url, Some(token), MAX_USERINFO_BYTES, true)
        .await
    {
        Ok(body) => body,
        Err(FetchError::Status(status)) if matches!(status.as_u16(), 401 | 403) => {
            return Err(UserinfoError::Refused);
        }
        Err(e) => {
            tracing::warn!(error = %e, "the userinfo endpoint cannot be used");
            return Err(UserinfoError::Unavailable);
        }
    };
    visas_of(&body, subject)
}

/// The subject and visas of a userinfo answer `body`: its `sub` must be `subject` when that
/// is given, and a non-empty string in any case.
pub fn visas_of(body: &[u8], subject: Option<&str>) -> Result<(String, Vec<Value>), UserinfoError> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        tracing::warn!("the userinfo answer is not a JSON object");
        return Err(UserinfoError::Unavailable);
    };
    let sub = match answer.remove("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub,
        _ => return Err(UserinfoError::OtherSubject),
    };
    if subject.is_some_and(|subject| subject != sub) {
        return Err(UserinfoError::OtherSubject);
    }
    match answer.remove(passport::CLAIM) {
        None | Some(Value::Null) => Ok((sub, Vec::new())),
        Some(Value::Array(visas)) => Ok((sub, visas)),
        Some(_) => Err(UserinfoError::Unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_visas_of() {
        let ok = br#"{"sub": "alice", "ga4gh_passport_v1": ["a.b.c", "d.e.f"]}"#;
        assert_eq!(visas_of(ok, Some("alice")).unwrap().1.len(), 2);
        assert_eq!(visas_of(ok, None).unwrap().0, "alice");
        assert_eq!(
            visas_of(br#"{"sub": "alice"}"#, Some("alice")),
            Ok(("alice".to_owned(), Vec::new()))
        );
        assert_eq!(visas_of(ok, Some("bob")), Err(UserinfoError::OtherSubject));
        assert_eq!(
            visas_of(br#"{"sub": ""}"#, None),
            Err(UserinfoError::OtherSubject)
        );
        assert_eq!(
            visas_of(br#"{"sub": 7}"#, None),
            Err(UserinfoError::OtherSubject)
        );
        assert_eq!(
            visas_of(br#"{"ga4gh_passport_v1": []}"#, Some("alice")),
            Err(UserinfoError::OtherSubject)
        );
        assert_eq!(
            visas_of(b"<html>", Some("alice")),
            Err(UserinfoError::Unavailable)
        );
        assert_eq!(visas_of(b"[]", None), Err(UserinfoError::Unavailable));
        assert_eq!(
            visas_of(br#"{"sub": "alice", "ga4gh_passport_v1": "x"}"#, None),
            Err(UserinfoError::Unavailable)
        );
    }
}
