//! Crypt4GH over htsget, by role: the ticket side ([`rekey`]: a fresh data key per ticket;
//! [`passthrough`]: the stored segments as they are), the data endpoint's side ([`serve`]) and
//! the sealing stream it uses ([`seal`]), over what they share here: the client's key and
//! sealing inline bytes. Re-keyed tickets serve encrypted files and plain ones alike; their
//! data keys come from [`crate::data_url::TicketKeys`].

pub(super) mod passthrough;
pub(super) mod rekey;
mod seal;
mod serve;

use std::borrow::Cow;

use htsget_core::{
    Error, Location, Reason, Section,
    crypt4gh::{
        keys::PublicKey,
        layout::Layout,
        segments::{self, PLAIN},
    },
};
use hyper::header::HeaderValue;

pub(super) use self::serve::serve;
use super::error::ApiError;

/// A bad request of a re-encrypted URL.
fn bad(message: &'static str) -> ApiError {
    Error::invalid_input(Reason::MalformedDataUrl, message).into()
}

/// The client's public key from the `Htsget-Context-Public-Key` header's value.
pub(super) fn client_key(value: &HeaderValue) -> Result<PublicKey, ApiError> {
    let refuse = |message: &'static str| Error::invalid_input(Reason::ClientKey, message);
    let value = value
        .to_str()
        .map_err(|_| refuse("the Htsget-Context-Public-Key header is not base64"))?;
    PublicKey::from_header_value(value).map_err(|_| {
        refuse("the Htsget-Context-Public-Key header is not a Crypt4GH public key").into()
    })
}

/// `bytes` of `section`, sealed inline with `key` as the next piece of the stream `layout`
/// lays out (`last`: they end it, unpadded).
fn seal_into(
    layout: &mut Layout,
    key: &[u8; 32],
    (section, bytes): (Section, Vec<u8>),
    last: bool,
    out: &mut Vec<(Section, Location<'_>)>,
) {
    layout.push_sealed(bytes.len() as u64, last);
    let sealed = seal_inline(key, &bytes, last);
    out.push((section, Location::Inline(Cow::Owned(sealed))));
}

/// `plain` encrypted with `key` in segments under random nonces (these bytes are made once,
/// inline in a ticket), the last padded with zeros to a whole segment unless `exact`.
fn seal_inline(key: &[u8; 32], plain: &[u8], exact: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut padded = Vec::new();
    for chunk in plain.chunks(PLAIN as usize) {
        let chunk = if exact {
            chunk
        } else {
            padded.clear();
            padded.extend_from_slice(chunk);
            padded.resize(PLAIN as usize, 0);
            &padded
        };
        let mut nonce = [0; 12];
        getrandom::fill(&mut nonce).expect("system randomness");
        out.extend(segments::encrypt(key, &nonce, chunk));
    }
    out
}
