//! Responses of byte streams: `200` or `206` with exact lengths, the `Range` a client asks,
//! and what a data file that would not open answers.

use htsget_core::{ByteRange, Error, storage::Fault};
use hyper::{
    HeaderMap, StatusCode,
    header::{self, HeaderValue},
};

use super::{Body, Response, error::ApiError};
use crate::range::parse_range;

/// A `200` of the whole `size` bytes, or, for a requested `range`, a `206` with its
/// `Content-Range`.
pub(crate) fn ranged(body: Body, range: Option<ByteRange>, size: u64) -> Response {
    let Some(range) = range else {
        return octet_stream(body, size);
    };
    let mut response = octet_stream(body, range.len());
    let value = format!("bytes {}-{}/{size}", range.start(), range.end() - 1);
    response.headers_mut().insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&value).expect("ascii"),
    );
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    response
}

/// A `200` of `len` bytes of `application/octet-stream` that accepts ranges.
pub(crate) fn octet_stream(body: Body, len: u64) -> Response {
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

/// The single range asked for; `None` without a `Range` header.
pub(crate) fn requested_range(
    headers: &HeaderMap,
    size: u64,
) -> Result<Option<ByteRange>, ApiError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };

    parse_range(value.to_str().unwrap_or(""), size)
        .map(Some)
        .ok_or(ApiError::RangeNotSatisfiable(size))
}

/// The error for a data file that would not open: the store's fault as such (a 5xx), anything
/// else (missing, not a file, outside the root) as not found.
pub(crate) fn open_error(e: std::io::Error) -> Error {
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
