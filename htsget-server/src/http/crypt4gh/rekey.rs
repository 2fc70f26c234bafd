//! Re-keyed Crypt4GH tickets, of encrypted files (re-keyed) and plain ones (encrypted on the
//! fly) alike: a fresh data key per ticket, derived from the secret the replicas share and a
//! nonce the ticket's URLs carry, so any replica serves any URL of it. The ticket is an
//! inline Crypt4GH header for the client's key (that data key and an edit list), then, for each
//! part of the plan, either a URL whose plaintext (a byte range, or a BGZF span's contents) the
//! data endpoint seals with the ticket key in fresh segments padded at its end, or the part
//! itself (a header block, the EOF marker) sealed inline. The edit list drops the padding, so
//! the plaintext after it is exactly the plain payload, and the ticket key opens nothing but
//! what the ticket holds.

use std::sync::Arc;

use htsget_core::{
    Content, Location, MAX_URL_RANGE, Part, Section, Served, Span,
    crypt4gh::{header, keys::PublicKey, layout::Layout},
    storage::Object,
};

use super::seal_into;
use crate::{
    data_url::FileSigner,
    data_url::{DataUrl, Nonce, Serves},
    http::error::ApiError,
    ids::Located,
    state::State,
};

/// A re-keyed ticket in the making.
pub(crate) struct ReKey {
    client: PublicKey,
    nonce: Nonce,
    key: [u8; 32],
    /// The file's plaintext (an encrypted file's decrypted view).
    file: Arc<dyn Object>,
    signer: Option<FileSigner>,
    layout: Layout,
    /// The latest inline bytes: padded if another part follows, exact if they end the stream.
    pending: Option<(Section, Vec<u8>)>,
}

impl ReKey {
    /// A re-keyed ticket of `located` (encrypted or plain) for `client`, under a fresh nonce.
    pub(crate) async fn new(
        state: &State,
        located: &Located,
        client: PublicKey,
    ) -> Result<Self, ApiError> {
        let file = state.open_located(located).await?;
        let nonce = crate::http::fresh_nonce()?;
        let version = located.data_metadata.identity().tag();
        let now = crate::data_url::unix_now();
        let signer = state
            .signer
            .as_ref()
            .map(|signer| signer.file(&located.data, &version, Some(&nonce), now));
        Ok(Self {
            client,
            key: state.ticket_keys.key(&nonce),
            nonce,
            file,
            signer,
            layout: Layout::new(),
            pending: None,
        })
    }

    /// The locations of `part`: inline bytes sealed here, the rest as URLs the data endpoint
    /// seals. Each becomes its own run of fresh segments, padded at its end; only the stream's
    /// last piece goes unpadded, so inline bytes wait for the next part to be sealed.
    pub(crate) async fn part<'p>(
        &mut self,
        state: &State,
        located: &Located,
        part: &'p Part,
        out: &mut Vec<(Section, Location<'p>)>,
    ) -> Result<(), ApiError> {
        let version = located.data_metadata.identity().tag();
        let section = part.section();
        let serves: Vec<(u64, Serves)> = match part.content() {
            Content::Inline(bytes) if !bytes.is_empty() => {
                self.seal_pending(false, out);
                self.pending = Some((section, bytes.clone()));
                return Ok(());
            }
            Content::Span(Span::Bytes(range)) if !range.is_empty() => range
                .chunks(MAX_URL_RANGE)
                .map(|piece| (piece.len(), Serves::Sealed(piece)))
                .collect(),
            Content::Span(Span::Bgzf(span)) => {
                let contents = state
                    .span_contents(&located.data, &*self.file, span)
                    .await?;
                let len: u64 = contents.iter().map(Served::len).sum();
                if len == 0 {
                    return Ok(());
                }
                vec![(len, Serves::Span(*span))]
            }
            _ => return Ok(()),
        };
        self.seal_pending(false, out);
        for (len, serves) in serves {
            self.layout.push_sealed(len, false);
            let url = DataUrl::new(located.data.as_str(), version.as_str())
                .serving(serves)
                .sealed_with(self.nonce);
            let url = match &self.signer {
                Some(signer) => signer.sign(url),
                None => url,
            };
            let url = url.to_url(&state.public_url);
            let headers = Default::default();
            out.push((section, Location::Url { url, headers }));
        }
        Ok(())
    }

    /// Seals the inline bytes waiting, if any (`last`: they end the stream, unpadded).
    fn seal_pending(&mut self, last: bool, out: &mut Vec<(Section, Location<'_>)>) {
        if let Some(pending) = self.pending.take() {
            seal_into(&mut self.layout, &self.key, pending, last, out);
        }
    }

    /// Ends the ticket: the inline bytes waiting sealed as the stream's last piece, and the
    /// Crypt4GH header for the client (the ticket key and the edit list).
    pub(crate) fn finish(
        &mut self,
        headers: &header::Writer,
        out: &mut Vec<(Section, Location<'_>)>,
    ) -> Vec<u8> {
        self.seal_pending(true, out);
        headers.write(&self.client, &[self.key], Some(&self.layout.edits()))
    }
}
