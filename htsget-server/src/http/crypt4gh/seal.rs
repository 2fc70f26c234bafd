//! The sealing stream of a re-encrypted data URL: the plaintext it serves (file bytes, a BGZF
//! span's contents) read in jobs of [`BATCH`] segments (opened from the stored ciphertext of an
//! encrypted file, read as they are from a plain one) and sealed in fresh segments with the ticket key under nonces derived per segment, a few jobs in
//! flight, on the blocking pool, in recycled buffers.

use std::{io, sync::Arc};

use bytes::Bytes;
use futures_util::StreamExt as _;
use htsget_core::{
    ByteRange, Served,
    crypt4gh::{
        keys::SecretKey,
        segments::{self, ENCRYPTED, PLAIN},
    },
    storage::{Encrypted, Object},
};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;

use super::super::{
    Body,
    buffers::{Home, Pool},
};

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

/// The file a stream's plaintext comes from.
#[derive(Clone)]
pub(super) enum Plaintext {
    /// An encrypted file: its stored segments are read and opened.
    Encrypted(Encrypted),
    /// A plain file, read as it is.
    Plain(Arc<dyn Object>),
}

/// What one job seals: stream segments `first..=last` of a re-keyed URL.
struct Batch {
    file: Plaintext,
    contents: Arc<Vec<Served>>,
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
    /// Bytes of an inline content (a cut block's part: small), copied.
    Inline(Vec<u8>),
    /// File plaintext from `offset`, in the stored ciphertext of segments from `first` on.
    Stored {
        encrypted: Encrypted,
        first: u64,
        ciphertext: Vec<u8>,
        offset: u64,
    },
    /// File plaintext, read from a plain file (in a recycled buffer).
    Read(Vec<u8>),
}

impl Batch {
    /// The sealed segments, `(last - first + 1) * ENCRYPTED` bytes: the stored ciphertext is
    /// read here, opened and sealed anew on the blocking pool.
    async fn seal(mut self) -> io::Result<Bytes> {
        let _turn = SEALING
            .acquire()
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let total: u64 = self.contents.iter().map(Served::len).sum();
        let at = self.first * PLAIN;
        let until = ((self.last + 1) * PLAIN).min(total);
        // Stretches of plaintext: (where in the batch, how long, from where).
        let mut sources = Vec::new();
        let mut offset = 0;
        for content in self.contents.iter() {
            let (from, to) = (offset, offset + content.len());
            offset = to;
            let (lo, hi) = (at.max(from), until.min(to));
            if lo >= hi {
                continue;
            }
            let source = match content {
                Served::Inline(bytes) => {
                    Source::Inline(bytes[(lo - from) as usize..(hi - from) as usize].to_vec())
                }
                Served::Bytes(range) => {
                    let offset = range.start() + lo - from;
                    let buf = std::mem::take(&mut self.ciphertext);
                    match &self.file {
                        Plaintext::Encrypted(encrypted) => {
                            let (first, last) = segments::covering(offset, offset + hi - lo);
                            Source::Stored {
                                encrypted: encrypted.clone(),
                                first,
                                ciphertext: encrypted.ciphertext(first, last, buf).await?,
                                offset,
                            }
                        }
                        Plaintext::Plain(object) => {
                            let mut buf = buf;
                            buf.resize((hi - lo) as usize, 0);
                            let read = object.read_at(offset, buf).await?;
                            if read.len() as u64 != hi - lo {
                                return Err(io::ErrorKind::UnexpectedEof.into());
                            }
                            Source::Read(read)
                        }
                    }
                }
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
            if let Source::Stored {
                ciphertext: read, ..
            }
            | Source::Read(read) = source
            {
                ciphertexts.give(read);
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
                Source::Inline(bytes) | Source::Read(bytes) => out.copy_from_slice(bytes),
                Source::Stored {
                    encrypted,
                    first,
                    ciphertext,
                    offset,
                } => encrypted.decrypt_into(*first, ciphertext, *offset, out)?,
            }
        }
        Ok(())
    }
}

/// Bytes `[start, end)` of the re-encrypted stream of `contents`, in batches of [`BATCH`]
/// segments, [`AHEAD`] at once; each segment's nonce is derived from the ticket key, the URL's
/// `label` and the segment's index, so any replica gives the same bytes for the same URL.
pub(super) fn stream(
    file: Plaintext,
    contents: Arc<Vec<Served>>,
    key: [u8; 32],
    label: String,
    range: ByteRange,
) -> Body {
    let (start, end) = (range.start(), range.end());
    let label: Arc<str> = label.into();
    let (from, to) = (start / ENCRYPTED, (end - 1) / ENCRYPTED);
    let mut buffers = Buffers {
        ciphertext: Pool::new(),
        plain: Pool::new(),
        sealed: Pool::new(),
    };
    let batches = (from..=to).step_by(BATCH as usize).map(move |first| Batch {
        file: file.clone(),
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
