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
    span::url,
    storage::{Fault, Object, crypt4gh::Encrypted},
    ticket::Location,
};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::{HeaderMap, body::Frame};

use super::{
    Body, Response,
    buffers::{Home, Pool},
    data::{open_error, ranged, requested_range},
    empty,
    error::ApiError,
    ticket::data_url,
};
use crate::{
    access::signed::{SEGMENTS, Signed, TICKET_NONCE},
    ids::Located,
    state::State,
};

/// The request header holding the client's public key (base64 of its key file).
pub(crate) const CLIENT_KEY: &str = "htsget-context-public-key";

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

/// A data-file I/O error.
fn io(source: io::Error) -> Error {
    Error::Io {
        what: "data file",
        source,
    }
}

/// The encrypted file `located` names, as it was when located (else the location is forgotten
/// and the store's change reported).
async fn open_located(state: &State, located: &Located) -> Result<Arc<Encrypted>, ApiError> {
    let encrypted = state
        .storage
        .open_encrypted(&located.data)
        .await
        .map_err(io)?;
    if encrypted.metadata() != &located.data_metadata {
        state.forget(located);
        return Err(io(Fault::Changed.into()).into());
    }
    Ok(encrypted)
}

/// Where a part of the stream comes from.
enum Piece {
    /// Encrypted inline bytes.
    Inline(Vec<u8>),
    /// Stored segments `first..=last`, passed through.
    Segments(u64, u64),
    /// Plaintext the data endpoint re-encrypts with the ticket key.
    ReKeyed(ReKeyed),
}

/// The plaintext a re-keyed URL serves, in fresh segments padded at the end.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum ReKeyed {
    /// The file's plaintext bytes `[start, end)`.
    Bytes(u64, u64),
    /// A BGZF span's contents (cut blocks re-encoded around whole blocks).
    Span(htsget_core::BgzfSpan),
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
    let encrypted = open_located(state, located).await?;
    let mut nonce = [0_u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| io(io::Error::other(e.to_string())))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let key = ticket_key(secret, &nonce);

    // Each part becomes its own run of fresh segments: a URL serving its plaintext (a byte
    // range, or a BGZF span's contents) re-encrypted on a new 64 KiB grid, padded at its end;
    // or, for bytes of the plan itself, inline. Only the stream's last piece goes unpadded.
    let parts = plan.parts();
    let mut layout = Vec::new();
    let mut pieces = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => {
                let padding = if last { 0 } else { padding(bytes.len() as u64) };
                layout.push((0, bytes.len() as u64, padding));
                let sealed = if last {
                    encrypt_exact(&key, bytes)
                } else {
                    encrypt_padded(&key, bytes)
                };
                pieces.push((part.section(), Piece::Inline(sealed)));
            }
            Content::Span(Span::Bytes(range)) if !range.is_empty() => {
                for piece in htsget_core::ticket::split(*range) {
                    layout.push((0, piece.len(), padding(piece.len())));
                    pieces.push((
                        part.section(),
                        Piece::ReKeyed(ReKeyed::Bytes(piece.start(), piece.end())),
                    ));
                }
            }
            Content::Span(Span::Bgzf(span)) => {
                let contents = state
                    .span_contents(&located.data, &*encrypted, span)
                    .await?;
                let len: u64 = contents.iter().map(Content::len).sum();
                if len > 0 {
                    layout.push((0, len, padding(len)));
                    pieces.push((part.section(), Piece::ReKeyed(ReKeyed::Span(*span))));
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
            // Re-keyed tickets name no stored segments.
            Piece::Segments(..) => continue,
            Piece::ReKeyed(what) => {
                let mut link = url::with_version(&base, located.data_metadata.identity());
                let signed = match what {
                    ReKeyed::Bytes(start, end) => {
                        link.push_str(&format!("&{SEGMENTS}={start}-{end}"));
                        Signed::Segments {
                            first: *start,
                            last: *end,
                        }
                    }
                    ReKeyed::Span(span) => {
                        let (a, b) = (u64::from(span.start()), u64::from(span.end()));
                        link.push_str(&format!("&{}={a}-{b}", url::PARAMETER));
                        Signed::Span(*span)
                    }
                };
                link.push_str(&format!("&{TICKET_NONCE}={nonce}"));
                if let Some(signer) = &state.signer {
                    link = signer.rekeyed_url(link, &located.data, &version, &nonce, signed, now);
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

/// Zeros that fill `len` bytes up to a whole number of segments.
fn padding(len: u64) -> u64 {
    (PLAIN - len % PLAIN) % PLAIN
}

/// `plain` encrypted with `key` as segments, the last one as short as the bytes.
fn encrypt_exact(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in plain.chunks(PLAIN as usize) {
        let mut nonce = [0; 12];
        getrandom::fill(&mut nonce).expect("system randomness");
        out.extend(segments::encrypt(key, &nonce, chunk));
    }
    out
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
    let encrypted = open_located(state, located).await?;
    let mut inlined = Plan::new();
    for part in plan.parts() {
        match part.content() {
            Content::Span(Span::Bgzf(span)) => {
                for content in state
                    .span_contents(&located.data, &*encrypted, span)
                    .await?
                    .iter()
                {
                    inlined.push(part.section(), content.clone());
                }
            }
            content => inlined.push(part.section(), content.clone()),
        }
    }
    let plan = inlined;
    let file_key = encrypted.keys()[0];
    let plain_size = encrypted.metadata().size();
    let final_segment = plain_size.div_ceil(PLAIN).saturating_sub(1);
    let partial_final = plain_size % PLAIN != 0;

    let mut layout = Vec::new();
    let mut pieces = Vec::new();
    // Inline bytes in a row (the cut blocks of small spans) share padded segments.
    let mut run: Option<(Section, Vec<u8>)> = None;
    let flush = |run: &mut Option<(Section, Vec<u8>)>,
                 layout: &mut Vec<(u64, u64, u64)>,
                 pieces: &mut Vec<(Section, Piece)>| {
        if let Some((section, bytes)) = run.take() {
            layout.push((0, bytes.len() as u64, padding(bytes.len() as u64)));
            pieces.push((section, Piece::Inline(encrypt_padded(&file_key, &bytes))));
        }
    };
    for part in plan.parts() {
        match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => match &mut run {
                Some((section, held)) if *section == part.section() => held.extend(bytes),
                _ => {
                    flush(&mut run, &mut layout, &mut pieces);
                    run = Some((part.section(), bytes.clone()));
                }
            },
            Content::Span(Span::Bytes(range)) if !range.is_empty() => {
                flush(&mut run, &mut layout, &mut pieces);
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
    flush(&mut run, &mut layout, &mut pieces);
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
            // Pass-through tickets re-key nothing.
            Piece::ReKeyed(_) => {}
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

/// What an unsigned data URL asks to have re-keyed: `c4=START-END` (a plaintext byte range),
/// or `span=S-E` with a ticket nonce `k`.
pub(crate) fn rekeyed_of(query: Option<&str>) -> Result<Option<ReKeyed>, ApiError> {
    let param = |name: &str| {
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    if param(TICKET_NONCE).is_none() {
        return Ok(None);
    }
    if let Some(value) = param(SEGMENTS) {
        let parsed = value
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
            .filter(|(a, b)| a < b);
        return parsed
            .map(|(a, b)| Some(ReKeyed::Bytes(a, b)))
            .ok_or_else(|| bad("malformed c4 range"));
    }
    match url::span_of(query)? {
        Some(span) => Ok(Some(ReKeyed::Span(span))),
        None => Err(bad("a re-keyed URL names a c4 range or a span")),
    }
}

/// Serves `what` of the encrypted file behind `key`, re-encrypted with the ticket key of the
/// URL's nonce in fresh segments (the last padded); a `Range` within them is honoured.
pub(crate) async fn serve(
    state: &Arc<State>,
    key: &str,
    query: Option<&str>,
    what: ReKeyed,
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
        .ok_or_else(|| bad("a re-keyed URL needs its ticket nonce"))?;
    let encrypted = state
        .storage
        .open_encrypted(key)
        .await
        .map_err(open_error)?;
    if url::version_of(query) != Some(&encrypted.metadata().identity().tag()[..]) {
        return Err(Error::NotFound {
            what: "this version of the data file: ask for a new ticket".to_owned(),
        }
        .into());
    }
    let (contents, label) = match what {
        ReKeyed::Bytes(start, end) => {
            if end > encrypted.metadata().size() {
                return Err(bad("the range is outside the file"));
            }
            let range = htsget_core::ByteRange::new(start, end);
            (
                Arc::new(vec![Content::Span(Span::Bytes(range))]),
                format!("bytes {start}-{end}"),
            )
        }
        ReKeyed::Span(span) => {
            let contents = state
                .span_contents(key, &*encrypted, &span)
                .await
                .map_err(|_| bad("the span does not fit this file's blocks"))?;
            let label = format!("span {}-{}", u64::from(span.start()), u64::from(span.end()));
            (contents, label)
        }
    };
    let len: u64 = contents.iter().map(Content::len).sum();
    let size = len.div_ceil(PLAIN) * ENCRYPTED;
    let range = requested_range(request, size)?;
    let (start, end) = range.unwrap_or((0, size));
    let body = if head || start == end {
        empty()
    } else {
        let key = ticket_key(secret, nonce);
        stream(encrypted, contents, key, label, start, end)
    };
    Ok(ranged(body, range.map(|_| (start, end)), size))
}

/// Stream segments made per job: 512 KiB of plaintext, the unit of work handed to the
/// blocking pool.
const BATCH: u64 = 8;

/// Jobs of one stream in flight at once: while one batch is written out, the next ones are
/// being read and sealed, on other cores where there are some.
const AHEAD: usize = 3;

/// Jobs reading and sealing at once, server-wide: twice the cores. A stream past that waits its
/// turn rather than queueing CPU work (and the buffers it fills) on the blocking pool without
/// bound, so many re-keyed streams share the cores and the memory stays what the jobs in
/// flight hold.
static SEALING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    tokio::sync::Semaphore::new(2 * cores)
});

/// The buffers of one re-keyed stream, recycled: ciphertext read, plaintext opened, segments
/// sealed (lent to the frames that send them). Each kind keeps its length, so a recycled
/// buffer is used as it is, never zeroed again.
struct Buffers {
    ciphertext: Pool,
    plain: Pool,
    sealed: Pool,
}

/// What one job seals: stream segments `first..=last` of a re-keyed URL.
struct Batch {
    encrypted: Arc<Encrypted>,
    contents: Arc<Vec<Content>>,
    key: [u8; 32],
    label: Arc<str>,
    first: u64,
    last: u64,
    /// Buffers taken from the stream's [`Buffers`] (plain, sealed), and where they go back.
    plain: Vec<u8>,
    sealed: Vec<u8>,
    ciphertext: Vec<u8>,
    homes: [Home; 3],
}

/// Where a stretch of a batch's plaintext comes from.
enum Source {
    /// Bytes of an inline content: its index and the stretch within it.
    Inline(usize, usize, usize),
    /// File plaintext from `offset`, in the stored ciphertext of segments from `first` on.
    Stored {
        first: u64,
        ciphertext: Vec<u8>,
        offset: u64,
    },
}

impl Batch {
    /// The sealed segments, `(last - first + 1) * ENCRYPTED` bytes: the stored ciphertext is
    /// read here, opened and sealed anew on the blocking pool.
    async fn seal(mut self) -> io::Result<Bytes> {
        let _turn = SEALING
            .acquire()
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let total: u64 = self.contents.iter().map(Content::len).sum();
        let at = self.first * PLAIN;
        let until = ((self.last + 1) * PLAIN).min(total);
        // Stretches of plaintext: (where in the batch, how long, from where).
        let mut sources = Vec::new();
        let mut offset = 0;
        for (index, content) in self.contents.iter().enumerate() {
            let (from, to) = (offset, offset + content.len());
            offset = to;
            let (lo, hi) = (at.max(from), until.min(to));
            if lo >= hi {
                continue;
            }
            let source = match content {
                Content::Inline(_) => {
                    Source::Inline(index, (lo - from) as usize, (hi - from) as usize)
                }
                Content::Span(Span::Bytes(range)) => {
                    let offset = range.start() + lo - from;
                    let (first, last) = segments::covering(offset, offset + hi - lo);
                    let buf = std::mem::take(&mut self.ciphertext);
                    let ciphertext = self.encrypted.ciphertext(first, last, buf).await?;
                    Source::Stored {
                        first,
                        ciphertext,
                        offset,
                    }
                }
                Content::Span(Span::Bgzf(_)) => return Err(io::ErrorKind::InvalidData.into()),
            };
            sources.push(((lo - at) as usize, (hi - lo) as usize, source));
        }
        let filled = (until - at) as usize;
        tokio::task::spawn_blocking(move || self.seal_now(sources, filled))
            .await
            .map_err(|e| io::Error::other(e.to_string()))?
    }

    /// The CPU half of [`Batch::seal`]: `sources` fill the first `filled` bytes of plaintext.
    fn seal_now(
        mut self,
        sources: Vec<(usize, usize, Source)>,
        filled: usize,
    ) -> io::Result<Bytes> {
        let count = (self.last - self.first + 1) as usize;
        let mut plain = std::mem::take(&mut self.plain);
        plain.resize(count * PLAIN as usize, 0);
        // Zeros past the contents pad the stream's last segment.
        plain[filled..].fill(0);
        let [ciphertexts, plains, sealeds] = self.homes.clone();
        let opened = self.open(&sources, &mut plain);
        for (_, _, source) in sources {
            if let Source::Stored { ciphertext, .. } = source {
                ciphertexts.give(ciphertext);
            }
        }
        if let Err(e) = opened {
            plains.give(plain);
            return Err(e);
        }
        let mut sealed = std::mem::take(&mut self.sealed);
        sealed.resize(count * ENCRYPTED as usize, 0);
        let seed = SecretKey::from_bytes(self.key);
        for (i, (plain, out)) in plain
            .chunks(PLAIN as usize)
            .zip(sealed.chunks_mut(ENCRYPTED as usize))
            .enumerate()
        {
            let index = self.first + i as u64;
            let nonce = seed.derive_key(self.label.as_bytes(), &index.to_le_bytes());
            let nonce: [u8; 12] = nonce[..12].try_into().expect("32 bytes");
            segments::encrypt_to(&self.key, &nonce, plain, out);
        }
        plains.give(plain);
        Ok(sealeds.frame(sealed))
    }

    /// Writes the plaintext of `sources` into `plain`.
    fn open(&self, sources: &[(usize, usize, Source)], plain: &mut [u8]) -> io::Result<()> {
        for (at, len, source) in sources {
            let out = &mut plain[*at..at + len];
            match source {
                Source::Inline(index, lo, hi) => {
                    let Content::Inline(bytes) = &self.contents[*index] else {
                        unreachable!("an inline source is an inline content");
                    };
                    out.copy_from_slice(&bytes[*lo..*hi]);
                }
                Source::Stored {
                    first,
                    ciphertext,
                    offset,
                } => self
                    .encrypted
                    .decrypt_into(*first, ciphertext, *offset, out)?,
            }
        }
        Ok(())
    }
}

/// Bytes `[start, end)` of the re-encrypted stream of `contents`, in batches of [`BATCH`]
/// segments, [`AHEAD`] at once; each segment's nonce is derived from the ticket key, the URL's
/// `label` and the segment's index, so any replica gives the same bytes for the same URL.
fn stream(
    encrypted: Arc<Encrypted>,
    contents: Arc<Vec<Content>>,
    key: [u8; 32],
    label: String,
    start: u64,
    end: u64,
) -> Body {
    let label: Arc<str> = label.into();
    let (from, to) = (start / ENCRYPTED, (end - 1) / ENCRYPTED);
    let mut buffers = Buffers {
        ciphertext: Pool::new(),
        plain: Pool::new(),
        sealed: Pool::new(),
    };
    let batches = (from..=to).step_by(BATCH as usize).map(move |first| Batch {
        encrypted: Arc::clone(&encrypted),
        contents: Arc::clone(&contents),
        key,
        label: Arc::clone(&label),
        first,
        last: (first + BATCH - 1).min(to),
        plain: buffers.plain.take_any(),
        sealed: buffers.sealed.take_any(),
        ciphertext: buffers.ciphertext.take_any(),
        homes: [
            buffers.ciphertext.home(),
            buffers.plain.home(),
            buffers.sealed.home(),
        ],
    });
    let frames = futures_util::stream::iter(batches)
        .map(move |batch| {
            let base = batch.first * ENCRYPTED;
            async move {
                let sealed = batch.seal().await?;
                // Only the requested bytes of the first and last batch.
                let lo = start.saturating_sub(base) as usize;
                let hi = ((end - base) as usize).min(sealed.len());
                Ok::<_, io::Error>(Frame::data(sealed.slice(lo..hi)))
            }
        })
        .buffered(AHEAD);
    StreamBody::new(frames).boxed_unsync()
}
