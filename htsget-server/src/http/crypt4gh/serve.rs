//! The data endpoint's side of re-encrypted URLs: the plaintext a URL names (file bytes, or a
//! BGZF span's contents) of the encrypted file behind its key, sealed anew with the ticket key
//! of its nonce in fresh segments, the last padded; a `Range` within them is honoured.

use std::sync::Arc;

use htsget_core::{
    ByteRange, Error, Served,
    crypt4gh::layout,
    storage::{Object as _, Storage as _},
};
use hyper::HeaderMap;

use super::{super::respond, bad, seal, ticket_key};
use crate::{
    data_url::{DataUrl, Serves},
    state::State,
};

/// Serves `url`, which carries a ticket nonce.
pub(crate) async fn serve(
    state: &State,
    url: &DataUrl,
    request: &HeaderMap,
    head: bool,
) -> Result<super::super::Response, super::super::ApiError> {
    let (Some(secret), Some(nonce)) = (&state.c4gh, url.nonce()) else {
        return Err(bad("encrypted files are not served here"));
    };
    let object = state
        .storage
        .open(url.key())
        .await
        .map_err(respond::open_error)?;
    let Some(encrypted) = object.crypt4gh() else {
        return Err(Error::NotFound {
            what: "data file".to_owned(),
        }
        .into());
    };
    if url.version() != Some(&encrypted.metadata().identity().tag()[..]) {
        return Err(Error::NotFound {
            what: "this version of the data file: ask for a new ticket".to_owned(),
        }
        .into());
    }
    let (contents, label) = match url.serves() {
        Some(Serves::Sealed(range)) => {
            if range.end() > encrypted.metadata().size() {
                return Err(bad("the range is outside the file"));
            }
            let (start, end) = (range.start(), range.end());
            let range = ByteRange::new(start, end);
            (
                Arc::new(vec![Served::Bytes(range)]),
                format!("bytes {start}-{end}"),
            )
        }
        Some(Serves::Span(span)) => {
            let contents = state
                .span_contents(url.key(), encrypted, &span)
                .await
                .map_err(|_| bad("the span does not fit this file's blocks"))?;
            let label = format!("span {}-{}", u64::from(span.start()), u64::from(span.end()));
            (contents, label)
        }
        // A data URL with a nonce serves a sealed range or a span.
        Some(Serves::Bytes(_)) | None => {
            return Err(bad("a re-keyed URL names a c4 range or a span"));
        }
    };
    let len: u64 = contents.iter().map(Served::len).sum();
    let size = layout::sealed_size(len);
    let range = respond::requested_range(request, size)?;
    let served = range.unwrap_or(ByteRange::new(0, size));
    let body = if head || served.is_empty() {
        super::super::empty()
    } else {
        let key = ticket_key(secret, nonce);
        seal::stream(encrypted.clone(), contents, key, label, served)
    };
    Ok(respond::ranged(body, range, size))
}
