//! Signed data URLs: with access control on, every data URL of a ticket carries an expiry and
//! an HMAC-SHA256 over the file, its version (and Crypt4GH ticket nonce), what it serves, and
//! that expiry. The data endpoint serves nothing else: a widened range, another file, a later
//! expiry, another key's signature, or a URL past its expiry is refused.
//!
//! What is signed is a [`DataUrl`]: its key and version behind their lengths, then a fixed
//! 25-byte tail (what it serves as a kind byte, start and end, then the expiry), so a ticket
//! computes the MAC state of its file once and finishes it per URL.

use std::{io, path::Path, time::Duration};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{DataUrl, Nonce, Serves};

/// Now, in Unix seconds: what expiries are measured against.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Why a data URL is refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// No `exp` or `sig`, or nothing named to serve.
    #[error("this data URL is not signed; ask for a ticket")]
    Unsigned,
    /// A parameter given twice, or malformed.
    #[error("this data URL's parameters are malformed")]
    Malformed,
    /// Past its expiry.
    #[error("this data URL has expired; ask for a new ticket")]
    Expired,
    /// The signature does not cover what is asked.
    #[error("this data URL's signature does not match it")]
    Signature,
    /// A `Range` outside what the URL serves.
    #[error("the range asked for is outside what this data URL was signed for")]
    Outside,
}

/// Why a signing key cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("the URL signing key has {0} bytes; at least {MIN_KEY_BYTES} are needed")]
    TooShort(usize),
    /// The key file cannot be read.
    #[error("cannot read the URL key file")]
    Read(#[source] io::Error),
    /// No randomness for a fresh key.
    #[error("no randomness for a URL signing key")]
    Random(#[source] getrandom::Error),
}

/// Signs and checks data URLs with one key.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
    ttl: Duration,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The signer of one ticket's URLs: one file version (and ticket nonce), one expiry.
#[derive(Clone)]
pub struct FileSigner {
    mac: Hmac<Sha256>,
    expiry: u64,
}

impl Signer {
    /// A signer with `key` (at least [`MIN_KEY_BYTES`]) whose URLs live for `ttl`.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] for a short key.
    pub fn new(key: &[u8], ttl: Duration) -> Result<Self, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(key.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| KeyError::TooShort(0))?;
        Ok(Self { mac, ttl })
    }

    /// A secret for `purpose` derived from this signer's key (HMAC of the purpose), for what
    /// replicas sharing the key must agree on besides signatures. The purpose starts with 0xFF,
    /// which no signed message does (they start with a key's length, far below 2^56), so no
    /// signature in a URL ever equals a derived secret.
    ///
    /// # Panics
    ///
    /// If `purpose` does not start with 0xFF.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        assert_eq!(purpose.first(), Some(&0xFF), "a derived secret's purpose");
        let mut mac = self.mac.clone();
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// This signer's key with URLs that live for `ttl`.
    pub fn with_ttl(&self, ttl: Duration) -> Self {
        Self {
            mac: self.mac.clone(),
            ttl,
        }
    }

    /// The signer of the key in `file` (its bytes, surrounding whitespace trimmed), or of a
    /// fresh random key when `file` is `None`.
    ///
    /// # Errors
    ///
    /// A [`KeyError`]: the file unreadable or the key short, or no randomness.
    pub fn load(file: Option<&Path>, ttl: Duration) -> Result<Self, KeyError> {
        match file {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(KeyError::Read)?;
                Self::new(bytes.trim_ascii(), ttl)
            }
            None => {
                let mut key = [0; 32];
                getrandom::fill(&mut key).map_err(KeyError::Random)?;
                Self::new(&key, ttl)
            }
        }
    }

    /// The signer of URLs of file `key` at `version` (re-encrypted under `nonce`, if given),
    /// valid until `now` plus this signer's time to live.
    pub fn file(&self, key: &str, version: &str, nonce: Option<&Nonce>, now: u64) -> FileSigner {
        FileSigner {
            mac: self.prefix(key, version, nonce),
            expiry: now.saturating_add(self.ttl.as_secs()),
        }
    }

    /// The MAC state over the parts a ticket's URLs share: the file and its version (with the
    /// nonce after a `:`), each behind its length, so no two different pairs give the same
    /// message.
    fn prefix(&self, key: &str, version: &str, nonce: Option<&Nonce>) -> Hmac<Sha256> {
        let version = match nonce {
            Some(nonce) => format!("{version}:{nonce}"),
            None => version.to_owned(),
        };
        let mut mac = self.mac.clone();
        for field in [key, &version] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// What `url` may serve, if its signature is this signer's and it has not expired at
    /// `now`.
    ///
    /// # Errors
    ///
    /// [`Refused::Unsigned`] without expiry, signature or anything to serve;
    /// [`Refused::Signature`] for a signature that does not match; [`Refused::Expired`].
    pub fn verify(&self, url: &DataUrl, now: u64) -> Result<Serves, Refused> {
        let (Some(expiry), Some(signature), Some(serves)) =
            (url.expiry(), url.signature(), url.serves())
        else {
            return Err(Refused::Unsigned);
        };
        let prefix = self.prefix(url.key(), url.version().unwrap_or(""), url.nonce());
        tail(prefix, serves, expiry)
            .verify_slice(signature)
            .map_err(|_| Refused::Signature)?;
        // Checked after the signature: an expiry is only worth reading once it is known to be
        // ours.
        if now > expiry {
            return Err(Refused::Expired);
        }
        Ok(serves)
    }
}

impl FileSigner {
    /// `url` (of this signer's file) signed for what it serves until this signer's expiry.
    ///
    /// # Panics
    ///
    /// If `url` names nothing to serve: a signed URL always does.
    pub fn sign(&self, url: DataUrl) -> DataUrl {
        let serves = url.serves().expect("a signed data URL serves something");
        let tag = tail(self.mac.clone(), serves, self.expiry).finalize();
        url.signed(self.expiry, tag.into_bytes().to_vec())
    }
}

/// `mac` (the file's state) over the rest of a URL's message: what it serves (a kind byte, then
/// start and end) and its expiry, in fixed-size big-endian fields. A cut's kind byte holds its
/// index (16 + index, below 16 + [`super::MAX_CUT`]).
fn tail(mut mac: Hmac<Sha256>, serves: Serves, expiry: u64) -> Hmac<Sha256> {
    let (kind, start, end) = match serves {
        Serves::Span(s) => (0_u8, u64::from(s.start()), u64::from(s.end())),
        Serves::Bytes(r) => (1, r.start(), r.end()),
        Serves::Sealed(r) => (2, r.start(), r.end()),
        Serves::Cut(s, index) => (16 + index, u64::from(s.start()), u64::from(s.end())),
    };
    let mut message = [0; 25];
    message[0] = kind;
    message[1..9].copy_from_slice(&start.to_be_bytes());
    message[9..17].copy_from_slice(&end.to_be_bytes());
    message[17..].copy_from_slice(&expiry.to_be_bytes());
    mac.update(&message);
    mac
}

#[cfg(test)]
mod tests {
    use htsget_core::{BgzfSpan, ByteRange};

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn signer() -> Signer {
        Signer::new(KEY, Duration::from_secs(100)).unwrap()
    }

    /// A signed byte-range URL and a signed span URL of `f.bam`, as query strings.
    fn queries(signer: &Signer, now: u64) -> Vec<String> {
        let file = signer.file("f.bam", "1", None, now);
        let bgzf = BgzfSpan::new(5.into(), (70_000_u64 << 16 | 3).into());
        [Serves::Bytes(ByteRange::new(0, 100)), Serves::Span(bgzf)]
            .map(|serves| {
                let url = file.sign(DataUrl::new("f.bam", "1").serving(serves));
                url.to_url("http://h").split_once('?').unwrap().1.to_owned()
            })
            .to_vec()
    }

    fn verify(signer: &Signer, key: &str, query: &str, now: u64) -> Result<Serves, Refused> {
        let url = DataUrl::parse(key, Some(query)).map_err(|_| Refused::Malformed)?;
        signer.verify(&url, now)
    }

    #[test]
    fn test_verify_round_trip() {
        let signer = signer();
        let q = queries(&signer, 1000);
        assert_eq!(
            verify(&signer, "f.bam", &q[0], 1000),
            Ok(Serves::Bytes(ByteRange::new(0, 100)))
        );
        assert!(matches!(
            verify(&signer, "f.bam", &q[1], 1100),
            Ok(Serves::Span(_))
        ));
    }

    #[test]
    fn test_verify_with_a_nonce() {
        let signer = signer();
        let nonce = Nonce::random().unwrap();
        let sealed = DataUrl::new("f.bam", "1")
            .serving(Serves::Sealed(ByteRange::new(0, 10)))
            .sealed_with(nonce);
        let url = signer.file("f.bam", "1", Some(&nonce), 0).sign(sealed);
        assert_eq!(
            signer.verify(&url, 0),
            Ok(Serves::Sealed(ByteRange::new(0, 10)))
        );
        let other = Nonce::random().unwrap();
        let moved = DataUrl::parse(
            "f.bam",
            Some(
                &url.to_url("h")
                    .split_once('?')
                    .unwrap()
                    .1
                    .replace(&nonce.to_hex(), &other.to_hex()),
            ),
        )
        .unwrap();
        assert_eq!(signer.verify(&moved, 0), Err(Refused::Signature));
    }

    #[test]
    fn test_verify_covers_a_cut_and_its_index() {
        let signer = signer();
        let nonce = Nonce::random().unwrap();
        let bgzf = BgzfSpan::new(5.into(), (70_000_u64 << 16 | 3).into());
        let cut = DataUrl::new("f.bam", "1")
            .serving(Serves::Cut(bgzf, 2))
            .sealed_with(nonce);
        let url = signer.file("f.bam", "1", Some(&nonce), 0).sign(cut);
        assert_eq!(signer.verify(&url, 0), Ok(Serves::Cut(bgzf, 2)));
        let query = url.to_url("h").split_once('?').unwrap().1.to_owned();
        assert!(query.contains("&cut=2&"), "{query}");
        for tampered in [
            query.replace("&cut=2", "&cut=0"),
            query.replace("&cut=2", ""),
            query.replace("span=5-", "span=6-"),
        ] {
            let url = DataUrl::parse("f.bam", Some(&tampered)).unwrap();
            assert_eq!(
                signer.verify(&url, 0),
                Err(Refused::Signature),
                "{tampered}"
            );
        }
    }

    #[test]
    fn test_verify_refuses_tampering() {
        let signer = signer();
        let q = queries(&signer, 1000);
        let refused = |key: &str, query: &str, now| verify(&signer, key, query, now).unwrap_err();

        assert_eq!(refused("f.bam", &q[0], 1101), Refused::Expired);
        assert_eq!(refused("g.bam", &q[0], 1000), Refused::Signature);
        assert_eq!(
            refused("f.bam", &q[0].replace("r=0-99", "r=0-100"), 1000),
            Refused::Signature
        );
        assert_eq!(
            refused("f.bam", &q[0].replace("exp=1100", "exp=9100"), 1000),
            Refused::Signature
        );
        let other_version = q[0].replacen("v=", "v=0", 1);
        assert_eq!(refused("f.bam", &other_version, 1000), Refused::Signature);
        assert_eq!(
            refused("f.bam", &format!("{}&r=0-5", q[0]), 1000),
            Refused::Malformed
        );
        assert_eq!(refused("f.bam", "r=0-99", 1000), Refused::Unsigned);
        assert_eq!(refused("f.bam", "", 1000), Refused::Unsigned);
        let cut = q[0].split("&sig=").next().unwrap().to_owned() + "&sig=AAAA";
        assert_eq!(refused("f.bam", &cut, 1000), Refused::Signature);

        let other = Signer::new(
            b"another key, also 32 bytes long!",
            Duration::from_secs(100),
        )
        .unwrap();
        assert_eq!(
            verify(&other, "f.bam", &q[0], 1000),
            Err(Refused::Signature)
        );
    }

    #[test]
    fn test_new_refuses_short_keys() {
        assert!(matches!(
            Signer::new(b"short", Duration::from_secs(1)),
            Err(KeyError::TooShort(5))
        ));
        assert!(Signer::load(None, Duration::from_secs(1)).is_ok());
    }
}
