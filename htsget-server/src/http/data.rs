//! The data endpoint: serves byte ranges and BGZF spans of data files, streamed from one
//! storage handle in bounded chunks.

mod stream;

use std::sync::Arc;

use hyper::{
    HeaderMap, Method, Request, StatusCode,
    body::Incoming,
    header::{self, HeaderValue},
};

use htsget_core::{
    BgzfSpan, ByteRange, Content, Error, Reason, Span, Storage, load, span::url, storage::Fault,
};

use super::{Response, empty, error::ApiError};
use crate::{access::signed::Signed, ids, range::parse_range, state::State};

/// Serves `key` (a data file's key) for GET and HEAD, honouring a single `Range`, or the BGZF
/// span its `span` parameter names.
pub(crate) async fn handle(
    state: &Arc<State>,
    key: &str,
    request: &Request<Incoming>,
) -> Result<Response, ApiError> {
    let head = match *request.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Err(ApiError::MethodNotAllowed("GET, HEAD, OPTIONS")),
    };

    let key = ids::data_key(key)?;
    let query = request.uri().query();
    // Under access control a URL serves only what its signature covers.
    let signed = match &state.signer {
        Some(signer) => {
            let now = jsonwebtoken::get_current_timestamp();
            let signed = signer
                .verify(key, query, now)
                .map_err(|refused| ApiError::Forbidden(refused.to_string()))?;
            Some(signed)
        }
        None => None,
    };
    let nonce = query.is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.strip_prefix(crate::access::signed::TICKET_NONCE)
                .is_some_and(|rest| rest.starts_with('='))
        })
    });
    let rekeyed = match signed {
        Some(Signed::Segments { first, last }) => {
            Some(super::crypt4gh::ReKeyed::Bytes(first, last))
        }
        Some(Signed::Span(span)) if nonce => Some(super::crypt4gh::ReKeyed::Span(span)),
        Some(_) => None,
        None => super::crypt4gh::rekeyed_of(query)?,
    };
    if let Some(what) = rekeyed {
        return super::crypt4gh::serve(state, key, query, what, request.headers(), head).await;
    }
    let span = match signed {
        Some(Signed::Span(span)) => Some(span),
        Some(_) => None,
        None => url::span_of(query)?,
    };
    let object = state.storage.open(key).await.map_err(open_error)?;

    // Encrypted files never leave in plaintext.
    if htsget_core::storage::crypt4gh::is_encrypted(object.metadata()) {
        return Err(Error::NotFound {
            what: "data file".to_owned(),
        }
        .into());
    }

    // The ticket's version of the file, or nothing: never a mix of two versions.
    if let Some(version) = url::version_of(query)
        && version != object.metadata().identity().tag()
    {
        return Err(Error::NotFound {
            what: "this version of the data file: it changed since the ticket was made; \
                   ask for a new ticket"
                .to_owned(),
        }
        .into());
    }

    if let Some(span) = span {
        return serve_span(object, span, head).await;
    }

    let size = object.size();
    let mut range = requested_range(request.headers(), size)?;
    if let Some(Signed::Bytes(allowed)) = signed {
        match range {
            // Without a `Range`, the signed range is what this URL is.
            None if allowed.end() <= size => range = Some((allowed.start(), allowed.end())),
            Some((start, end)) if allowed.start() <= start && end <= allowed.end() => {}
            _ => {
                return Err(ApiError::Forbidden(
                    "the range asked for is outside what this data URL was signed for".to_owned(),
                ));
            }
        }
    }
    let (start, end) = range.unwrap_or((0, size));

    let body = if head || start == end {
        empty()
    } else {
        let bytes = Content::Span(Span::Bytes(ByteRange::new(start, end)));
        stream::body(object, vec![bytes])
    };

    Ok(ranged(body, range.map(|_| (start, end)), size))
}

/// Serves a BGZF span: its cut blocks re-encoded around the whole blocks between them.
async fn serve_span(
    object: Arc<dyn htsget_core::storage::Object>,
    span: BgzfSpan,
    head: bool,
) -> Result<Response, ApiError> {
    // Spans come from clients: one that does not fit the file's blocks is bad input.
    let contents = load::span_contents(&*object, &span).await.map_err(|_| {
        Error::invalid_input(
            Reason::MalformedSpan,
            "the span does not fit this file's blocks",
        )
    })?;

    let len = contents.iter().map(Content::len).sum();
    let body = if head {
        empty()
    } else {
        stream::body(object, contents)
    };
    Ok(octet_stream(body, len))
}

/// A `200` of the whole `size` bytes, or, for a requested `(start, end)`, a `206` with its
/// `Content-Range`.
pub(super) fn ranged(body: super::Body, range: Option<(u64, u64)>, size: u64) -> Response {
    let Some((start, end)) = range else {
        return octet_stream(body, size);
    };
    let mut response = octet_stream(body, end - start);
    let value = format!("bytes {start}-{}/{size}", end - 1);
    response.headers_mut().insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&value).expect("ascii"),
    );
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    response
}

/// A `200` of `len` bytes of `application/octet-stream` that accepts ranges.
pub(super) fn octet_stream(body: super::Body, len: u64) -> Response {
    let mut response = hyper::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// The single range asked for, as `(start, end exclusive)`; `None` without a `Range` header.
pub(super) fn requested_range(
    headers: &HeaderMap,
    size: u64,
) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };

    parse_range(value.to_str().unwrap_or(""), size)
        .map(Some)
        .ok_or(ApiError::RangeNotSatisfiable(size))
}

/// The error for a data file that would not open: the store's fault as such (a 5xx), anything
/// else (missing, not a file, outside the root) as not found.
pub(super) fn open_error(e: std::io::Error) -> Error {
    if Fault::of(&e).is_some() {
        Error::Io {
            what: "data file",
            source: e,
        }
    } else {
        Error::NotFound {
            what: "data file".to_owned(),
        }
    }
}
