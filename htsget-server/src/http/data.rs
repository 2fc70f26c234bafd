//! The data endpoint: serves byte ranges and BGZF spans of data files, streamed from one
//! storage handle in bounded chunks.

mod stream;

use std::sync::Arc;

use hyper::{Method, Request, body::Incoming};

use htsget_core::{
    BgzfSpan, ByteRange, Error, Reason, Served, load,
    storage::{Encryption, Object, Storage},
};

#[cfg(feature = "crypt4gh")]
use super::crypt4gh;
use super::{Response, empty, error::ApiError, respond};
use crate::{
    data_url::{DataUrl, ParseError, Refused, Serves},
    ids,
    state::State,
};

/// Serves `key` (a data file's key) for GET and HEAD, honouring a single `Range`, or what its
/// data URL names.
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
    let url = DataUrl::parse(key, request.uri().query());
    // Under access control a URL serves only what its signature covers.
    let url = match (&state.signer, url) {
        (Some(signer), Ok(url)) => {
            let now = crate::data_url::unix_now();
            signer.verify(&url, now)?;
            url
        }
        (Some(_), Err(_)) => return Err(Refused::Malformed.into()),
        (None, Ok(url)) => url,
        (None, Err(error)) => return Err(malformed(error).into()),
    };
    // Re-encrypted URLs are Crypt4GH's.
    if url.nonce().is_some() {
        #[cfg(feature = "crypt4gh")]
        return crypt4gh::serve(state, &url, request.headers(), head).await;
        #[cfg(not(feature = "crypt4gh"))]
        return Err(Error::NotFound {
            what: "data file".to_owned(),
        }
        .into());
    }

    let object = state.storage.open(key).await.map_err(respond::open_error)?;

    // Encrypted files never leave in plaintext.
    if object.metadata().encryption() != Encryption::None {
        return Err(Error::NotFound {
            what: "data file".to_owned(),
        }
        .into());
    }

    // The ticket's version of the file, or nothing: never a mix of two versions.
    if let Some(version) = url.version()
        && version != object.metadata().identity().tag()
    {
        return Err(Error::NotFound {
            what: "this version of the data file: it changed since the ticket was made; \
                   ask for a new ticket"
                .to_owned(),
        }
        .into());
    }

    let allowed = match url.serves() {
        Some(Serves::Span(span)) => return serve_span(object, span, head).await,
        // The signed range bounds what is served (unsigned URLs name none).
        Some(Serves::Bytes(allowed)) if state.signer.is_some() => Some(allowed),
        Some(Serves::Bytes(_)) => None,
        // `DataUrl::parse` gives a sealed range or a cut only with a nonce.
        Some(Serves::Sealed(_) | Serves::Cut(..)) | None => None,
    };

    let size = object.size();
    let mut range = respond::requested_range(request.headers(), size)?;
    if let Some(allowed) = allowed {
        match range {
            // Without a `Range`, the range named is what this URL is.
            None if allowed.end() <= size => range = Some(allowed),
            Some(asked) if allowed.start() <= asked.start() && asked.end() <= allowed.end() => {}
            _ => return Err(Refused::Outside.into()),
        }
    }
    let served = range.unwrap_or(ByteRange::new(0, size));

    let body = if head || served.is_empty() {
        empty()
    } else {
        stream::body(object, vec![Served::Bytes(served)])
    };

    Ok(respond::ranged(body, range, size))
}

/// The error for a data URL that does not parse, on a server without access control.
fn malformed(error: ParseError) -> Error {
    let reason = match error {
        ParseError::Malformed("span") => Reason::MalformedSpan,
        _ => Reason::MalformedDataUrl,
    };
    Error::invalid_input(reason, error.to_string())
}

/// Serves a BGZF span: its cut blocks re-encoded around the whole blocks between them.
async fn serve_span(
    object: Arc<dyn Object>,
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

    let len = contents.iter().map(Served::len).sum();
    let body = if head {
        empty()
    } else {
        stream::body(object, contents)
    };
    Ok(respond::octet_stream(body, len))
}
