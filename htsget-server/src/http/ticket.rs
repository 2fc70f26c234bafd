//! The ticket endpoints: GET and POST `/reads/{id}` and `/variants/{id}`.

use std::sync::Arc;

use htsget_core::{
    Endpoint, Error, Reason,
    query::{GET_PARAMETERS, Query},
    resolve_with,
};
use hyper::{
    Method, Request,
    body::Incoming,
    header::{self, HeaderValue},
};

pub(crate) use self::policy::ClientKey;
use self::policy::Policy;
#[cfg(feature = "crypt4gh")]
use super::crypt4gh;
use super::{Response, error::ApiError, full};
use crate::state::State;

/// The media type of tickets.
pub(crate) const TICKET_TYPE: &str = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8";

#[cfg(feature = "access")]
mod admit;
#[cfg(feature = "access")]
mod audit;
mod body;
mod policy;

/// Answers a ticket request for `id` on `endpoint`.
pub(crate) async fn handle(
    state: &Arc<State>,
    endpoint: Endpoint,
    id: &str,
    request: Request<Incoming>,
) -> Result<Response, ApiError> {
    let query_string = request.uri().query().unwrap_or("").to_owned();

    // Who is asking is settled before the query is read: a caller without a grant learns
    // nothing of the id, not even whether its query would have been valid.
    #[cfg(feature = "access")]
    let admission = admit::admission(state, id, request.headers()).await?;

    let request_key = request.headers().get(CLIENT_KEY).cloned();
    let scheme: Option<String>;
    let query = match *request.method() {
        Method::GET => {
            scheme = form_urlencoded::parse(query_string.as_bytes())
                .find(|(key, _)| key == "encryptionScheme")
                .map(|(_, value)| value.into_owned());
            Query::from_get(endpoint, form_urlencoded::parse(query_string.as_bytes()))?
        }
        Method::POST => {
            let on_url = form_urlencoded::parse(query_string.as_bytes())
                .find(|(key, _)| GET_PARAMETERS.contains(&key.as_ref()));
            if let Some((key, _)) = on_url {
                return Err(Error::invalid_input(
                    Reason::ParameterOnPostUrl,
                    format!(
                        "POST requests take their parameters in the body, not {key:?} on the URL"
                    ),
                )
                .into());
            }
            let deadline = tokio::time::Instant::now() + state.config.header_timeout;
            let body = body::read_body(request, state.config.max_post_bytes, deadline).await?;
            let query = Query::from_post(endpoint, &body)?;
            let found = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("encryptionScheme")?.as_str().map(str::to_owned));
            scheme = found;
            let regions = query.regions().map_or(0, <[_]>::len);
            if regions > state.config.max_regions {
                return Err(Error::invalid_input(
                    Reason::TooManyRegions,
                    format!(
                        "{regions} regions asked; at most {} are served per request",
                        state.config.max_regions
                    ),
                )
                .into());
            }
            query
        }
        _ => return Err(ApiError::MethodNotAllowed("GET, POST, OPTIONS")),
    };

    let asked = asked(scheme.as_deref(), request_key.as_ref())?;

    let located = state.locate(id, query.format()).await?;
    let facts = state.facts(&located).await?;
    // Checked against the file's own names, so a grant and a query in either naming style
    // mean the same reference or none.
    #[cfg(feature = "access")]
    admit::permitted(state, id, admission.as_ref(), &query, facts.references())?;
    // No I/O: blocks cut inside are re-encoded when their URL is fetched.
    let plan = resolve_with(&query, &facts, &state.aliases)?;
    // A grant restricted to regions gets the records overlapping them and no other.
    #[cfg(feature = "access")]
    let plan = match admission.as_ref() {
        Some(admission) if admission.restriction.is_some() => {
            admit::exact(state, &located, &facts, &query).await?
        }
        _ => std::borrow::Cow::Owned(plan),
    };
    // A grant restricted to regions is re-keyed, never passed through: the file's own key
    // would open the whole stored segments around its records.
    #[cfg(feature = "access")]
    let asked = Asked {
        passthrough: admission
            .as_ref()
            .is_none_or(|admission| admission.restriction.is_none()),
        ..asked
    };
    let ticket = Policy::choose(state, &located, asked)
        .await?
        .ticket(state, &located, &plan)
        .await?;

    let mut response = hyper::Response::new(full(ticket.to_json()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TICKET_TYPE));
    Ok(response)
}

/// The request header holding the client's Crypt4GH public key (base64 of its key file).
const CLIENT_KEY: &str = "htsget-context-public-key";

/// What a request asked of the payload's encryption (`encryptionScheme`, and the client's key).
pub(super) struct Asked {
    /// `encryptionScheme` was `crypt4gh` (or `c4gh`): a Crypt4GH payload, if the key came.
    pub(super) crypt4gh: bool,
    /// The client's Crypt4GH public key, when it asked for Crypt4GH and sent one.
    pub(super) key: Option<ClientKey>,
    /// Whether the stored segments may pass through where the root says so (not for a grant
    /// restricted to regions).
    #[cfg_attr(
        not(feature = "crypt4gh"),
        expect(dead_code, reason = "only Crypt4GH passes segments through")
    )]
    pub(super) passthrough: bool,
}

/// The `encryptionScheme` values served, as service-info lists them.
pub(crate) const SCHEMES: &[&str] = if cfg!(feature = "crypt4gh") {
    &["none", "crypt4gh"]
} else {
    &["none"]
};

/// What `scheme` (`encryptionScheme`, any case: `crypt4gh` or `c4gh`, `none`) and the
/// `Htsget-Context-Public-Key` header's `value` ask for. The key is read only when Crypt4GH is
/// asked for; without one, a plain file is served plain (what the GA4GH compliance suite and
/// servers without Crypt4GH expect) and an encrypted one refused.
fn asked(scheme: Option<&str>, value: Option<&HeaderValue>) -> Result<Asked, ApiError> {
    let crypt4gh = match scheme {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("none") => false,
        Some(s) if s.eq_ignore_ascii_case("crypt4gh") || s.eq_ignore_ascii_case("c4gh") => true,
        Some(_) => {
            return Err(Error::invalid_input(
                Reason::EncryptionScheme,
                "encryptionScheme is crypt4gh (also c4gh) or none",
            )
            .into());
        }
    };
    let key = match value {
        Some(value) if crypt4gh => Some(client_key(value)?),
        _ => None,
    };
    Ok(Asked {
        crypt4gh,
        key,
        passthrough: true,
    })
}

/// The client's Crypt4GH public key from the `Htsget-Context-Public-Key` header's `value`.
#[cfg(feature = "crypt4gh")]
fn client_key(value: &HeaderValue) -> Result<ClientKey, ApiError> {
    crypt4gh::client_key(value)
}

/// There is no Crypt4GH key to read in a build without Crypt4GH.
#[cfg(not(feature = "crypt4gh"))]
fn client_key(_: &HeaderValue) -> Result<ClientKey, ApiError> {
    Err(Error::invalid_input(
        Reason::EncryptionScheme,
        "Crypt4GH payloads are not served here (this build has no Crypt4GH)",
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_asked_with_each_scheme() {
        for scheme in ["crypt4gh", "c4gh", "C4GH", "Crypt4GH"] {
            let asked = asked(Some(scheme), None).unwrap();
            assert!(asked.crypt4gh && asked.key.is_none(), "{scheme}");
        }
        for scheme in [None, Some("none"), Some("NONE")] {
            assert!(!asked(scheme, None).unwrap().crypt4gh, "{scheme:?}");
        }
        for scheme in ["rot13", "", "c4gh ", "crypt4gh,none"] {
            let Err(ApiError::Htsget(error)) = asked(Some(scheme), None) else {
                panic!("{scheme:?} accepted");
            };
            assert_eq!(error.reason(), Some(Reason::EncryptionScheme));
        }
    }

    #[test]
    fn test_asked_with_a_key_read_only_for_crypt4gh() {
        let bad = HeaderValue::from_static("not a key");
        // Not asked for Crypt4GH: the header is not read.
        assert!(asked(None, Some(&bad)).unwrap().key.is_none());
        assert!(asked(Some("none"), Some(&bad)).unwrap().key.is_none());
        // Asked: a malformed key is refused.
        assert!(asked(Some("crypt4gh"), Some(&bad)).is_err());
    }
}
