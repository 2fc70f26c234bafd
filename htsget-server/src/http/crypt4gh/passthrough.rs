//! Pass-through Crypt4GH tickets: the file's own data keys and the edit list in a header for
//! the client, the stored segments as they are (byte ranges of the `.c4gh` object: this
//! server's data endpoint, or presigned store URLs for `direct` roots), and the cut blocks, the
//! EOF marker and a short final segment sealed with the file's key, inline. The client can
//! open every segment of the file with that key: that is the price.

use std::borrow::Cow;

use htsget_core::{
    ByteRange, Content, Location, MAX_URL_RANGE, Part, Section, Span,
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
    data_url::FileSigner,
    http::{error::ApiError, locations},
    ids::Located,
    state::State,
};

/// The suffix of stored Crypt4GH objects.
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
        Ok(Self {
            client,
            encrypted,
            raw: (raw_key, raw),
            direct,
            signer,
            layout: Layout::new(),
            run: None,
        })
    }

    /// The encrypted file (its BGZF spans are expanded before the parts come).
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
            _ => {}
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
        if window.reseals_last() {
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

    /// Seals the run of inline bytes held, if any.
    fn flush(&mut self, out: &mut Vec<(Section, Location<'_>)>) {
        if let Some(run) = self.run.take() {
            let key = &self.encrypted.keys()[0];
            seal_into(&mut self.layout, key, run, false, out);
        }
    }

    /// Ends the ticket: the run held sealed, and the header for the client (the file's keys
    /// and the edit list).
    pub(crate) fn finish(
        &mut self,
        headers: &header::Writer,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Vec<u8> {
        self.flush(out);
        headers.write(
            &self.client,
            self.encrypted.keys(),
            Some(&self.layout.edits()),
        )
    }
}
