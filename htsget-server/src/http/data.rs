//! The data endpoint: serves byte ranges of data files, streamed in bounded chunks.

use std::{fs::File, io, sync::Arc};

use bytes::Bytes;

use http_body_util::{BodyExt, StreamBody};
use hyper::{
    HeaderMap, Method, Request, StatusCode,
    body::{Frame, Incoming},
    header::{self, HeaderValue},
};
use tokio::sync::mpsc;

use super::{Body, Response, empty, error::ApiError};
use crate::{ids, state::State};

/// The size of each read and each body frame.
const CHUNK: usize = 256 << 10;

/// Frames read ahead of the client: memory per stream is at most (this + 1) chunks.
const READ_AHEAD: usize = 2;

/// Serves `key` (a path under the data root) for GET and HEAD, honouring a single `Range`.
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

    let (key, size) = ids::data_file(&state.root, key, state.config.follow_symlinks)?;
    let range = requested_range(request.headers(), size)?;
    let (start, end) = range.unwrap_or((0, size));

    let body = if head || start == end {
        empty()
    } else {
        let path = state.storage.path(&key).map_err(|_| not_found())?;
        let file = File::open(path).map_err(|_| not_found())?;
        stream(file, start, end)
    };

    let mut response = hyper::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));

    if range.is_some() {
        let value = format!("bytes {start}-{}/{size}", end - 1);
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("ascii"),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }

    Ok(response)
}

fn not_found() -> ApiError {
    htsget_core::Error::NotFound {
        what: "data file".to_owned(),
    }
    .into()
}

/// The single range asked for, as `(start, end exclusive)`; `None` without a `Range` header.
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };

    parse_range(value.to_str().unwrap_or(""), size)
        .map(Some)
        .ok_or(ApiError::RangeNotSatisfiable(size))
}

/// Parses `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX` against a file of `size` bytes.
/// Several ranges, bad syntax and ranges past the end are refused.
pub(crate) fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };

    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n = number(suffix)?;
            (size.saturating_sub(n), size)
        }
        (first, "") => (number(first)?, size),
        (first, last) => {
            let (a, b) = (number(first)?, number(last)?);
            if b < a {
                return None;
            }
            (a, b.saturating_add(1).min(size))
        }
    };

    (start < end && start < size).then_some((start, end))
}

/// A body streaming `file[start..end]`: one blocking task reads ahead into a small channel;
/// if the client goes away, the send fails and the task ends, closing the file.
fn stream(file: File, start: u64, end: u64) -> Body {
    let (sender, mut receiver) = mpsc::channel::<io::Result<Frame<Bytes>>>(READ_AHEAD);

    tokio::task::spawn_blocking(move || {
        let mut offset = start;
        while offset < end {
            let len = usize::try_from(end - offset).map_or(CHUNK, |n| n.min(CHUNK));
            let mut buf = vec![0; len];
            let frame =
                read_exact_at(&file, &mut buf, offset).map(|()| Frame::data(Bytes::from(buf)));
            let failed = frame.is_err();
            if sender.blocking_send(frame).is_err() || failed {
                return;
            }
            offset += len as u64;
        }
    });

    let frames = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    StreamBody::new(frames).boxed()
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut filled = 0;
        while filled < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[filled..],
                offset + filled as u64,
            )? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_range_with_forms() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=95-", 100), Some((95, 100)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=-200", 100), Some((0, 100)));
    }

    #[test]
    fn test_parse_range_with_unsatisfiable_or_bad() {
        for value in [
            "bytes=100-",
            "bytes=100-200",
            "bytes=5-4",
            "bytes=0-1,3-4",
            "bytes=a-b",
            "items=0-1",
            "bytes=-0",
            "bytes=-",
            "bytes=+1-2",
            "",
        ] {
            assert_eq!(parse_range(value, 100), None, "{value}");
        }
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }
}
