//! The HTTP layer: routing, and the response wrapper every route goes through (CORS, logs).

mod buffers;
mod cors;
#[cfg(feature = "crypt4gh")]
mod crypt4gh;
mod data;
mod error;
mod health;
mod locations;
mod respond;
mod service_info;
mod ticket;
mod viewer;

use std::{convert::Infallible, sync::Arc, time::Instant};

use bytes::Bytes;
use htsget_core::{Endpoint, Error, Reason};
use hyper::{Method, Request, body::Incoming, header};
use percent_encoding::percent_decode_str;

pub(crate) use self::error::ApiError;
pub(crate) use crate::body::{Body, empty, full};
use crate::{metrics, state::State};
use tracing::Instrument as _;

/// A response.
pub(crate) type Response = hyper::Response<Body>;

/// A `status` response of `body` as `content_type`, never cached (health, metrics, the viewer
/// page: each answer is of the moment).
pub(crate) fn uncached(
    status: hyper::StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    let mut response = hyper::Response::new(full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// A fresh nonce (128 random bits) for a Crypt4GH ticket or a page's scripts.
pub(crate) fn fresh_nonce() -> Result<crate::data_url::Nonce, Error> {
    crate::data_url::Nonce::random().map_err(|e| Error::Io {
        what: "randomness",
        source: std::io::Error::other(e),
    })
}

/// Serves one request: routes it, adds CORS headers and its request id, counts and logs it.
pub(crate) async fn serve(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let endpoint = metrics::endpoint_of(&path);
    let origin = request.headers().get(header::ORIGIN).cloned();
    let request_id = request_id(&state, request.headers());
    let span = tracing::info_span!("request", request_id = %request_id);

    async move {
        let too_long = request
            .uri()
            .path_and_query()
            .is_some_and(|target| target.as_str().len() > state.config.max_url_bytes);

        let mut response = if too_long {
            ApiError::UriTooLong(state.config.max_url_bytes).into_response()
        } else if method == Method::OPTIONS {
            cors::preflight(request.headers())
        } else {
            route(&state, request).await.unwrap_or_else(|error| {
                if error.is_server_error() {
                    tracing::error!(%method, path = %path, %error, "request failed");
                }
                error.into_response()
            })
        };

        cors::apply(&mut response, origin.as_ref());
        if let Ok(value) = header::HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }

        let status = response.status();
        let bytes = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let elapsed = started.elapsed();
        state
            .metrics
            .request(endpoint, status.as_u16(), elapsed.as_secs_f64());
        tracing::info!(
            %method,
            path = %path,
            status = status.as_u16(),
            bytes,
            latency_us = elapsed.as_micros() as u64,
            "request"
        );

        let stream = endpoint == "data" && method == Method::GET && status.is_success();
        Ok(response.map(|body| metrics::counted(body, &state.metrics, endpoint, stream)))
    }
    .instrument(span)
    .await
}

/// The request id header.
const REQUEST_ID: &str = "x-request-id";

/// The client's `X-Request-Id` when it is a plain token (1 to 128 letters, digits, `-`, `_`,
/// `.`, `:`), else a fresh one.
fn request_id(state: &State, headers: &hyper::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| state.metrics.request_id(), str::to_owned)
}

/// Serves the metrics listener: `/metrics`, `/healthz` and `/readyz`, nothing else.
pub(crate) async fn serve_metrics(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let response = match request.uri().path() {
        "/metrics" => health::metrics(&state),
        "/healthz" => health::healthz(),
        "/readyz" => health::readyz(&state).await,
        _ => ApiError::from(Error::NotFound {
            what: "route; this address serves /metrics, /healthz and /readyz".to_owned(),
        })
        .into_response(),
    };
    Ok(response)
}

async fn route(state: &Arc<State>, request: Request<Incoming>) -> Result<Response, ApiError> {
    let raw_path = request.uri().path().to_owned();
    let decoded = percent_decode_str(&raw_path)
        .decode_utf8()
        .map_err(|_| Error::invalid_input(Reason::MalformedPath, "the path is not valid UTF-8"))?;

    let (endpoint, rest) = if let Some(rest) = decoded.strip_prefix("/reads/") {
        (Some(Endpoint::Reads), rest)
    } else if let Some(rest) = decoded.strip_prefix("/variants/") {
        (Some(Endpoint::Variants), rest)
    } else if let Some(key) = decoded.strip_prefix("/data/") {
        return data::handle(state, key, &request).await;
    } else {
        let get = matches!(*request.method(), Method::GET | Method::HEAD);
        match decoded.as_ref() {
            "/healthz" if get => return Ok(health::healthz()),
            "/readyz" if get => return Ok(health::readyz(state).await),
            "/metrics" if get && state.config.metrics_bind.is_none() => {
                return Ok(health::metrics(state));
            }
            "/viewer" if get => return viewer::page(state, request.uri().query()).await,
            _ => {}
        }
        (None, "")
    };

    match endpoint {
        Some(endpoint) if rest == "service-info" => match *request.method() {
            Method::GET | Method::HEAD => {
                Ok(service_info::response(&state.config.service, endpoint))
            }
            _ => Err(ApiError::MethodNotAllowed("GET, OPTIONS")),
        },
        Some(endpoint) if !rest.is_empty() => {
            let id = rest.to_owned();
            ticket::handle(state, endpoint, &id, request).await
        }
        _ => Err(Error::NotFound {
            what: "route; use /reads/{id}, /variants/{id} or their /service-info".to_owned(),
        }
        .into()),
    }
}
