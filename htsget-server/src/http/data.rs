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

use htsget_core::{BgzfSpan, ByteRange, Source, load};

use super::{Body, Response, buffers::Pool, empty, error::ApiError};
use crate::{range::parse_range, state::State};

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

    let (key, size) = state.resolver.data_file(key)?;

    if let Some(span) = span_param(request.uri().query())? {
        return serve_span(state, key, span, head).await;
    }

    let range = requested_range(request.headers(), size)?;
    let (start, end) = range.unwrap_or((0, size));

    let body = if head || start == end {
        empty()
    } else {
        let file = open(state, &key)?;
        stream(file, vec![Source::Range(ByteRange::new(start, end))])
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

/// The `span` query parameter of a data URL, if any.
fn span_param(query: Option<&str>) -> Result<Option<BgzfSpan>, ApiError> {
    let Some(query) = query else { return Ok(None) };
    let Some((_, value)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "span")
    else {
        return Ok(None);
    };
    BgzfSpan::from_param(&value)
        .map(Some)
        .ok_or_else(|| htsget_core::Error::invalid_input("malformed span").into())
}

/// Serves a BGZF span: its cut blocks re-encoded around the whole blocks between them.
async fn serve_span(
    state: &Arc<State>,
    key: String,
    span: BgzfSpan,
    head: bool,
) -> Result<Response, ApiError> {
    let storage = Arc::clone(&state.storage);
    let pieces = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || load::span_parts(&*storage, &key, &span))
            .await
            .map_err(|e| htsget_core::Error::Io {
                what: "blocking task",
                source: io::Error::other(e),
            })?
            // Spans come from clients: one that does not fit the file's blocks is bad input.
            .map_err(|_| {
                htsget_core::Error::invalid_input("the span does not fit this file's blocks")
            })?
    };

    let len: u64 = pieces
        .iter()
        .map(|piece| match piece {
            Source::Inline(bytes) => bytes.len() as u64,
            Source::Range(range) => range.len(),
            Source::Bgzf(_) => 0,
        })
        .sum();

    let body = if head {
        empty()
    } else {
        stream(open(state, &key)?, pieces)
    };
    let mut response = hyper::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(response)
}

fn open(state: &State, key: &str) -> Result<File, ApiError> {
    let path = state.storage.path(key).map_err(|_| not_found())?;
    File::open(path).map_err(|_| not_found())
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

/// A body streaming `pieces` (inline bytes, and ranges of `file`): one blocking task reads
/// ahead into a small channel; if the client goes away, the send fails and the task ends,
/// closing the file.
fn stream(file: File, pieces: Vec<Source>) -> Body {
    let (sender, mut receiver) = mpsc::channel::<io::Result<Frame<Bytes>>>(READ_AHEAD);

    tokio::task::spawn_blocking(move || {
        // Frames in the channel, one being written, one being filled.
        let mut pool = Pool::new(READ_AHEAD + 2);
        for piece in pieces {
            let sent = match piece {
                Source::Inline(bytes) => sender
                    .blocking_send(Ok(Frame::data(Bytes::from(bytes))))
                    .is_ok(),
                Source::Range(range) => send_range(&sender, &mut pool, &file, range),
                Source::Bgzf(_) => false,
            };
            if !sent {
                return;
            }
        }
    });

    let frames = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    StreamBody::new(frames).boxed()
}

/// Sends `file[range]` in chunks; false once the client is gone or a read failed.
fn send_range(
    sender: &mpsc::Sender<io::Result<Frame<Bytes>>>,
    pool: &mut Pool,
    file: &File,
    range: ByteRange,
) -> bool {
    let mut offset = range.start();
    while offset < range.end() {
        let len = usize::try_from(range.end() - offset).map_or(CHUNK, |n| n.min(CHUNK));
        let Some(mut buf) = pool.take(len) else {
            return false;
        };
        let frame = read_exact_at(file, &mut buf, offset).map(|()| Frame::data(pool.frame(buf)));
        let failed = frame.is_err();
        if sender.blocking_send(frame).is_err() || failed {
            return false;
        }
        offset += len as u64;
    }
    true
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
