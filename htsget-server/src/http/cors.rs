//! CORS: the request's `Origin` is echoed on every response; preflights are answered here.

use hyper::{
    HeaderMap, StatusCode,
    header::{self, HeaderValue},
};

use super::{Response, empty};

/// How long browsers may cache a preflight: 30 days, as the spec says.
const MAX_AGE: &str = "2592000";

/// Adds the CORS headers for a request with `origin` to `response`.
pub(crate) fn apply(response: &mut Response, origin: Option<&HeaderValue>) {
    let headers = response.headers_mut();
    let origin = origin.cloned().unwrap_or(HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length, Content-Range, Content-Type"),
    );
}

/// The answer to an `OPTIONS` preflight: allows GET, HEAD and POST, and echoes the requested
/// headers.
pub(crate) fn preflight(request: &HeaderMap) -> Response {
    let mut response = hyper::Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
    );
    if let Some(requested) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    response
}
