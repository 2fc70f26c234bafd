//! The ticket endpoints: GET and POST `/reads/{id}` and `/variants/{id}`.

use std::{collections::BTreeMap, sync::Arc};

use htsget_core::{Endpoint, Error, Query, Reason, Ticket, query::GET_PARAMETERS, resolve, span};
use hyper::{
    Method, Request,
    body::Incoming,
    header::{self, HeaderValue},
};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Response, error::ApiError, full};
use crate::{access::Denial, config::UrlMode, state::State};

/// The media type of tickets.
pub(crate) const TICKET_TYPE: &str = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8";

/// Characters escaped in a data URL's path: all but unreserved characters and `/`.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'=')
    .add(b':')
    .add(b'@')
    .add(b'$')
    .add(b',')
    .add(b'\'')
    .add(b'!')
    .add(b'(')
    .add(b')')
    .add(b'*');

mod audit;
mod body;
mod direct;

/// The answer to a caller whose grants do not admit the id, whether it exists or not.
const DENIED: &str = "the grants of this token do not admit this id";

/// The answer to a query reaching outside the regions granted.
const OUTSIDE: &str = "this query reaches outside the regions granted for this id";

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
    let admission = match &state.access {
        Some(access) => {
            let authorization = request.headers().get(header::AUTHORIZATION);
            match access
                .admit(id, authorization.map(HeaderValue::as_bytes))
                .await
            {
                Ok(admission) => Some(admission),
                Err(denial) => {
                    audit::denied(&state.metrics, id, &denial);
                    return Err(match denial {
                        Denial::Unauthenticated(refusal) => ApiError::Unauthenticated(refusal),
                        Denial::Forbidden { .. } => ApiError::Forbidden(DENIED.to_owned()),
                    });
                }
            }
        }
        None => None,
    };

    let client_key = request.headers().get(super::crypt4gh::CLIENT_KEY).cloned();
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

    if let Some(admission) = &admission {
        let permitted = admission.permits(&query);
        audit::decided(&state.metrics, id, admission, &query, permitted);
        if !permitted {
            return Err(ApiError::Forbidden(OUTSIDE.to_owned()));
        }
    }

    // `encryptionScheme=C4GH` (any case) asks for a Crypt4GH stream for the client's key.
    let client = match scheme {
        None => None,
        Some(scheme) if scheme.eq_ignore_ascii_case("C4GH") => {
            let mut headers = hyper::HeaderMap::new();
            if let Some(value) = client_key {
                headers.insert(super::crypt4gh::CLIENT_KEY, value);
            }
            Some(super::crypt4gh::client_key(&headers)?)
        }
        Some(_) => {
            return Err(Error::invalid_input(
                Reason::MalformedPath,
                "the only encryptionScheme served is C4GH",
            )
            .into());
        }
    };

    let located = state.locate(id, query.format()).await?;
    let facts = state.facts(&located).await?;
    // No I/O: blocks cut inside are re-encoded when their URL is fetched.
    let plan = resolve(&query, &facts)?;

    let encrypted = htsget_core::storage::crypt4gh::is_encrypted(&located.data_metadata);
    let ticket = match (encrypted, &client) {
        (true, Some(client)) if state.storage.passthrough(&located.data) => Some(
            super::crypt4gh::passthrough_ticket(state, &located, &plan, query.format(), client)
                .await?,
        ),
        (true, Some(client)) => {
            Some(super::crypt4gh::ticket(state, &located, &plan, query.format(), client).await?)
        }
        (true, None) => {
            return Err(Error::invalid_input(
                Reason::MalformedPath,
                "this id is stored encrypted: ask with encryptionScheme=C4GH and your Crypt4GH \
                 public key in Htsget-Context-Public-Key",
            )
            .into());
        }
        (false, Some(_)) => {
            return Err(Error::invalid_input(
                Reason::MalformedPath,
                "this id is not encrypted: ask without encryptionScheme",
            )
            .into());
        }
        (false, None) => None,
    };
    let ticket = match ticket {
        Some(ticket) => ticket,
        None => match state.storage.urls(&located.data) {
            UrlMode::Server => {
                let url = data_url(&state.public_url, &located.data);
                let identity = located.data_metadata.identity();
                match &state.signer {
                    Some(signer) => {
                        let now = jsonwebtoken::get_current_timestamp();
                        signer.ticket(&plan, query.format(), &url, &located.data, identity, now)
                    }
                    None => {
                        let url = span::url::with_version(&url, identity);
                        Ticket::new(&plan, query.format(), &url, &BTreeMap::new())
                    }
                }
            }
            UrlMode::Direct => direct::ticket(state, &located, &plan).await?,
        },
    };

    let mut response = hyper::Response::new(full(ticket.to_json()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TICKET_TYPE));
    Ok(response)
}

/// The URL the data endpoint serves `key` at.
pub(crate) fn data_url(public_url: &str, key: &str) -> String {
    let mut url = String::with_capacity(public_url.len() + 6 + key.len() * 3);
    url.push_str(public_url);
    url.push_str("/data/");
    url.extend(utf8_percent_encode(key, PATH));
    url
}
