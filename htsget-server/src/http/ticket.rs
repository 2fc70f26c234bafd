//! The ticket endpoints: GET and POST `/reads/{id}` and `/variants/{id}`.

use std::sync::Arc;

use self::policy::Policy;
use super::{
    Response, crypt4gh,
    error::{ApiError, Forbidden},
    full,
};
use crate::{access::Denial, state::State};
use htsget_core::{Endpoint, Error, Query, Reason, query::GET_PARAMETERS, resolve};
use hyper::{
    Method, Request,
    body::Incoming,
    header::{self, HeaderValue},
};

/// The media type of tickets.
pub(crate) const TICKET_TYPE: &str = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8";

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
                        Denial::Forbidden { .. } => ApiError::Forbidden(Forbidden::Denied),
                    });
                }
            }
        }
        None => None,
    };

    let client_key = request.headers().get(crypt4gh::CLIENT_KEY).cloned();
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
            return Err(ApiError::Forbidden(Forbidden::Outside));
        }
    }

    // `encryptionScheme=C4GH` (any case) asks for a Crypt4GH stream for the client's key.
    let client = match scheme {
        None => None,
        Some(scheme) if scheme.eq_ignore_ascii_case("C4GH") => {
            Some(crypt4gh::client_key(client_key.as_ref())?)
        }
        Some(_) => {
            return Err(Error::invalid_input(
                Reason::EncryptionScheme,
                "the only encryptionScheme served is C4GH",
            )
            .into());
        }
    };

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
