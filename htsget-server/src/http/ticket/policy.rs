//! The ticket policy: how the parts of a plan become a ticket's locations, chosen once per
//! request from the root, access control and the encryption asked for. This is the one place
//! that knows how a part becomes a URL.

use std::borrow::Cow;

use htsget_core::{
    Content, Error, Location, MAX_URL_RANGE, Plan, Reason, Section, Span, Ticket, load,
    storage::Encryption,
};

#[cfg(feature = "crypt4gh")]
use super::super::crypt4gh::{passthrough::PassThrough, rekey::ReKey};
use super::{
    super::{error::ApiError, locations},
    Asked,
};
use crate::{
    config::UrlMode,
    data_url::FileSigner,
    data_url::{DataUrl, Serves},
    ids::Located,
    state::State,
};

/// The Crypt4GH public key of a client that asks for a Crypt4GH stream (there is none to have
/// in a build without Crypt4GH).
#[cfg(feature = "crypt4gh")]
pub(crate) type ClientKey = htsget_core::crypt4gh::keys::PublicKey;
/// The Crypt4GH public key of a client that asks for a Crypt4GH stream (there is none to have
/// in a build without Crypt4GH).
#[cfg(not(feature = "crypt4gh"))]
pub(crate) type ClientKey = std::convert::Infallible;

/// How a ticket's parts are placed.
pub(super) enum Policy {
    /// URLs on this server, each signed for exactly what it serves when access control is on.
    Server(Option<FileSigner>),
    /// Presigned URLs straight to the object store; the cut blocks of BGZF spans inline.
    Direct,
    /// Crypt4GH re-keyed for the client.
    #[cfg(feature = "crypt4gh")]
    ReKey(Box<ReKey>),
    /// Crypt4GH, the stored segments passed through.
    #[cfg(feature = "crypt4gh")]
    PassThrough(Box<PassThrough>),
}

impl Policy {
    /// The policy for `located`, for a client that `asked` for an encryption.
    ///
    /// # Errors
    ///
    /// 400 for an encrypted file asked in plaintext, or in Crypt4GH without the client's key.
    pub(super) async fn choose(
        state: &State,
        located: &Located,
        asked: Asked,
    ) -> Result<Self, ApiError> {
        let refuse = |message| Err(Error::invalid_input(Reason::EncryptionScheme, message).into());
        let encrypted = located.data_metadata.encryption() == Encryption::Crypt4gh;
        match (encrypted, asked.key) {
            #[cfg(feature = "crypt4gh")]
            (true, Some(client))
                if asked.passthrough && state.storage.passthrough(&located.data) =>
            {
                Ok(Self::PassThrough(Box::new(
                    PassThrough::new(state, located, client).await?,
                )))
            }
            // Encrypted files re-keyed, plain ones encrypted on the fly: the same stream.
            #[cfg(feature = "crypt4gh")]
            (_, Some(client)) => Ok(Self::ReKey(Box::new(
                ReKey::new(state, located, client).await?,
            ))),
            #[cfg(not(feature = "crypt4gh"))]
            (_, Some(never)) => match never {},
            (true, None) if asked.crypt4gh => refuse(
                "this id is stored encrypted: send your Crypt4GH public key in \
                 Htsget-Context-Public-Key",
            ),
            (true, None) => refuse(
                "this id is stored encrypted: ask with encryptionScheme=crypt4gh and your \
                 Crypt4GH public key in Htsget-Context-Public-Key",
            ),
            (false, None) => Ok(match state.storage.urls(&located.data) {
                UrlMode::Direct => Self::Direct,
                UrlMode::Server => Self::Server(state.signer.as_ref().map(|signer| {
                    let now = crate::data_url::unix_now();
                    let version = located.data_metadata.identity().tag();
                    signer.file(&located.data, &version, None, now)
                })),
            }),
        }
    }

    /// The ticket of `plan` of `located`.
    pub(super) async fn ticket(
        mut self,
        state: &State,
        located: &Located,
        plan: &Plan,
    ) -> Result<Ticket, ApiError> {
        let plan = self.expanded(state, located, plan).await?;
        let version = located.data_metadata.identity().tag();
        let parts = plan.parts();
        let mut out: Vec<(Section, Location<'_>)> = Vec::with_capacity(parts.len() + 1);
        for part in parts {
            let section = part.section();
            match (&mut self, part.content()) {
                #[cfg(feature = "crypt4gh")]
                (Self::ReKey(rekey), _) => rekey.part(state, located, part, &mut out).await?,
                #[cfg(feature = "crypt4gh")]
                (Self::PassThrough(through), _) => through.part(state, part, &mut out).await?,
                (_, Content::Inline(bytes)) => {
                    out.push((section, Location::Inline(Cow::Borrowed(bytes))));
                }
                (Self::Server(signer), Content::Span(Span::Bytes(range))) => {
                    for piece in range.chunks(MAX_URL_RANGE) {
                        let signer = signer.as_ref();
                        let public = &state.public_url;
                        let location =
                            locations::server_bytes(public, &located.data, &version, signer, piece);
                        out.push((section, location));
                    }
                }
                (Self::Server(signer), Content::Span(Span::Bgzf(span))) => {
                    let url = DataUrl::new(located.data.as_str(), version.as_str())
                        .serving(Serves::Span(*span));
                    let url = match signer {
                        Some(signer) => signer.sign(url),
                        None => url,
                    };
                    let url = url.to_url(&state.public_url);
                    let headers = Default::default();
                    out.push((section, Location::Url { url, headers }));
                }
                (Self::Direct, Content::Span(Span::Bytes(range))) => {
                    for piece in range.chunks(MAX_URL_RANGE) {
                        let metadata = &located.data_metadata;
                        let location =
                            locations::presigned(state, &located.data, metadata, piece).await?;
                        out.push((section, location));
                    }
                }
                // `expanded` leaves no BGZF span for a direct ticket.
                (Self::Direct, Content::Span(Span::Bgzf(_))) => {}
            }
        }
        let header = match &mut self {
            #[cfg(feature = "crypt4gh")]
            Self::ReKey(rekey) => Some(rekey.finish(&state.headers, &mut out)),
            #[cfg(feature = "crypt4gh")]
            Self::PassThrough(through) => Some(through.finish(&state.headers, &mut out)),
            Self::Server(_) | Self::Direct => None,
        };
        if let Some(header) = header {
            out.insert(0, (Section::Header, Location::Inline(Cow::Owned(header))));
        }
        Ok(Ticket::from_locations(located.format, out))
    }

    /// `plan`, with its BGZF spans expanded (cut blocks inline, whole blocks as ranges) for
    /// policies whose URLs cannot name a span: direct (the server never touches body bytes)
    /// and pass-through to direct URLs (stored segments hold no re-encoded block; on this
    /// server's URLs, a pass-through ticket takes the spans itself).
    async fn expanded<'p>(
        &self,
        state: &State,
        located: &Located,
        plan: &'p Plan,
    ) -> Result<Cow<'p, Plan>, ApiError> {
        let spans = plan
            .parts()
            .iter()
            .any(|part| matches!(part.content(), Content::Span(Span::Bgzf(_))));
        if !spans {
            return Ok(Cow::Borrowed(plan));
        }
        match self {
            Self::Direct => {
                let object = state.open_located(located).await?;
                Ok(Cow::Owned(load::inline(&*object, plan).await?))
            }
            #[cfg(feature = "crypt4gh")]
            Self::PassThrough(through) if through.takes_spans() => Ok(Cow::Borrowed(plan)),
            #[cfg(feature = "crypt4gh")]
            Self::PassThrough(through) => {
                let mut inlined = Plan::new();
                for part in plan.parts() {
                    let Content::Span(Span::Bgzf(span)) = part.content() else {
                        inlined.push(part.section(), part.content().clone());
                        continue;
                    };
                    let contents = state
                        .span_contents(&located.data, through.encrypted(), span)
                        .await?;
                    for served in contents.iter() {
                        inlined.push(part.section(), served.clone().into());
                    }
                }
                Ok(Cow::Owned(inlined))
            }
            _ => Ok(Cow::Borrowed(plan)),
        }
    }
}
