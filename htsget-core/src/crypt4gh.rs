//! Crypt4GH (GA4GH), the format of encrypted-at-rest genomes: key files ([`keys`]), headers
//! ([`header`]: X25519 key exchange, ChaCha20-Poly1305 packets with the data keys and an edit
//! list), 64 KiB segments ([`segments`]) and edit lists ([`edits`]). Pure: no I/O. No primitive
//! is written here: keys and headers use RustCrypto (`chacha20poly1305`, `x25519-dalek`,
//! `blake2`, `scrypt`, `bcrypt-pbkdf`), the bulk segment ChaCha20-Poly1305 `aws-lc-rs`.
//!
//! ```
//! use htsget_core::crypt4gh::{header, keys::SecretKey, segments};
//!
//! let reader = SecretKey::generate();
//! let data_key = [7; 32];
//! let head = header::write(&reader.public(), &[data_key], None);
//! let parsed = header::read(&head, &reader)?.expect("a whole header");
//! assert_eq!(parsed.keys, [data_key]);
//! assert_eq!(parsed.len, head.len() as u64);
//!
//! let segment = segments::encrypt(&data_key, &[1; 12], b"plain bytes");
//! assert_eq!(segments::decrypt(&parsed.keys, &segment)?, b"plain bytes");
//! # Ok::<_, htsget_core::crypt4gh::Crypt4ghError>(())
//! ```

pub mod edits;
pub mod header;
pub mod keys;
pub mod layout;
pub mod segments;

/// What can go wrong reading Crypt4GH bytes or keys. Messages never hold key material.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Crypt4ghError {
    /// Not a Crypt4GH file (magic or version), or a header that does not parse.
    #[error("not a Crypt4GH header: {0}")]
    Header(&'static str),
    /// No data-key packet opens with the reader's key.
    #[error("no header packet opens with this key")]
    NoKey,
    /// Two edit lists, or one that does not parse.
    #[error("the header's edit list is malformed")]
    EditList,
    /// A segment is too short, too long, or fails authentication (tampered, or another key).
    #[error("a segment does not decrypt: {0}")]
    Segment(&'static str),
    /// A key file that does not parse, a KDF or cipher that is not supported, or a wrong
    /// passphrase.
    #[error("the key file cannot be read: {0}")]
    KeyFile(&'static str),
}
