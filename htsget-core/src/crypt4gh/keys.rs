//! Crypt4GH key files, as python `crypt4gh` writes them: public keys
//! (`-----BEGIN CRYPT4GH PUBLIC KEY-----`, base64 of 32 bytes), private keys
//! (`-----BEGIN CRYPT4GH PRIVATE KEY-----` around `c4gh-v1`, a KDF (`none`, `scrypt`,
//! `bcrypt`), a cipher (`none`, `chacha20_poly1305`) and the sealed 32-byte secret).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, aead::Aead};

use super::Crypt4ghError;

/// An X25519 public key.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct PublicKey(pub [u8; 32]);

/// An X25519 secret key (never printed).
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    ///
    /// # Panics
    ///
    /// If the system has no randomness.
    pub fn generate() -> Self {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).expect("system randomness");
        Self(bytes)
    }

    /// Its public key.
    pub fn public(&self) -> PublicKey {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }

    /// A 32-byte key derived from this secret for `purpose` and `nonce` (the first half of
    /// BLAKE2b-512 over the secret, the purpose and the nonce, each behind its length): replicas
    /// holding the same secret derive the same key.
    pub fn derive_key(&self, purpose: &[u8], nonce: &[u8]) -> [u8; 32] {
        use blake2::{Blake2b512, Digest};
        let mut hash = Blake2b512::new();
        for part in [&self.0[..], purpose, nonce] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize()[..32].try_into().expect("64 bytes")
    }

    /// The X25519 shared secret with `public`.
    pub(crate) fn diffie_hellman(&self, public: &PublicKey) -> [u8; 32] {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(public.0))
            .to_bytes()
    }
}

const PUBLIC_BEGIN: &str = "-----BEGIN CRYPT4GH PUBLIC KEY-----";
const PUBLIC_END: &str = "-----END CRYPT4GH PUBLIC KEY-----";
const PRIVATE_BEGIN: &str = "-----BEGIN CRYPT4GH PRIVATE KEY-----";
const PRIVATE_END: &str = "-----END CRYPT4GH PRIVATE KEY-----";
const MAGIC: &[u8] = b"c4gh-v1";

/// The base64 between `begin` and `end` lines, decoded (at most 4 KiB of it).
fn armored(text: &str, begin: &str, end: &str) -> Result<Vec<u8>, Crypt4ghError> {
    let bad = Crypt4ghError::KeyFile("not an armored Crypt4GH key");
    if text.len() > 4096 {
        return Err(bad);
    }
    let body = text.trim().strip_prefix(begin).ok_or(bad.clone())?;
    let body = body.trim_end().strip_suffix(end).ok_or(bad.clone())?;
    let joined: String = body.split_whitespace().collect();
    STANDARD.decode(joined).map_err(|_| bad)
}

impl PublicKey {
    /// Parses a public key file (the armored text).
    pub fn from_file_text(text: &str) -> Result<Self, Crypt4ghError> {
        let bytes = armored(text, PUBLIC_BEGIN, PUBLIC_END)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Crypt4ghError::KeyFile("a public key is 32 bytes"))?;
        Ok(Self(bytes))
    }

    /// Parses the `Htsget-Context-Public-Key` header's value: standard base64 of the whole
    /// public key file (as htsget-rs clients send it), or of the bare 32-byte key.
    pub fn from_header_value(value: &str) -> Result<Self, Crypt4ghError> {
        let bad = Crypt4ghError::KeyFile("the public key header is not base64 of a key file");
        if value.len() > 4096 {
            return Err(bad);
        }
        let decoded = STANDARD.decode(value.trim()).map_err(|_| bad.clone())?;
        if let Ok(bytes) = <[u8; 32]>::try_from(decoded.as_slice()) {
            return Ok(Self(bytes));
        }
        let text = std::str::from_utf8(&decoded).map_err(|_| bad)?;
        Self::from_file_text(text)
    }

    /// The key file text of this key.
    pub fn to_file_text(&self) -> String {
        format!(
            "{PUBLIC_BEGIN}\n{}\n{PUBLIC_END}\n",
            STANDARD.encode(self.0)
        )
    }
}

/// Reads a `u16` big-endian length and that many bytes.
fn string<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], Crypt4ghError> {
    let bad = Crypt4ghError::KeyFile("truncated private key");
    let (len, rest) = bytes.split_first_chunk::<2>().ok_or(bad.clone())?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return Err(bad);
    }
    let (value, rest) = rest.split_at(len);
    *bytes = rest;
    Ok(value)
}

impl SecretKey {
    /// Parses a private key file (the armored text); `passphrase` unlocks a key sealed with
    /// `scrypt` or `bcrypt` (a key with KDF `none` needs none).
    pub fn from_file_text(text: &str, passphrase: Option<&[u8]>) -> Result<Self, Crypt4ghError> {
        let decoded = armored(text, PRIVATE_BEGIN, PRIVATE_END)?;
        let mut bytes = decoded
            .strip_prefix(MAGIC)
            .ok_or(Crypt4ghError::KeyFile("not a c4gh-v1 private key"))?;
        let kdf = string(&mut bytes)?;
        let options = if kdf == b"none" {
            &[][..]
        } else {
            string(&mut bytes)?
        };
        let cipher = string(&mut bytes)?;
        let blob = string(&mut bytes)?;

        let secret = match (kdf, cipher) {
            (b"none", b"none") => blob.to_vec(),
            (_, b"chacha20_poly1305") => {
                let passphrase =
                    passphrase.ok_or(Crypt4ghError::KeyFile("this key needs a passphrase"))?;
                let key = derive(kdf, options, passphrase)?;
                if blob.len() < 12 {
                    return Err(Crypt4ghError::KeyFile("truncated sealed key"));
                }
                let (nonce, sealed) = blob.split_at(12);
                let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
                ChaCha20Poly1305::new(&key.into())
                    .decrypt(&nonce.into(), sealed)
                    .map_err(|_| Crypt4ghError::KeyFile("wrong passphrase, or a damaged key"))?
            }
            _ => return Err(Crypt4ghError::KeyFile("unsupported KDF or cipher")),
        };
        let secret: [u8; 32] = secret
            .try_into()
            .map_err(|_| Crypt4ghError::KeyFile("a secret key is 32 bytes"))?;
        Ok(Self(secret))
    }

    /// The unencrypted (KDF `none`) key file text of this key.
    pub fn to_file_text(&self) -> String {
        let mut blob = MAGIC.to_vec();
        for field in [&b"none"[..], b"none", &self.0] {
            blob.extend_from_slice(&(field.len() as u16).to_be_bytes());
            blob.extend_from_slice(field);
        }
        format!(
            "{PRIVATE_BEGIN}\n{}\n{PRIVATE_END}\n",
            STANDARD.encode(blob)
        )
    }
}

/// The 32-byte key `kdf` derives from `passphrase` with its `options` (rounds, salt).
fn derive(kdf: &[u8], options: &[u8], passphrase: &[u8]) -> Result<[u8; 32], Crypt4ghError> {
    let bad = Crypt4ghError::KeyFile("malformed KDF options");
    let (rounds, salt) = options.split_first_chunk::<4>().ok_or(bad.clone())?;
    let rounds = u32::from_be_bytes(*rounds);
    if salt.is_empty() || salt.len() > 64 {
        return Err(bad);
    }
    let mut key = [0; 32];
    match kdf {
        b"scrypt" => {
            let params = scrypt::Params::new(14, 8, 1).map_err(|_| bad.clone())?;
            scrypt::scrypt(passphrase, salt, &params, &mut key).map_err(|_| bad)?;
        }
        b"bcrypt" => {
            if rounds == 0 || rounds > 1 << 16 {
                return Err(bad);
            }
            bcrypt_pbkdf::bcrypt_pbkdf(passphrase, salt, rounds, &mut key).map_err(|_| bad)?;
        }
        _ => return Err(Crypt4ghError::KeyFile("unsupported KDF")),
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_files_round_trip() {
        let secret = SecretKey::generate();
        let text = secret.to_file_text();
        let again = SecretKey::from_file_text(&text, None).unwrap();
        assert_eq!(again.public(), secret.public());
        let public = PublicKey::from_file_text(&secret.public().to_file_text()).unwrap();
        assert_eq!(public, secret.public());
    }

    #[test]
    fn test_key_files_refuse_garbage() {
        for text in [
            "",
            "-----BEGIN CRYPT4GH PUBLIC KEY-----\nAAAA\n-----END CRYPT4GH PUBLIC KEY-----",
        ] {
            assert!(PublicKey::from_file_text(text).is_err());
            assert!(SecretKey::from_file_text(text, None).is_err());
        }
        let public = SecretKey::generate().public();
        let header = STANDARD.encode(public.to_file_text());
        assert_eq!(PublicKey::from_header_value(&header).unwrap(), public);
        assert_eq!(
            PublicKey::from_header_value(&STANDARD.encode(public.0)).unwrap(),
            public
        );
        assert!(PublicKey::from_header_value("not base64!").is_err());
        assert!(PublicKey::from_header_value(&STANDARD.encode("junk")).is_err());
        let huge = "A".repeat(10_000);
        assert!(PublicKey::from_file_text(&huge).is_err());
    }
}
