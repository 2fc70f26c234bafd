//! Response bodies: whole (tickets, errors, pages) or streamed (data), as one boxed type.

use std::io;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};

/// A response body: whole or streamed, its errors I/O errors.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// A whole body of `bytes`.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}
