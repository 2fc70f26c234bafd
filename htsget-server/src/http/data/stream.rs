//! Response bodies that stream contents from a storage handle: byte ranges read in chunks a
//! few at a time ahead of the client, inline bytes as they are.

use std::{io, sync::Arc};

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt, future::BoxFuture};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use htsget_core::{Served, storage::Object};

use super::super::{Body, buffers::Pool};

/// The size of each read and each body frame.
const CHUNK: usize = 512 << 10;

/// Reads in flight ahead of the client: memory per stream is about this many chunks, plus the
/// frame being written.
const READ_AHEAD: usize = 2;

/// A body streaming `contents` of `object`. Reads run ahead of the client by [`READ_AHEAD`]
/// chunks (on the blocking pool for local files; as concurrent requests for a store), so
/// throughput is not bound by each read's latency. A failed or short read ends the body with
/// an error, so the client sees a broken transfer, never a silently truncated file; a client
/// that goes away drops the body and its reads.
pub(super) fn body(object: Arc<dyn Object>, contents: Vec<Served>) -> Body {
    let frames = futures_util::stream::iter(contents)
        .map(move |content| frames_of(&object, content))
        .flatten();
    StreamBody::new(frames).boxed_unsync()
}

/// The frames of one content: inline bytes whole; a byte range as the storage's own stream of
/// it where it has one (one ranged GET of a store), else in [`CHUNK`]s read ahead.
fn frames_of(object: &Arc<dyn Object>, content: Served) -> Frames {
    if let Served::Bytes(range) = &content
        && let Some(stream) = object.stream(*range)
    {
        return stream.map(|chunk| chunk.map(Frame::data)).boxed();
    }

    let object = Arc::clone(object);
    let mut pool = Pool::new();
    futures_util::stream::iter(pieces(content))
        .map(
            move |piece| -> BoxFuture<'static, io::Result<Frame<Bytes>>> {
                match piece {
                    Piece::Inline(bytes) => {
                        futures_util::future::ready(Ok(Frame::data(Bytes::from(bytes)))).boxed()
                    }
                    Piece::Chunk { offset, len } => {
                        let read = object.read_at(offset, pool.take(len));
                        let home = pool.home();
                        async move {
                            let buf = read.await?;
                            if buf.len() != len {
                                return Err(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    "the file is shorter than the range",
                                ));
                            }
                            Ok(Frame::data(home.frame(buf)))
                        }
                        .boxed()
                    }
                }
            },
        )
        .buffered(READ_AHEAD)
        .boxed()
}

/// A stream of body frames.
type Frames = futures_util::stream::BoxStream<'static, io::Result<Frame<Bytes>>>;

/// One frame's worth of a body.
enum Piece {
    Inline(Vec<u8>),
    Chunk { offset: u64, len: usize },
}

/// The frames of one content, made as they are needed: inline bytes whole, byte ranges in
/// [`CHUNK`]s.
struct Pieces {
    inline: Option<Vec<u8>>,
    offset: u64,
    end: u64,
}

fn pieces(served: Served) -> Pieces {
    match served {
        Served::Inline(bytes) => Pieces {
            inline: Some(bytes),
            offset: 0,
            end: 0,
        },
        Served::Bytes(range) => Pieces {
            inline: None,
            offset: range.start(),
            end: range.end(),
        },
    }
}

impl Iterator for Pieces {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        if let Some(bytes) = self.inline.take() {
            return Some(Piece::Inline(bytes));
        }
        if self.offset >= self.end {
            return None;
        }
        let len = (self.end - self.offset).min(CHUNK as u64) as usize;
        let piece = Piece::Chunk {
            offset: self.offset,
            len,
        };
        self.offset += len as u64;
        Some(piece)
    }
}
