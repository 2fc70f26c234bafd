//! The ticket endpoints: GET and POST `/reads/{id}` and `/variants/{id}`.

use std::{collections::BTreeMap, sync::Arc};

use bytes::Bytes;
use htsget_core::{Endpoint, Error, Query, Ticket, query::GET_PARAMETERS, resolve};
use http_body_util::{BodyExt, Limited};
use hyper::{
    Method, Request,
    body::Incoming,
    header::{self, HeaderValue},
};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Response, error::ApiError, full};
use crate::state::State;

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

/// Answers a ticket request for `id` on `endpoint`.
pub(crate) async fn handle(
    state: &Arc<State>,
    endpoint: Endpoint,
    id: &str,
    request: Request<Incoming>,
) -> Result<Response, ApiError> {
    let query_string = request.uri().query().unwrap_or("").to_owned();

    let query = match *request.method() {
        Method::GET => Query::from_get(endpoint, form_urlencoded::parse(query_string.as_bytes()))?,
        Method::POST => {
            let on_url = form_urlencoded::parse(query_string.as_bytes())
                .find(|(key, _)| GET_PARAMETERS.contains(&key.as_ref()));
            if let Some((key, _)) = on_url {
                return Err(Error::invalid_input(format!(
                    "POST requests take their parameters in the body, not {key:?} on the URL"
                ))
                .into());
            }
            let body = tokio::time::timeout(
                state.config.header_timeout,
                read_body(request, state.config.max_post_bytes),
            )
            .await
            .map_err(|_| Error::invalid_input("the request body arrived too slowly"))??;
            let query = Query::from_post(endpoint, &body)?;
            let regions = query.regions().map_or(0, <[_]>::len);
            if regions > state.config.max_regions {
                return Err(Error::invalid_input(format!(
                    "{regions} regions asked; at most {} are served per request",
                    state.config.max_regions
                ))
                .into());
            }
            query
        }
        _ => return Err(ApiError::MethodNotAllowed("GET, POST, OPTIONS")),
    };

    let located = state.resolver.locate(id, query.format())?;
    let facts = state.facts(&located).await?;
    // No I/O: blocks cut inside are re-encoded when their URL is fetched.
    let plan = resolve(&query, &facts)?.layout_deferred();

    let url = data_url(&state.public_url, &located.data);
    let ticket = Ticket::new(&plan, query.format(), &url, &BTreeMap::new());

    let mut response = hyper::Response::new(full(ticket.to_json()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TICKET_TYPE));
    Ok(response)
}

/// The URL the data endpoint serves `key` at.
pub(crate) fn data_url(public_url: &str, key: &str) -> String {
    format!("{public_url}/data/{}", utf8_percent_encode(key, PATH))
}

async fn read_body(request: Request<Incoming>, limit: u64) -> Result<Bytes, ApiError> {
    let too_large = || Error::PayloadTooLarge { limit };

    if let Some(length) = request.headers().get(header::CONTENT_LENGTH)
        && length
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n > limit)
    {
        return Err(too_large().into());
    }

    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large().into()),
        Err(_) => Err(Error::invalid_input("the request body could not be read").into()),
    }
}
