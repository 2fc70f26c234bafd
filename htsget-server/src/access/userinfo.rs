//! The passport of an access token that carries none, from its issuer's userinfo endpoint
//! (GA4GH AAI 1.2): one bounded request with the caller's token; the answer must be about the
//! token's subject.

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
    /// The answer is about another subject.
    #[error("the issuer's userinfo answer is about another subject")]
    OtherSubject,
    /// It did not answer usefully (down, slow, an error, too large, not JSON).
    #[error("the issuer's userinfo endpoint cannot be used now")]
    Unavailable,
}

/// The visas of the passport `url` gives for `token`, whose subject is `subject`; none when
/// the answer has no `ga4gh_passport_v1`.
pub(crate) async fn passport(
    fetcher: &Fetcher,
    url: &str,
    token: &str,
    subject: &str,
) -> Result<Vec<Value>, UserinfoError> {
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

/// The visas of a userinfo answer `body` for `subject`.
pub fn visas_of(body: &[u8], subject: &str) -> Result<Vec<Value>, UserinfoError> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        tracing::warn!("the userinfo answer is not a JSON object");
        return Err(UserinfoError::Unavailable);
    };
    if answer.get("sub").and_then(Value::as_str) != Some(subject) {
        return Err(UserinfoError::OtherSubject);
    }
    match answer.remove(passport::CLAIM) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(visas)) => Ok(visas),
        Some(_) => Err(UserinfoError::Unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_visas_of() {
        let ok = br#"{"sub": "alice", "ga4gh_passport_v1": ["a.b.c", "d.e.f"]}"#;
        assert_eq!(visas_of(ok, "alice").unwrap().len(), 2);
        assert_eq!(visas_of(br#"{"sub": "alice"}"#, "alice"), Ok(Vec::new()));
        assert_eq!(visas_of(ok, "bob"), Err(UserinfoError::OtherSubject));
        assert_eq!(
            visas_of(br#"{"ga4gh_passport_v1": []}"#, "alice"),
            Err(UserinfoError::OtherSubject)
        );
        assert_eq!(
            visas_of(b"<html>", "alice"),
            Err(UserinfoError::Unavailable)
        );
        assert_eq!(visas_of(b"[]", "alice"), Err(UserinfoError::Unavailable));
        assert_eq!(
            visas_of(br#"{"sub": "alice", "ga4gh_passport_v1": "x"}"#, "alice"),
            Err(UserinfoError::Unavailable)
        );
    }
}
