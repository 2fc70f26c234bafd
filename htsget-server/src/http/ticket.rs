//! The ticket endpoints: GET and POST `/reads/{id}` and `/variants/{id}`.

use std::sync::Arc;

use htsget_core::{
    Endpoint, Error, Reason,
    query::{GET_PARAMETERS, Query},
    resolve,
};
use hyper::{
    Method, Request,
    body::Incoming,
    header::{self, HeaderValue},
};

use self::policy::{ClientKey, Policy};
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

    #[cfg(feature = "access")]
    admit::permitted(state, id, admission.as_ref(), &query)?;

    let client = client_key(scheme.as_deref(), request_key.as_ref())?;

    let located = state.locate(id, query.format()).await?;
    let facts = state.facts(&located).await?;
    // No I/O: blocks cut inside are re-encoded when their URL is fetched.
    let plan = resolve(&query, &facts)?;
    let ticket = Policy::choose(state, &located, client)
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

/// The Crypt4GH key of a client that asked for a Crypt4GH stream with `encryptionScheme=C4GH`
/// (any case), from the `Htsget-Context-Public-Key` header's `value`.
fn client_key(
    scheme: Option<&str>,
    value: Option<&HeaderValue>,
) -> Result<Option<ClientKey>, ApiError> {
    match scheme {
        None => Ok(None),
        #[cfg(feature = "crypt4gh")]
        Some(scheme) if scheme.eq_ignore_ascii_case("C4GH") => {
            Ok(Some(crypt4gh::client_key(value)?))
        }
        Some(_) => {
            let _ = value;
            Err(Error::invalid_input(
                Reason::EncryptionScheme,
                if cfg!(feature = "crypt4gh") {
                    "the only encryptionScheme served is C4GH"
                } else {
                    "no encryptionScheme is served here (this build has no Crypt4GH)"
                },
            )
            .into())
        }
    }
}
