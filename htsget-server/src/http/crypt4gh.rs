//! Crypt4GH tickets, re-keyed: a fresh data key per ticket, derived from the server's secret
//! and a nonce the ticket's URLs carry, so any replica serves any URL of it. The ticket is an
//! inline Crypt4GH header for the client's key (that data key and an edit list), then, for each
//! part of the plan, either a URL serving the stored segments that hold it, decrypted and
//! re-encrypted with the ticket key under per-segment deterministic nonces (a URL fetched twice,
//! or split into sub-ranges, gives the same bytes), or the part itself (a cut BGZF block, the
//! EOF marker) encrypted inline. Every segment of the stream holds a full 64 KiB (padded), so
//! the cuts live in the edit list, and the plaintext after it is exactly the plain payload.
//! The ticket key opens nothing but what the ticket holds.

use std::{io, sync::Arc};

use htsget_core::Storage as _;

use bytes::Bytes;
use futures_util::StreamExt as _;
use htsget_core::{
    Content, Error, Format, Plan, Reason, Section, Span, Ticket,
    crypt4gh::{
        edits, header,
        keys::{PublicKey, SecretKey},
        segments::{self, ENCRYPTED, PLAIN},
    },
    load,
    span::url,
    storage::{Fault, Object, crypt4gh::Encrypted},
    ticket::Location,
};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::{
    HeaderMap, StatusCode,
    body::Frame,
    header::{self as headers, HeaderValue},
};

use super::{
    Body, Response,
    data::{octet_stream, requested_range},
    empty,
    error::ApiError,
    ticket::data_url,
};
use crate::{
    access::signed::{SEGMENTS, TICKET_NONCE},
    ids::Located,
    state::State,
};

/// The request header holding the client's public key (base64 of its key file).
pub(crate) const CLIENT_KEY: &str = "htsget-context-public-key";

/// The most segments one URL covers (1 GiB of plaintext).
const MAX_URL_SEGMENTS: u64 = 16 << 10;

/// What ticket keys are derived for.
const PURPOSE: &[u8] = b"htsget re-key ticket";

fn bad(message: &str) -> ApiError {
    Error::invalid_input(Reason::MalformedPath, message.to_owned()).into()
}

/// The client's public key from the request headers.
pub(crate) fn client_key(headers: &HeaderMap) -> Result<PublicKey, ApiError> {
    let value = headers.get(CLIENT_KEY).ok_or_else(|| {
        bad("encryptionScheme=C4GH needs the client's public key in Htsget-Context-Public-Key")
    })?;
    let value = value
        .to_str()
        .map_err(|_| bad("the Htsget-Context-Public-Key header is not base64"))?;
    PublicKey::from_header_value(value)
        .map_err(|_| bad("the Htsget-Context-Public-Key header is not a Crypt4GH public key"))
}

/// The ticket key of `nonce` (hex).
fn ticket_key(secret: &SecretKey, nonce: &str) -> [u8; 32] {
    secret.derive_key(PURPOSE, nonce.as_bytes())
}

/// The nonce of re-encrypted segment `index` under `key`: deterministic, distinct per segment.
fn segment_nonce(key: &[u8; 32], index: u64) -> [u8; 12] {
    let derived = SecretKey::from_bytes(*key).derive_key(b"segment nonce", &index.to_le_bytes());
    derived[..12].try_into().expect("32 bytes")
}

/// `plain` padded with zeros to a whole number of segments, encrypted with `key` (random
/// nonces: these bytes are made once, inline in the ticket).
fn encrypt_padded(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in plain.chunks(PLAIN as usize) {
        let mut padded = chunk.to_vec();
        padded.resize(PLAIN as usize, 0);
        let mut nonce = [0; 12];
        getrandom::fill(&mut nonce).expect("system randomness");
        out.extend(segments::encrypt(key, &nonce, &padded));
    }
    out
}

/// Where a part of the stream comes from.
enum Piece {
    /// Encrypted inline bytes.
    Inline(Vec<u8>),
    /// Stored segments `first..=last`, re-keyed by the data endpoint.
    Segments(u64, u64),
}

/// The re-keyed Crypt4GH ticket of `plan` for `client`.
pub(crate) async fn ticket(
    state: &State,
    located: &Located,
    plan: &Plan,
    format: Format,
    client: &PublicKey,
) -> Result<Ticket, ApiError> {
    let secret = state
        .c4gh
        .as_ref()
        .ok_or_else(|| bad("encrypted files are not served here"))?;
    let io = |source| Error::Io {
        what: "data file",
        source,
    };
    let encrypted = state
        .storage
        .open_encrypted(&located.data)
        .await
        .map_err(io)?;
    if encrypted.metadata() != &located.data_metadata {
        state.forget(located);
        return Err(io(Fault::Changed.into()).into());
    }
    // Cut blocks are read and re-encoded now: they go inline.
    let plan = load::inline(&*encrypted as &dyn Object, plan).await?;

    let mut nonce = [0_u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| io(io::Error::other(e.to_string())))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let key = ticket_key(secret, &nonce);

    let mut layout = Vec::new();
    let mut pieces = Vec::new();
    for part in plan.parts() {
        match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => {
                let padding = (PLAIN - bytes.len() as u64 % PLAIN) % PLAIN;
                layout.push((0, bytes.len() as u64, padding));
                pieces.push((part.section(), Piece::Inline(encrypt_padded(&key, bytes))));
            }
            Content::Span(Span::Bytes(range)) if !range.is_empty() => {
                let (first, last) = segments::covering(range.start(), range.end());
                layout.push((
                    range.start() - first * PLAIN,
                    range.len(),
                    (last + 1) * PLAIN - range.end(),
                ));
                let mut at = first;
                while at <= last {
                    let end = (at + MAX_URL_SEGMENTS - 1).min(last);
                    pieces.push((part.section(), Piece::Segments(at, end)));
                    at = end + 1;
                }
            }
            _ => {}
        }
    }
    let edit_list = edits::build(layout);
    let head = header::write(client, &[key], Some(&edit_list));

    let base = data_url(&state.public_url, &located.data);
    let version = located.data_metadata.identity().tag();
    let now = jsonwebtoken::get_current_timestamp();
    let mut locations = vec![(Section::Header, Location::Inline(&head))];
    for (section, piece) in &pieces {
        let location = match piece {
            Piece::Inline(bytes) => Location::Inline(bytes),
            Piece::Segments(first, last) => {
                let mut link = url::with_version(&base, located.data_metadata.identity());
                link.push_str(&format!(
                    "&{SEGMENTS}={first}-{last}&{TICKET_NONCE}={nonce}"
                ));
                if let Some(signer) = &state.signer {
                    link = signer.segments_url(
                        link,
                        &located.data,
                        &version,
                        &nonce,
                        (*first, *last),
                        now,
                    );
                }
                Location::Url {
                    url: link,
                    headers: Default::default(),
                }
            }
        };
        locations.push((*section, location));
    }
    Ok(Ticket::from_locations(format, locations))
}

/// The pass-through Crypt4GH ticket of `plan` for `client`: the file's own data keys and the
/// edit list in a header for the client, the stored segments as they are (byte ranges of the
/// `.c4gh` object: this server's data endpoint, or presigned store URLs for `direct` roots),
/// and the cut blocks, the EOF marker and a partial last segment encrypted with the file's key,
/// inline. The client can open every segment of the file with that key: that is the price.
pub(crate) async fn passthrough_ticket(
    state: &State,
    located: &Located,
    plan: &Plan,
    format: Format,
    client: &PublicKey,
) -> Result<Ticket, ApiError> {
    let io = |source| Error::Io {
        what: "data file",
        source,
    };
    let encrypted = state
        .storage
        .open_encrypted(&located.data)
        .await
        .map_err(io)?;
    if encrypted.metadata() != &located.data_metadata {
        state.forget(located);
        return Err(io(Fault::Changed.into()).into());
    }
    let plan = load::inline(&*encrypted as &dyn Object, plan).await?;
    let file_key = encrypted.keys()[0];
    let plain_size = encrypted.metadata().size();
    let final_segment = plain_size.div_ceil(PLAIN).saturating_sub(1);
    let partial_final = plain_size % PLAIN != 0;

    let mut layout = Vec::new();
    let mut pieces = Vec::new();
    for part in plan.parts() {
        match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => {
                let padding = (PLAIN - bytes.len() as u64 % PLAIN) % PLAIN;
                layout.push((0, bytes.len() as u64, padding));
                pieces.push((
                    part.section(),
                    Piece::Inline(encrypt_padded(&file_key, bytes)),
                ));
            }
            Content::Span(Span::Bytes(range)) if !range.is_empty() => {
                let (first, last) = segments::covering(range.start(), range.end());
                layout.push((
                    range.start() - first * PLAIN,
                    range.len(),
                    (last + 1) * PLAIN - range.end(),
                ));
                // Only a stream's last segment may be short: a short last segment of the file
                // goes padded, re-encrypted with the file's own key.
                let stored_last = if last == final_segment && partial_final {
                    last.checked_sub(1).filter(|l| *l >= first)
                } else {
                    Some(last)
                };
                if let Some(stored_last) = stored_last {
                    pieces.push((part.section(), Piece::Segments(first, stored_last)));
                }
                if stored_last != Some(last) {
                    let plain = encrypted.segments(last, last).await.map_err(io)?.remove(0);
                    pieces.push((
                        part.section(),
                        Piece::Inline(encrypt_padded(&file_key, &plain)),
                    ));
                }
            }
            _ => {}
        }
    }
    let head = header::write(client, encrypted.keys(), Some(&edits::build(layout)));

    let raw_key = format!("{}{}", located.data, htsget_core::storage::crypt4gh::SUFFIX);
    let raw = encrypted.stored().metadata().clone();
    let (header_len, stored_size) = (encrypted.header_len(), encrypted.stored().size());
    let direct = state.storage.urls(&located.data) == crate::config::UrlMode::Direct;
    let now = jsonwebtoken::get_current_timestamp();
    let mut locations = vec![(Section::Header, Location::Inline(&head))];
    for (section, piece) in &pieces {
        match piece {
            Piece::Inline(bytes) => locations.push((*section, Location::Inline(bytes))),
            Piece::Segments(first, last) => {
                let start = segments::range_of(*first, header_len, stored_size).0;
                let end = segments::range_of(*last, header_len, stored_size).1;
                for piece in htsget_core::ticket::split(htsget_core::ByteRange::new(start, end)) {
                    let (url, headers) = if direct {
                        let presigned = state
                            .storage
                            .presign(&raw_key, &raw, piece, state.config.store.presign_ttl)
                            .ok_or_else(|| io(Fault::Failed.into()))?
                            .await
                            .map_err(io)?;
                        (presigned.url, presigned.headers.into_iter().collect())
                    } else {
                        stored_url(state, &raw_key, &raw, piece, now)
                    };
                    locations.push((*section, Location::Url { url, headers }));
                }
            }
        }
    }
    Ok(Ticket::from_locations(format, locations))
}

/// This server's URL for `range` of the stored object `key` (signed under access control),
/// with its `Range` header.
fn stored_url(
    state: &State,
    key: &str,
    metadata: &htsget_core::storage::Metadata,
    range: htsget_core::ByteRange,
    now: u64,
) -> (String, std::collections::BTreeMap<String, String>) {
    let base = data_url(&state.public_url, key);
    let mut plan = Plan::new();
    plan.push(Section::Body, Content::Span(Span::Bytes(range)));
    let ticket = match &state.signer {
        Some(signer) => signer.ticket(&plan, Format::Bam, &base, key, metadata.identity(), now),
        None => Ticket::new(
            &plan,
            Format::Bam,
            &url::with_version(&base, metadata.identity()),
            &Default::default(),
        ),
    };
    let url = &ticket.urls()[0];
    (url.url().to_owned(), url.headers().clone())
}

/// The `c4=FIRST-LAST` of an unsigned data URL, if it names segments.
pub(crate) fn segments_of(query: Option<&str>) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix(SEGMENTS)?.strip_prefix('='))
    else {
        return Ok(None);
    };
    let parsed = value
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .filter(|(a, b)| a <= b);
    parsed.map(Some).ok_or_else(|| bad("malformed segments"))
}

/// Serves segments `first..=last` of the encrypted file behind `key`, re-encrypted with the
/// ticket key of the URL's nonce; a `Range` within them is honoured.
pub(crate) async fn serve(
    state: &Arc<State>,
    key: &str,
    query: Option<&str>,
    (first, last): (u64, u64),
    request: &HeaderMap,
    head: bool,
) -> Result<Response, ApiError> {
    let secret = state
        .c4gh
        .as_ref()
        .ok_or_else(|| bad("encrypted files are not served here"))?;
    let nonce = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix(TICKET_NONCE)?.strip_prefix('='))
        .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| bad("a segments URL needs its ticket nonce"))?;
    let encrypted = state.storage.open_encrypted(key).await.map_err(|e| {
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
    })?;
    if url::version_of(query) != Some(&encrypted.metadata().identity().tag()[..]) {
        return Err(Error::NotFound {
            what: "this version of the data file: ask for a new ticket".to_owned(),
        }
        .into());
    }
    let segment_count = encrypted.metadata().size().div_ceil(PLAIN);
    if last >= segment_count {
        return Err(bad("the segments are outside the file"));
    }

    let size = (last - first + 1) * ENCRYPTED;
    let range = requested_range(request, size)?;
    let (start, end) = range.unwrap_or((0, size));
    let body = if head || start == end {
        empty()
    } else {
        stream(encrypted, ticket_key(secret, nonce), first, start, end)
    };
    let mut response = octet_stream(body, end - start);
    if range.is_some() {
        let value = format!("bytes {start}-{}/{size}", end - 1);
        response.headers_mut().insert(
            headers::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("ascii"),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

/// Bytes `[start, end)` of the re-encrypted segments from `first` on, one segment at a time.
fn stream(encrypted: Arc<Encrypted>, key: [u8; 32], first: u64, start: u64, end: u64) -> Body {
    let (from, to) = (first + start / ENCRYPTED, first + (end - 1) / ENCRYPTED);
    let chunks = futures_util::stream::iter(from..=to).then(move |index| {
        let encrypted = Arc::clone(&encrypted);
        async move {
            let mut plain = encrypted.segments(index, index).await?.remove(0);
            plain.resize(PLAIN as usize, 0);
            let sealed = segments::encrypt(&key, &segment_nonce(&key, index), &plain);
            let base = (index - first) * ENCRYPTED;
            let lo = start.saturating_sub(base) as usize;
            let hi = ((end - base) as usize).min(sealed.len());
            Ok::<_, io::Error>(Frame::data(Bytes::copy_from_slice(&sealed[lo..hi])))
        }
    });
    StreamBody::new(chunks).boxed_unsync()
}
