//! Pass-through Crypt4GH tickets: the file's own data keys and the edit list in a header for
//! the client, the stored segments as they are (byte ranges of the `.c4gh` object: this
//! server's data endpoint, or presigned store URLs for `direct` roots), and what the stored
//! segments cannot give:
//!
//! - on this server's URLs, the cut blocks of BGZF spans are data URLs the data endpoint seals
//!   with a ticket key (derived from the nonce they carry, as re-keyed URLs are; the header
//!   holds it beside the file's keys), so the ticket stays small and costs no sealing; other
//!   inline bytes (the EOF marker) are sealed inline with that key, the last unpadded;
//! - for `direct` roots, the cut blocks and the EOF marker are sealed inline with the file's
//!   key, padded.
//!
//! A short final segment is re-sealed inline with the file's key. The client can open every
//! segment of the file with that key: that is the price.

use std::borrow::Cow;

use htsget_core::{
    ByteRange, Content, Location, MAX_URL_RANGE, Part, Section, Served, Span,
    crypt4gh::{
        header,
        keys::PublicKey,
        layout::{Layout, Window},
        segments,
    },
    storage::{Encrypted, Encryption, Metadata, Object as _},
};

use super::{bad, seal_inline, seal_into};
use crate::{
    config::UrlMode,
    data_url::{DataUrl, FileSigner, Nonce, Serves},
    http::{error::ApiError, locations},
    ids::Located,
    state::State,
};

/// What serves the cut blocks of a pass-through ticket on this server's URLs: the plaintext
/// file's key and version, the ticket nonce and key, and the signer of its URLs.
struct Cuts {
    data: String,
    version: String,
    nonce: Nonce,
    key: [u8; 32],
    signer: Option<FileSigner>,
}

impl Cuts {
    /// The location of `url`, signed where URLs are.
    fn location(&self, state: &State, url: DataUrl) -> Location<'static> {
        let url = match &self.signer {
            Some(signer) => signer.sign(url),
            None => url,
        };
        let url = url.to_url(&state.public_url);
        Location::Url {
            url,
            headers: Default::default(),
        }
    }
}

/// A pass-through ticket in the making.
pub(crate) struct PassThrough {
    client: PublicKey,
    encrypted: Encrypted,
    /// The stored object's key and metadata.
    raw: (String, Metadata),
    /// Presigned store URLs (else this server's).
    direct: bool,
    signer: Option<FileSigner>,
    layout: Layout,
    /// Inline bytes in a row (the cut blocks of small spans), sealed together when the row
    /// ends.
    run: Option<(Section, Vec<u8>)>,
    /// On this server's URLs, cut blocks are data URLs; `None` for `direct` roots.
    cuts: Option<Cuts>,
}

impl PassThrough {
    /// A pass-through ticket of `located` (an encrypted file) for `client`.
    pub(crate) async fn new(
        state: &State,
        located: &Located,
        client: PublicKey,
    ) -> Result<Self, ApiError> {
        let object = state.open_located(located).await?;
        let encrypted = object
            .crypt4gh()
            .cloned()
            .ok_or_else(|| bad("this file is not encrypted"))?;
        let raw_key = Encryption::Crypt4gh.stored_key(&located.data).into_owned();
        let raw = encrypted.stored().metadata().clone();
        let direct = state.storage.urls(&located.data) == UrlMode::Direct;
        let now = crate::data_url::unix_now();
        let signer = state
            .signer
            .as_ref()
            .filter(|_| !direct)
            .map(|signer| signer.file(&raw_key, &raw.identity().tag(), None, now));
        let cuts = if direct {
            None
        } else {
            let nonce = crate::http::fresh_nonce()?;
            let version = located.data_metadata.identity().tag();
            let signer = state
                .signer
                .as_ref()
                .map(|signer| signer.file(&located.data, &version, Some(&nonce), now));
            Some(Cuts {
                data: located.data.clone(),
                version,
                key: state.ticket_keys.key(&nonce),
                nonce,
                signer,
            })
        };
        Ok(Self {
            client,
            encrypted,
            raw: (raw_key, raw),
            direct,
            signer,
            layout: Layout::new(),
            run: None,
            cuts,
        })
    }

    /// Whether BGZF spans stay in the plan (their cut blocks become data URLs), rather than
    /// being expanded before the parts come.
    pub(crate) fn takes_spans(&self) -> bool {
        self.cuts.is_some()
    }

    /// The encrypted file (its BGZF spans are expanded before the parts come, unless
    /// [`Self::takes_spans`]).
    pub(crate) fn encrypted(&self) -> &Encrypted {
        &self.encrypted
    }

    /// The locations of `part` (BGZF spans already expanded into inline bytes and ranges).
    pub(crate) async fn part(
        &mut self,
        state: &State,
        part: &Part,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Result<(), ApiError> {
        let section = part.section();
        match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => match &mut self.run {
                Some((held, run)) if *held == section => run.extend(bytes),
                _ => {
                    self.flush(out);
                    self.run = Some((section, bytes.clone()));
                }
            },
            Content::Span(Span::Bytes(range)) if !range.is_empty() => {
                self.flush(out);
                self.range(state, section, *range, out).await?;
            }
            Content::Span(Span::Bgzf(span)) => self.span(state, section, span, out).await?,
            _ => {}
        }
        Ok(())
    }

    /// A BGZF span (on this server's URLs): its whole blocks from the stored segments, each cut
    /// block a data URL the data endpoint seals with the ticket key.
    async fn span(
        &mut self,
        state: &State,
        section: Section,
        span: &htsget_core::BgzfSpan,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Result<(), ApiError> {
        let Some(cuts) = &self.cuts else {
            return Err(bad("a span reached a pass-through ticket for direct URLs"));
        };
        let contents = state
            .span_contents(&cuts.data, &self.encrypted, span)
            .await?;
        for (index, served) in contents.iter().enumerate() {
            match served {
                Served::Bytes(range) if !range.is_empty() => {
                    self.flush(out);
                    self.range(state, section, *range, out).await?;
                }
                Served::Inline(bytes) if !bytes.is_empty() => {
                    self.flush(out);
                    let Some(cuts) = &self.cuts else { continue };
                    let index = u8::try_from(index)
                        .ok()
                        .filter(|i| *i < crate::data_url::MAX_CUT)
                        .ok_or_else(|| bad("a span with too many parts"))?;
                    self.layout.push_sealed(bytes.len() as u64, false);
                    let url = DataUrl::new(cuts.data.as_str(), cuts.version.as_str())
                        .serving(Serves::Cut(*span, index))
                        .sealed_with(cuts.nonce);
                    out.push((section, cuts.location(state, url)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The stored segments holding `range`, and a short final segment sealed inline.
    async fn range(
        &mut self,
        state: &State,
        section: Section,
        range: ByteRange,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Result<(), ApiError> {
        let window = Window::of(range, self.encrypted.metadata().size());
        self.layout.push_window(&window, range.len());
        if let Some(stored_last) = window.stored_last {
            let (header_len, size) = (self.encrypted.header_len(), self.encrypted.stored().size());
            let start = segments::range_of(window.first, header_len, size).0;
            let end = segments::range_of(stored_last, header_len, size).1;
            let (key, metadata) = &self.raw;
            for piece in ByteRange::new(start, end).chunks(MAX_URL_RANGE) {
                let location = if self.direct {
                    locations::presigned(state, key, metadata, piece).await?
                } else {
                    let version = metadata.identity().tag();
                    let signer = self.signer.as_ref();
                    locations::server_bytes(&state.public_url, key, &version, signer, piece)
                };
                out.push((section, location));
            }
        }
        if window.reseals_last()
            && let Some(cuts) = &self.cuts
        {
            // The file's short final segment, sealed padded by the data endpoint.
            let size = self.encrypted.metadata().size();
            let start = window.last * segments::PLAIN;
            let end = (start + segments::PLAIN).min(size);
            let url = DataUrl::new(cuts.data.as_str(), cuts.version.as_str())
                .serving(Serves::Sealed(ByteRange::new(start, end)))
                .sealed_with(cuts.nonce);
            out.push((section, cuts.location(state, url)));
        } else if window.reseals_last() {
            let plain = self
                .encrypted
                .segments(window.last, window.last)
                .await
                .map_err(|source| htsget_core::Error::Io {
                    what: "data file",
                    source,
                })?
                .remove(0);
            let sealed = seal_inline(&self.encrypted.keys()[0], &plain, false);
            out.push((section, Location::Inline(Cow::Owned(sealed))));
        }
        Ok(())
    }

    /// Seals the run of inline bytes held, if any (`last`: it ends the stream, unpadded, which
    /// only the ticket key's pieces do).
    fn seal_run(&mut self, last: bool, out: &mut Vec<(Section, Location<'_>)>) {
        if let Some(run) = self.run.take() {
            match &self.cuts {
                Some(cuts) => seal_into(&mut self.layout, &cuts.key, run, last, out),
                None => seal_into(&mut self.layout, &self.encrypted.keys()[0], run, false, out),
            }
        }
    }

    /// Seals the run of inline bytes held, if any, padded.
    fn flush(&mut self, out: &mut Vec<(Section, Location<'_>)>) {
        self.seal_run(false, out);
    }

    /// Ends the ticket: the run held sealed, and the header for the client (the file's keys,
    /// the ticket key on this server's URLs, and the edit list).
    pub(crate) fn finish(
        &mut self,
        headers: &header::Writer,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Vec<u8> {
        self.seal_run(true, out);
        let mut keys = self.encrypted.keys().to_vec();
        keys.extend(self.cuts.as_ref().map(|cuts| cuts.key));
        headers.write(&self.client, &keys, Some(&self.layout.edits()))
    }
}
