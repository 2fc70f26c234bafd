//! Ticket locations every policy makes alike: a byte range of a file on this server (signed
//! for exactly that range under access control), or presigned on the object store.

use std::collections::BTreeMap;

use htsget_core::{
    ByteRange, Error, Location,
    storage::{Fault, Metadata, Storage as _},
};

use super::error::ApiError;
use crate::{
    data_url::FileSigner,
    data_url::{DataUrl, Serves},
    state::State,
};

/// This server's location of `piece` of file `key` at `version`, with its `Range` header: a
/// URL signed for exactly that piece when there is a `signer`, else the file's URL.
pub(super) fn server_bytes(
    public_url: &str,
    key: &str,
    version: &str,
    signer: Option<&FileSigner>,
    piece: ByteRange,
) -> Location<'static> {
    let url = DataUrl::new(key, version);
    let url = match signer {
        Some(signer) => signer.sign(url.serving(Serves::Bytes(piece))),
        None => url,
    };
    let headers = BTreeMap::from([("Range".to_owned(), piece.to_string())]);
    Location::Url {
        url: url.to_url(public_url),
        headers,
    }
}

/// The store's presigned location of `piece` of the version `metadata` describes of `key`.
pub(super) async fn presigned(
    state: &State,
    key: &str,
    metadata: &Metadata,
    piece: ByteRange,
) -> Result<Location<'static>, ApiError> {
    let io = |source| Error::Io {
        what: "data file",
        source,
    };
    let presigned = state
        .storage
        .presign(key, metadata, piece, state.config.store.presign_ttl)
        .ok_or_else(|| io(Fault::Failed.into()))?
        .await
        .map_err(io)?;
    Ok(Location::Url {
        url: presigned.url,
        headers: presigned.headers.into_iter().collect(),
    })
}
