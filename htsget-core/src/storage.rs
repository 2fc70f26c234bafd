//! Where file bytes come from: the one seam between resolution and the bytes of files.
//!
//! A [`Storage`] names objects by `/`-separated relative keys (`bam/sample.bam`). Opening a key
//! gives an [`Object`]: a handle with a size, an [`Identity`] and positional reads, so a stream
//! reads through one handle instead of reopening the object per chunk. Every method is async
//! and object-safe (`Arc<dyn Storage>` works), so local files and object stores fit behind it
//! alike; [`LocalStorage`] is the local implementation.

mod blocking;
#[cfg(feature = "crypt4gh")]
mod crypt4gh;
mod local;
#[cfg(feature = "object-store")]
mod object;

use std::{fmt, future::Future, io, pin::Pin, sync::Arc, time::Duration};

#[cfg(feature = "crypt4gh")]
pub use self::crypt4gh::{Crypt4ghStorage, Encrypted};
pub use self::local::LocalStorage;
#[cfg(feature = "object-store")]
pub use self::object::{ObjectStorage, StoreOptions};

use crate::ByteRange;
pub(crate) use blocking::blocking;

/// A boxed, sendable future: what [`Storage`] and [`Object`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stream of an object's bytes ([`Object::stream`]).
pub type ByteStream = Pin<Box<dyn futures_core::Stream<Item = io::Result<bytes::Bytes>> + Send>>;

/// Objects (files, or objects of a store) by key.
///
/// Implementations must never reach outside their own root: a key that is absolute, holds a
/// `..` segment, or leads out of the root in any other way is [`io::ErrorKind::NotFound`].
pub trait Storage: Send + Sync + fmt::Debug {
    /// What is known of `key` without opening it: its size and identity. Missing objects are
    /// [`io::ErrorKind::NotFound`].
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>>;

    /// What [`Storage::head`] knows of each of `keys`, in order, asked at once: local files
    /// check them all in one job on the blocking pool, where one job per key would cost a
    /// thread hand-off each. By default, one `head` after another, up to the first that fails
    /// other than [`io::ErrorKind::NotFound`] (a store down or slow is not asked again): the keys
    /// after it are [`io::ErrorKind::Interrupted`].
    fn heads<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Vec<io::Result<Metadata>>> {
        Box::pin(async move {
            let mut found = Vec::with_capacity(keys.len());
            let mut failed = false;
            for key in keys {
                if failed {
                    let skipped = "not asked: an earlier key failed";
                    found.push(Err(io::Error::new(io::ErrorKind::Interrupted, skipped)));
                    continue;
                }
                let head = self.head(key).await;
                failed = matches!(&head, Err(e) if e.kind() != io::ErrorKind::NotFound);
                found.push(head);
            }
            found
        })
    }

    /// Opens `key` for positional reads.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>>;

    /// Opens `key` whose metadata a [`Storage::head`] just gave, so an object store need not
    /// ask again; reads still fail if the object is no longer that version. By default, opens.
    fn open_known<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
    ) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        let _ = metadata;
        self.open(key)
    }

    /// A URL that reads `range` of the version `metadata` describes of `key` straight from the
    /// store for `ttl`, and the headers a client must send with it; `None` where the storage
    /// cannot presign (local files).
    fn presign<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
        range: ByteRange,
        ttl: Duration,
    ) -> Option<BoxFuture<'a, io::Result<Presigned>>> {
        let _ = (key, metadata, range, ttl);
        None
    }
}

/// A presigned URL and the headers that must go with it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Presigned {
    /// The URL, signature included.
    pub url: String,
    /// Headers the signature covers (`Range`, `If-Match`), which the client must send.
    pub headers: Vec<(String, String)>,
}

/// Why a store could not serve, carried inside an [`io::Error`] so that callers can tell a
/// store that is down, slow or refusing (a gateway problem) from a broken file.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The store did not answer within the time allowed, retries included.
    #[error("the store did not answer in time")]
    TimedOut,
    /// The store answered with an error, or the connection failed.
    #[error("the store failed")]
    Failed,
    /// The store refused the server's credentials.
    #[error("the store refused access")]
    Refused,
    /// The object is no longer the version that was opened.
    #[error("the object changed since it was opened")]
    Changed,
}

impl Fault {
    /// The fault inside `error`, if it carries one.
    pub fn of(error: &io::Error) -> Option<Fault> {
        let inner = error.get_ref()?;
        inner
            .downcast_ref::<Fault>()
            .copied()
            .or_else(|| inner.downcast_ref::<Detailed>().map(|d| d.fault))
    }

    /// This fault as an I/O error that also carries `detail` (the store's own words, for the
    /// log; clients are shown the fault alone).
    pub fn with_detail(self, detail: impl fmt::Display) -> io::Error {
        io::Error::new(
            self.kind(),
            Detailed {
                fault: self,
                detail: detail.to_string(),
            },
        )
    }

    fn kind(self) -> io::ErrorKind {
        match self {
            Self::TimedOut => io::ErrorKind::TimedOut,
            Self::Refused => io::ErrorKind::PermissionDenied,
            Self::Failed | Self::Changed => io::ErrorKind::Other,
        }
    }
}

impl From<Fault> for io::Error {
    fn from(fault: Fault) -> Self {
        io::Error::new(fault.kind(), fault)
    }
}

/// A fault with the store's description of it.
#[derive(Debug, thiserror::Error)]
#[error("{fault} ({detail})")]
struct Detailed {
    fault: Fault,
    detail: String,
}

/// An opened object: its size and identity as of opening, and reads at any offset.
pub trait Object: Send + Sync + fmt::Debug {
    /// The size and identity the object had when opened.
    fn metadata(&self) -> &Metadata;

    /// Fills `buf` with the bytes at `offset` and gives it back, shortened only where the
    /// object ends. Taking the buffer lets a stream recycle a few buffers for any length.
    fn read_at(&self, offset: u64, buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>>;

    /// The object's size in bytes.
    fn size(&self) -> u64 {
        self.metadata().size()
    }

    /// The bytes of `range` as one stream of chunks, for storage where one long read beats
    /// many positional ones (an object store: one ranged GET instead of a request per chunk);
    /// `None` where positional reads are as good (local files). The stream fails, rather than
    /// ends early, if the object cannot give every byte.
    fn stream(&self, range: ByteRange) -> Option<ByteStream> {
        let _ = range;
        None
    }

    /// The Crypt4GH file behind this plaintext, where the object is one
    /// ([`Encryption::Crypt4gh`]).
    #[cfg(feature = "crypt4gh")]
    fn crypt4gh(&self) -> Option<&crypt4gh::Encrypted> {
        None
    }

    /// Reads up to `len` bytes at `offset`; fewer only at the end of the object.
    fn read(&self, offset: u64, len: usize) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let available = usize::try_from(self.size().saturating_sub(offset)).unwrap_or(usize::MAX);
        self.read_at(offset, vec![0; len.min(available)])
    }
}

/// An object's size, identity and encryption.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Metadata {
    size: u64,
    identity: Identity,
    encryption: Encryption,
}

/// The suffix of the keys of Crypt4GH files.
const CRYPT4GH_SUFFIX: &str = ".c4gh";

/// How an object's bytes are stored: what a server must never serve as they are read.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Encryption {
    /// Stored as they are read.
    #[default]
    None,
    /// Decrypted from a Crypt4GH file (`key.c4gh`): the bytes read are its plaintext, which
    /// only the key holder may see.
    Crypt4gh,
}

impl Encryption {
    /// The key of the stored object that `key` is read from: `key.c4gh` for a Crypt4GH file.
    pub fn stored_key(self, key: &str) -> std::borrow::Cow<'_, str> {
        match self {
            Self::None => key.into(),
            Self::Crypt4gh => format!("{key}{CRYPT4GH_SUFFIX}").into(),
        }
    }
}

impl Metadata {
    /// An object of `size` bytes with `identity`, stored as it is read.
    pub fn new(size: u64, identity: Identity) -> Self {
        Self {
            size,
            identity,
            encryption: Encryption::None,
        }
    }

    /// This metadata, of an object read through `encryption`.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// How the object is stored.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// What tells one version of an object from another: it changes whenever the object is
/// replaced or rewritten (for local files: device, inode, size and modification time; for an
/// object store: the ETag). Keys caches, and lets a reader notice an object changed under it.
#[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Identity(Arc<str>);

impl Identity {
    /// An identity from its opaque text form.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::storage::Identity;
    /// let etag = Identity::new("\"9b2cf535f27731c974343645a3985328\"");
    /// assert_eq!(etag, Identity::new(etag.as_str()));
    /// ```
    pub fn new(tag: impl Into<Arc<str>>) -> Self {
        Self(tag.into())
    }

    /// The opaque text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, stable tag of the identity for URLs (16 hex digits of a 64-bit FNV-1a hash):
    /// the same in every process, so any replica can check a URL another one made.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::storage::Identity;
    /// assert_eq!(Identity::new("a").tag(), Identity::new("a").tag());
    /// assert_ne!(Identity::new("a").tag(), Identity::new("b").tag());
    /// assert_eq!(Identity::new("a").tag().len(), 16);
    /// ```
    pub fn tag(&self) -> String {
        let hash = self
            .0
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{hash:016x}")
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the whole of `object`.
pub(crate) async fn read_all(object: &dyn Object) -> io::Result<Vec<u8>> {
    let len = usize::try_from(object.size()).map_err(io::Error::other)?;
    object.read(0, len).await
}

/// Runs `future` on a fresh single-threaded runtime: the storage unit tests' executor.
#[cfg(test)]
pub(crate) fn test_run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stored_key_with_each_encryption() {
        assert_eq!(Encryption::None.stored_key("a/x.bam"), "a/x.bam");
        assert_eq!(Encryption::Crypt4gh.stored_key("a/x.bam"), "a/x.bam.c4gh");
    }
}
