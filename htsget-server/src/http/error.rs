//! The one mapping from errors to htsget error responses.

use std::io;

use htsget_core::{Error, ErrorKind, storage::Fault};

#[cfg(feature = "access")]
use crate::access::Refusal;
use crate::data_url::Refused;
use hyper::{StatusCode, header};
use serde_json::json;

use super::{Response, full};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// An htsget error (bad input, not found, a broken file).
    #[error(transparent)]
    Htsget(#[from] Error),
    /// A method the route does not serve.
    #[error("method not allowed; allowed: {0}")]
    MethodNotAllowed(&'static str),
    /// A request target longer than allowed.
    #[error("the request URL is longer than {0} bytes")]
    UriTooLong(usize),
    /// A `Range` the file cannot satisfy.
    #[error("range not satisfiable for a file of {0} bytes")]
    RangeNotSatisfiable(u64),
    /// No valid bearer token where one is needed (401, with `WWW-Authenticate`).
    #[cfg(feature = "access")]
    #[error("authorization is invalid: {0}")]
    Unauthenticated(Refusal),
    /// The token's issuer cannot be reached to check it (503, with `Retry-After`).
    #[cfg(feature = "access")]
    #[error("the token's issuer cannot be reached now; try again later")]
    IssuerUnavailable,
    /// Not permitted (403).
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
}

/// Why a request is not permitted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Forbidden {
    /// No grant admits this caller to the id, whether it exists or not.
    #[cfg(feature = "access")]
    #[error("the grants of this token do not admit this id")]
    Denied,
    /// The query reaches outside the regions granted.
    #[cfg(feature = "access")]
    #[error("this query reaches outside the regions granted for this id")]
    Outside,
    /// A grant restricted to regions, on a file whose records cannot be cut exactly (a CRAM
    /// container to re-encode against a reference sequence that cannot be found).
    #[cfg(feature = "access")]
    #[error(
        "exact delivery is not possible for this file (a CRAM whose reference sequences are not available), so a grant restricted to regions cannot be served from it"
    )]
    Inexact,
    /// The data URL does not cover the request.
    #[error(transparent)]
    Url(#[from] Refused),
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        Self::Forbidden(refused.into())
    }
}

impl ApiError {
    /// Whether this is the server's fault (a 5xx), worth an error in the log.
    pub(crate) fn is_server_error(&self) -> bool {
        matches!(self, Self::Htsget(e) if e.kind() == ErrorKind::InternalServerError)
    }

    /// The store fault behind this error, if an object store failed it.
    fn fault(&self) -> Option<Fault> {
        match self {
            Self::Htsget(Error::Io { source, .. }) => Fault::of(source),
            _ => None,
        }
    }

    /// The htsget error response: `{"htsget":{"error":NAME,"message":TEXT}}` with its status.
    pub(crate) fn into_response(self) -> Response {
        let (status, name) = match &self {
            Self::Htsget(e) => (
                StatusCode::from_u16(e.kind().status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.kind().name(),
            ),
            Self::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorKind::InvalidInput.name(),
            ),
            Self::RangeNotSatisfiable(_) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorKind::InvalidInput.name(),
            ),
            Self::UriTooLong(_) => (StatusCode::URI_TOO_LONG, ErrorKind::InvalidInput.name()),
            #[cfg(feature = "access")]
            Self::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                ErrorKind::InvalidAuthentication.name(),
            ),
            #[cfg(feature = "access")]
            Self::IssuerUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::InvalidAuthentication.name(),
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorKind::PermissionDenied.name()),
        };

        // A store that is down, slow or refusing is a gateway problem, not a broken file.
        let fault = self.fault();
        let status = match fault {
            Some(Fault::TimedOut | Fault::Changed) => StatusCode::SERVICE_UNAVAILABLE,
            Some(_) => StatusCode::BAD_GATEWAY,
            None => status,
        };

        let message = match (&self, fault) {
            (_, Some(fault)) => format!("the object store cannot serve this now: {fault}"),
            // Server-side failures are described by kind only; the details go to the log.
            (Self::Htsget(e), None) if e.kind() == ErrorKind::InternalServerError => {
                internal_message(e)
            }
            (other, None) => other.to_string(),
        };

        let body = json!({ "htsget": { "error": name, "message": message } }).to_string();
        let mut response = hyper::Response::new(full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }

        match self {
            Self::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, header::HeaderValue::from_static(allow));
            }
            Self::RangeNotSatisfiable(size) => {
                if let Ok(value) = header::HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            #[cfg(feature = "access")]
            Self::Unauthenticated(refusal) => {
                // RFC 6750 §3.1: no error code when no token was sent.
                let challenge = match refusal {
                    Refusal::Missing => "Bearer realm=\"htsget\"".to_owned(),
                    other => format!(
                        "Bearer realm=\"htsget\", error=\"invalid_token\", error_description=\"{other}\""
                    ),
                };
                if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            #[cfg(feature = "access")]
            Self::IssuerUnavailable => {}
            Self::Htsget(_) | Self::UriTooLong(_) | Self::Forbidden(_) => {}
        }

        response
    }
}

/// A message naming the problem without paths or parser internals that could leak them.
fn internal_message(error: &Error) -> String {
    match error {
        Error::InvalidData { what, source } => {
            format!("the {what} of this id cannot be read: {}", kind(source))
        }
        Error::Io { what, source } => format!("reading the {what} failed: {}", kind(source)),
        _ => "internal server error".to_owned(),
    }
}

fn kind(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "it is truncated",
        io::ErrorKind::InvalidData => "it is malformed",
        io::ErrorKind::PermissionDenied => "permission denied",
        _ => "I/O error",
    }
}
