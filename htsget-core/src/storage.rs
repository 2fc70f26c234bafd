//! Where file bytes come from: the one seam between resolution and the bytes of files.
//!
//! A [`Storage`] names objects by `/`-separated relative keys (`bam/sample.bam`). Opening a key
//! gives an [`Object`]: a handle with a size, an [`Identity`] and positional reads, so a stream
//! reads through one handle instead of reopening the object per chunk. Every method is async
//! and object-safe (`Arc<dyn Storage>` works), so local files and object stores fit behind it
//! alike; [`LocalStorage`] is the local implementation.

mod blocking;
mod local;

use std::{fmt, future::Future, io, pin::Pin, sync::Arc};

pub use self::local::LocalStorage;
pub(crate) use blocking::blocking;

/// A boxed, sendable future: what [`Storage`] and [`Object`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Objects (files, or objects of a store) by key.
///
/// Implementations must never reach outside their own root: a key that is absolute, holds a
/// `..` segment, or leads out of the root in any other way is [`io::ErrorKind::NotFound`].
pub trait Storage: Send + Sync + fmt::Debug {
    /// What is known of `key` without opening it: its size and identity. Missing objects are
    /// [`io::ErrorKind::NotFound`].
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>>;

    /// Opens `key` for positional reads.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>>;
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

    /// Reads up to `len` bytes at `offset`; fewer only at the end of the object.
    fn read(&self, offset: u64, len: usize) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let available = usize::try_from(self.size().saturating_sub(offset)).unwrap_or(usize::MAX);
        self.read_at(offset, vec![0; len.min(available)])
    }
}

/// An object's size and identity.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Metadata {
    size: u64,
    identity: Identity,
}

impl Metadata {
    /// An object of `size` bytes with `identity`.
    pub fn new(size: u64, identity: Identity) -> Self {
        Self { size, identity }
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
