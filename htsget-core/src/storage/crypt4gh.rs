//! Encrypted files seen as plaintext: a [`Storage`] that answers for `key` with the plaintext of
//! `key.c4gh` (decrypting only the segments a read touches) where `key` itself is not there, so
//! facts and resolution work on encrypted files unchanged. The header is opened with the
//! server's secret key when a file is opened.

use std::{io, sync::Arc};

use super::{BoxFuture, Encryption, Identity, Metadata, Object, Storage};
use crate::crypt4gh::{
    header,
    keys::SecretKey,
    segments::{self, ENCRYPTED, PLAIN},
};

/// The largest header read (64 packets of 64 KiB).
const MAX_HEADER: u64 = 16 + header::MAX_PACKETS as u64 * header::MAX_PACKET_BYTES as u64;

/// Opened headers kept, at most (the least used go first).
const MAX_OPENED: usize = 4096;

/// `inner`, with `key.c4gh` readable as `key` in plaintext.
#[derive(Debug)]
pub struct Crypt4ghStorage {
    inner: Arc<dyn Storage>,
    key: Arc<SecretKey>,
    /// Headers opened, by the stored object's key and identity (a replaced file has another
    /// identity; two objects never share an entry): opening one costs a read and an X25519
    /// exchange, and every ticket and data URL opens its file.
    opened: quick_cache::sync::Cache<(String, Identity), Opened>,
}

/// What an opened header tells: its length and the file's data keys.
type Opened = (u64, Arc<[[u8; 32]]>);

impl Crypt4ghStorage {
    /// The plaintext view of `inner`'s encrypted files, opened with `key` (shared, so a server
    /// holds its one key once for every root).
    pub fn new(inner: Arc<dyn Storage>, key: impl Into<Arc<SecretKey>>) -> Self {
        Self {
            inner,
            key: key.into(),
            opened: quick_cache::sync::Cache::new(MAX_OPENED),
        }
    }

    /// Opens `key.c4gh` as its plaintext.
    ///
    /// # Errors
    ///
    /// `NotFound` if it is not there; `InvalidData` if its header does not open with this
    /// server's key, holds an edit list, or its size cannot be a Crypt4GH file.
    async fn open_encrypted(&self, key: &str) -> io::Result<Arc<Encrypted>> {
        let name = Encryption::Crypt4gh.stored_key(key).into_owned();
        let object = self.inner.open(&name).await?;
        let cached = (name, object.metadata().identity().clone());
        let encrypted = match self.opened.get(&cached) {
            Some((header_len, keys)) => Encrypted::with_header(object, header_len, keys)?,
            None => {
                let encrypted = Encrypted::open(object, &self.key).await?;
                let opened = (encrypted.header_len, Arc::clone(&encrypted.keys));
                self.opened.insert(cached, opened);
                encrypted
            }
        };
        Ok(Arc::new(encrypted))
    }
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

impl Storage for Crypt4ghStorage {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        Box::pin(async move {
            match self.inner.head(key).await {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    Ok(self.open_encrypted(key).await?.metadata().clone())
                }
                other => other,
            }
        })
    }

    fn heads<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Vec<io::Result<Metadata>>> {
        Box::pin(async move {
            let mut found = self.inner.heads(keys).await;
            for (key, head) in keys.iter().zip(&mut found) {
                if matches!(head, Err(e) if e.kind() == io::ErrorKind::NotFound) {
                    *head = self.open_encrypted(key).await.map(|e| e.metadata().clone());
                }
            }
            found
        })
    }

    fn presign<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
        range: crate::ByteRange,
        ttl: std::time::Duration,
    ) -> Option<BoxFuture<'a, io::Result<super::Presigned>>> {
        // Only stored objects (ciphertext included) are presigned, never a plaintext view.
        self.inner.presign(key, metadata, range, ttl)
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        Box::pin(async move {
            match self.inner.open(key).await {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let object: Arc<dyn Object> = self.open_encrypted(key).await?;
                    Ok(object)
                }
                other => other,
            }
        })
    }
}

/// An encrypted file's plaintext, decrypted segment by segment as it is read; the last
/// segment decrypted is kept, so reads that walk the file decrypt each segment once. Clones
/// share the stored object, the keys and the kept segment.
#[derive(Clone, Debug)]
pub struct Encrypted {
    inner: Arc<dyn Object>,
    header_len: u64,
    keys: Arc<[[u8; 32]]>,
    metadata: Metadata,
    last: Arc<std::sync::Mutex<Option<Kept>>>,
}

/// A decrypted segment kept for the next read: its index and plaintext.
type Kept = (u64, Arc<Vec<u8>>);

impl Encrypted {
    async fn open(inner: Arc<dyn Object>, secret: &SecretKey) -> io::Result<Self> {
        let size = inner.size();
        let mut bytes = inner.read(0, size.min(64 << 10) as usize).await?;
        let len = loop {
            match header::length(&bytes).map_err(invalid)? {
                Some(len) => break len,
                None if (bytes.len() as u64) < size.min(MAX_HEADER) => {
                    let more = (bytes.len() as u64 * 2).min(size).min(MAX_HEADER);
                    bytes = inner.read(0, more as usize).await?;
                }
                None => return Err(invalid("a truncated Crypt4GH header")),
            }
        };
        if len > size {
            return Err(invalid("a truncated Crypt4GH header"));
        }
        if (bytes.len() as u64) < len {
            bytes = inner.read(0, len as usize).await?;
        }
        let opened = header::read(&bytes, secret)
            .map_err(invalid)?
            .ok_or_else(|| invalid("a truncated Crypt4GH header"))?;
        if opened.edits.is_some() {
            return Err(invalid("stored files with an edit list are not supported"));
        }
        Self::with_header(inner, len, opened.keys.into())
    }

    /// `inner`, whose header (`header_len` bytes) holds `keys`.
    fn with_header(
        inner: Arc<dyn Object>,
        header_len: u64,
        keys: Arc<[[u8; 32]]>,
    ) -> io::Result<Self> {
        let plain = segments::plain_size(inner.size(), header_len).map_err(invalid)?;
        let identity = inner.metadata().identity().clone();
        Ok(Self {
            inner,
            header_len,
            keys,
            metadata: Metadata::new(plain, identity).with_encryption(Encryption::Crypt4gh),
            last: Arc::default(),
        })
    }

    /// The stored (encrypted) object.
    pub fn stored(&self) -> &Arc<dyn Object> {
        &self.inner
    }

    /// The stored header's length: where segment 0 starts.
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// The file's data keys.
    pub fn keys(&self) -> &[[u8; 32]] {
        &self.keys
    }

    /// The stored bytes of segments `first..=last` in `buf` (resized to fit, so a buffer of
    /// the right length is reused as it is), for [`Encrypted::decrypt_into`].
    ///
    /// # Errors
    ///
    /// The store's; `UnexpectedEof` if the object ends before them.
    pub async fn ciphertext(&self, first: u64, last: u64, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
        let (start, _) = segments::range_of(first, self.header_len, self.inner.size());
        let (_, end) = segments::range_of(last, self.header_len, self.inner.size());
        if end <= start {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.resize((end - start) as usize, 0);
        let bytes = self.inner.read_at(start, buf).await?;
        if (bytes.len() as u64) < end - start {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(bytes)
    }

    /// Writes the plaintext bytes `[offset, offset + out.len())` into `out`, opening
    /// `ciphertext`: the stored segments from `first` on, as [`Encrypted::ciphertext`] gave
    /// them, which must cover those bytes. Whole segments are opened straight into `out`; no
    /// other allocation than one segment for a partly used one at either end. Pure CPU work.
    ///
    /// # Errors
    ///
    /// `InvalidData` if a segment fails authentication or the ciphertext does not cover the
    /// bytes.
    pub fn decrypt_into(
        &self,
        first: u64,
        ciphertext: &[u8],
        offset: u64,
        out: &mut [u8],
    ) -> io::Result<()> {
        let end = offset + out.len() as u64;
        let mut spare = Vec::new();
        let mut written = offset;
        for (i, segment) in ciphertext.chunks(ENCRYPTED as usize).enumerate() {
            let base = (first + i as u64) * PLAIN;
            let plain_len = (segment.len() as u64).saturating_sub(28);
            let (lo, hi) = (offset.max(base), end.min(base + plain_len));
            if lo >= hi {
                continue;
            }
            if lo != written {
                return Err(invalid("the ciphertext does not cover the range"));
            }
            let at = (lo - offset) as usize;
            if lo == base && hi == base + plain_len {
                segments::decrypt_to(&self.keys, segment, &mut out[at..at + plain_len as usize])
                    .map_err(invalid)?;
            } else {
                spare.resize(plain_len as usize, 0);
                segments::decrypt_to(&self.keys, segment, &mut spare).map_err(invalid)?;
                out[at..at + (hi - lo) as usize]
                    .copy_from_slice(&spare[(lo - base) as usize..(hi - base) as usize]);
            }
            written = hi;
        }
        if written != end {
            return Err(invalid("the ciphertext does not cover the range"));
        }
        Ok(())
    }

    /// The plaintext of segments `first..=last`, each checked.
    pub async fn segments(&self, first: u64, last: u64) -> io::Result<Vec<Vec<u8>>> {
        Ok(self
            .cached_segments(first, last)
            .await?
            .into_iter()
            .map(|segment| segment.to_vec())
            .collect())
    }

    /// As [`Encrypted::segments`], sharing the kept segment.
    async fn cached_segments(&self, first: u64, last: u64) -> io::Result<Vec<Arc<Vec<u8>>>> {
        let kept = self.last.lock().expect("not poisoned").clone();
        let mut out = Vec::with_capacity((last - first + 1) as usize);
        let mut from = first;
        if let Some((index, segment)) = kept
            && index == first
        {
            out.push(segment);
            from += 1;
        }
        if from <= last {
            let (start, _) = segments::range_of(from, self.header_len, self.inner.size());
            let (_, end) = segments::range_of(last, self.header_len, self.inner.size());
            let bytes = self.inner.read(start, (end - start) as usize).await?;
            if (bytes.len() as u64) < end - start {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            for segment in bytes.chunks(ENCRYPTED as usize) {
                out.push(Arc::new(
                    segments::decrypt(&self.keys, segment).map_err(invalid)?,
                ));
            }
        }
        if let Some(segment) = out.last() {
            *self.last.lock().expect("not poisoned") = Some((last, Arc::clone(segment)));
        }
        Ok(out)
    }
}

impl Object for Encrypted {
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn crypt4gh(&self) -> Option<&Encrypted> {
        Some(self)
    }

    fn read_at(&self, offset: u64, mut buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let end = (offset + buf.len() as u64).min(self.metadata.size());
        let this = self.clone();
        Box::pin(async move {
            if end <= offset {
                buf.clear();
                return Ok(buf);
            }
            let (first, last) = segments::covering(offset, end);
            let plain = this.cached_segments(first, last).await?;
            buf.truncate((end - offset) as usize);
            let mut at = 0;
            for (i, segment) in plain.iter().enumerate() {
                let base = (first + i as u64) * PLAIN;
                let from = offset.saturating_sub(base) as usize;
                let to = ((end - base) as usize).min(segment.len());
                if from >= to {
                    continue;
                }
                buf[at..at + to - from].copy_from_slice(&segment[from..to]);
                at += to - from;
            }
            if at < buf.len() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(buf)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStorage;
    use crate::storage::test_run as run;

    /// A `len`-byte plaintext and the storage holding it encrypted as `x.c4gh` for `server`.
    fn encrypted_file(dir: &std::path::Path, server: &SecretKey, len: usize) -> Vec<u8> {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let key = [4; 32];
        let mut file = header::write(&server.public(), &[key], None);
        for (i, chunk) in plain.chunks(PLAIN as usize).enumerate() {
            let nonce = [i as u8; 12];
            file.extend(segments::encrypt(&key, &nonce, chunk));
        }
        std::fs::write(dir.join("x.c4gh"), file).unwrap();
        plain
    }

    #[test]
    fn test_plaintext_views_agree() {
        let dir = tempfile::tempdir().unwrap();
        let server = SecretKey::generate();
        let plain = encrypted_file(dir.path(), &server, 3 * PLAIN as usize + 1000);
        let storage = Crypt4ghStorage::new(Arc::new(LocalStorage::new(dir.path())), server);
        run(async {
            let encrypted = storage.open_encrypted("x").await.unwrap();
            assert_eq!(encrypted.metadata().size(), plain.len() as u64);
            assert_eq!(encrypted.metadata().encryption(), Encryption::Crypt4gh);
            let whole = storage.open("x").await.unwrap();
            for (offset, len) in [(0, 10), (65_530, 20), (0, plain.len()), (100, 3 * 65_536)] {
                let expected = &plain[offset..offset + len];
                assert_eq!(whole.read(offset as u64, len).await.unwrap(), expected);
                let (first, last) = segments::covering(offset as u64, (offset + len) as u64);
                let ciphertext = encrypted.ciphertext(first, last, Vec::new()).await.unwrap();
                let mut out = vec![0; len];
                encrypted
                    .decrypt_into(first, &ciphertext, offset as u64, &mut out)
                    .unwrap();
                assert_eq!(out, expected, "{offset} {len}");
            }
            // Ciphertext that does not cover the bytes, or was tampered with, is refused.
            let ciphertext = encrypted.ciphertext(1, 1, vec![9; 5]).await.unwrap();
            let mut out = vec![0; 100];
            assert!(encrypted.decrypt_into(1, &ciphertext, 0, &mut out).is_err());
            assert!(
                encrypted
                    .decrypt_into(1, &ciphertext, 2 * PLAIN - 50, &mut out)
                    .is_err()
            );
            let mut bad = ciphertext.clone();
            bad[100] ^= 1;
            assert!(encrypted.decrypt_into(1, &bad, PLAIN, &mut out).is_err());
            assert!(encrypted.ciphertext(4, 4, Vec::new()).await.is_err());

            // The header is opened once per file version: a replaced file is opened anew.
            assert_eq!(storage.opened.len(), 1);
            let again = storage.open_encrypted("x").await.unwrap();
            assert_eq!(again.metadata(), encrypted.metadata());
            assert_eq!(storage.opened.len(), 1);
            let plain = encrypted_file(dir.path(), &storage.key, 100);
            let replaced = storage.open_encrypted("x").await.unwrap();
            assert_eq!(replaced.read(0, 200).await.unwrap(), plain);
            assert_eq!(storage.opened.len(), 2);
        });
    }
}
