//! The data endpoint's side of re-encrypted URLs: the plaintext a URL names (file bytes, a
//! BGZF span's contents, or one cut block of them) of the file behind its key (an encrypted file's, or a plain one's),
//! sealed anew with the ticket key of its nonce in fresh segments, the last padded; a `Range`
//! within them is honoured.

use std::sync::Arc;

use htsget_core::{ByteRange, Error, Served, crypt4gh::layout, storage::Storage as _};
use hyper::HeaderMap;

use super::{super::respond, bad, seal};
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
    let Some(nonce) = url.nonce() else {
        return Err(bad("a re-keyed URL carries its ticket's nonce"));
    };
    let object = state
        .storage
        .open(url.key())
        .await
        .map_err(respond::open_error)?;
    if url.version() != Some(&object.metadata().identity().tag()[..]) {
        return Err(Error::NotFound {
            what: "this version of the data file: ask for a new ticket".to_owned(),
        }
        .into());
    }
    let (contents, label) = match url.serves() {
        Some(Serves::Sealed(range)) => {
            if range.end() > object.metadata().size() {
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
                .span_contents(url.key(), &*object, &span)
                .await
                .map_err(|_| bad("the span does not fit this file's blocks"))?;
            let label = format!("span {}-{}", u64::from(span.start()), u64::from(span.end()));
            (contents, label)
        }
        Some(Serves::Cut(span, index)) => {
            let contents = state
                .span_contents(url.key(), &*object, &span)
                .await
                .map_err(|_| bad("the span does not fit this file's blocks"))?;
            let Some(cut @ Served::Inline(_)) = contents.get(usize::from(index)) else {
                return Err(bad("the span has no such cut block"));
            };
            let label = format!(
                "cut {index} of span {}-{}",
                u64::from(span.start()),
                u64::from(span.end())
            );
            (Arc::new(vec![cut.clone()]), label)
        }
        // A data URL with a nonce serves a sealed range, a span or a cut.
        Some(Serves::Bytes(_)) | None => {
            return Err(bad("a re-keyed URL names a c4 range, a span or a cut"));
        }
    };
    let len: u64 = contents.iter().map(Served::len).sum();
    let size = layout::sealed_size(len);
    let range = respond::requested_range(request, size)?;
    let served = range.unwrap_or(ByteRange::new(0, size));
    let body = if head || served.is_empty() {
        super::super::empty()
    } else {
        let key = state.ticket_keys.key(nonce);
        let file = match object.crypt4gh() {
            Some(encrypted) => seal::Plaintext::Encrypted(encrypted.clone()),
            None => seal::Plaintext::Plain(object),
        };
        seal::stream(file, contents, key, label, served)
    };
    Ok(respond::ranged(body, range, size))
}
