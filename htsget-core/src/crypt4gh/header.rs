//! Crypt4GH headers: `crypt4gh` | version 1 | packet count | packets, each a
//! ChaCha20-Poly1305 message under the key shared by the writer's and reader's X25519 keys
//! (the first 32 bytes of BLAKE2b-512 over the X25519 secret, the reader's public key and the
//! writer's). Packets hold a data key, or the edit list. Packets the reader cannot open are
//! skipped, as the spec says.

use blake2::{Blake2b512, Digest};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, aead::Aead};

use super::{
    Crypt4ghError,
    keys::{PublicKey, SecretKey},
};

/// The file magic.
pub const MAGIC: &[u8; 8] = b"crypt4gh";

/// The most packets read from one header.
pub const MAX_PACKETS: u32 = 64;

/// The largest packet read, in bytes (an edit list of about 8000 entries).
pub const MAX_PACKET_BYTES: u32 = 64 << 10;

/// The most edit-list entries accepted.
pub const MAX_EDITS: u32 = 8192;

/// Bytes of a packet around its payload: length, method, writer key, nonce, MAC.
const PACKET_OVERHEAD: u32 = 4 + 4 + 32 + 12 + 16;

/// What a reader's key opens of a header.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Header {
    /// The header's length in bytes: where the first segment starts.
    pub len: u64,
    /// The data keys (segments may be under any of them).
    pub keys: Vec<[u8; 32]>,
    /// The edit list, if the header holds one.
    pub edits: Option<Vec<u64>>,
}

fn shared_key(dh: &[u8; 32], reader: &PublicKey, writer: &PublicKey) -> [u8; 32] {
    let digest = Blake2b512::new()
        .chain_update(dh)
        .chain_update(reader.0)
        .chain_update(writer.0)
        .finalize();
    digest[..32].try_into().expect("64 bytes")
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The header's length from its first bytes, without opening any packet; `None` while
/// `bytes` is too short to tell.
pub fn length(bytes: &[u8]) -> Result<Option<u64>, Crypt4ghError> {
    if bytes.len() < 16 {
        return Ok(None);
    }
    if &bytes[..8] != MAGIC {
        return Err(Crypt4ghError::Header("no crypt4gh magic"));
    }
    if u32_at(bytes, 8) != Some(1) {
        return Err(Crypt4ghError::Header("only version 1 is supported"));
    }
    let count = u32_at(bytes, 12).expect("16 bytes");
    if count == 0 || count > MAX_PACKETS {
        return Err(Crypt4ghError::Header("packet count out of range"));
    }
    let mut at = 16_usize;
    for _ in 0..count {
        let Some(len) = u32_at(bytes, at) else {
            return Ok(None);
        };
        if !(PACKET_OVERHEAD..=MAX_PACKET_BYTES).contains(&len) {
            return Err(Crypt4ghError::Header("packet length out of range"));
        }
        at += len as usize;
    }
    Ok(Some(at as u64))
}

/// Opens the header at the start of `bytes` with `reader`: `None` while `bytes` is too short
/// to hold it whole.
///
/// # Errors
///
/// [`Crypt4ghError::Header`] if it does not parse, [`Crypt4ghError::NoKey`] if no data-key
/// packet opens, [`Crypt4ghError::EditList`] for two edit lists or a malformed one.
pub fn read(bytes: &[u8], reader: &SecretKey) -> Result<Option<Header>, Crypt4ghError> {
    let Some(len) = length(bytes)? else {
        return Ok(None);
    };
    if (bytes.len() as u64) < len {
        return Ok(None);
    }
    let reader_public = reader.public();
    let count = u32_at(bytes, 12).expect("checked");
    let mut at = 16_usize;
    let mut keys = Vec::new();
    let mut edits = None;
    for _ in 0..count {
        let packet_len = u32_at(bytes, at).expect("checked") as usize;
        let packet = &bytes[at..at + packet_len];
        at += packet_len;
        if u32_at(packet, 4) != Some(0) {
            continue; // Another encryption method: not for us.
        }
        let writer = PublicKey(packet[8..40].try_into().expect("length checked"));
        let nonce: [u8; 12] = packet[40..52].try_into().expect("length checked");
        let key = shared_key(&reader.diffie_hellman(&writer), &reader_public, &writer);
        let Ok(payload) = ChaCha20Poly1305::new(&key.into()).decrypt(&nonce.into(), &packet[52..])
        else {
            continue; // For another reader.
        };
        match u32_at(&payload, 0) {
            Some(0) => {
                // Data encryption parameters: method 0 (ChaCha20-IETF-Poly1305), the key.
                if u32_at(&payload, 4) == Some(0)
                    && let Some(key) = payload.get(8..40)
                {
                    keys.push(key.try_into().expect("32 bytes"));
                }
            }
            Some(1) => {
                if edits.is_some() {
                    return Err(Crypt4ghError::EditList);
                }
                let n = u32_at(&payload, 4).ok_or(Crypt4ghError::EditList)?;
                if n > MAX_EDITS || payload.len() < 8 + 8 * n as usize {
                    return Err(Crypt4ghError::EditList);
                }
                let list = payload[8..8 + 8 * n as usize]
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                edits = Some(list);
            }
            _ => {}
        }
    }
    if keys.is_empty() {
        return Err(Crypt4ghError::NoKey);
    }
    Ok(Some(Header { len, keys, edits }))
}

/// A header for `recipient` holding `keys` and `edits`, from a fresh writer key with random
/// nonces (the spec lets writers discard their key).
///
/// # Panics
///
/// If the system has no randomness.
pub fn write(recipient: &PublicKey, keys: &[[u8; 32]], edits: Option<&[u64]>) -> Vec<u8> {
    write_packets(recipient, &payloads(keys, edits))
}

/// The packets' plaintexts of `keys` and `edits`.
fn payloads(keys: &[[u8; 32]], edits: Option<&[u64]>) -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = keys
        .iter()
        .map(|key| [&0_u32.to_le_bytes()[..], &0_u32.to_le_bytes(), key].concat())
        .collect();
    if let Some(edits) = edits {
        let mut payload = 1_u32.to_le_bytes().to_vec();
        payload.extend_from_slice(&(edits.len() as u32).to_le_bytes());
        for edit in edits {
            payload.extend_from_slice(&edit.to_le_bytes());
        }
        payloads.push(payload);
    }
    payloads
}

/// A header for `recipient` whose packets hold `payloads` as they are (a packet's plaintext:
/// its type, then its body), each sealed with the X25519 shared key of a fresh writer key: for
/// callers that need packets [`write()`] does not make (tests, fuzzing the packet parser).
///
/// # Panics
///
/// If the system has no randomness.
pub fn write_packets(recipient: &PublicKey, payloads: &[Vec<u8>]) -> Vec<u8> {
    let writer = SecretKey::generate();
    let writer_public = writer.public();
    let shared = shared_key(&writer.diffie_hellman(recipient), recipient, &writer_public);
    seal_packets(&shared, &writer_public, payloads)
}

/// The header of `payloads`, each packet sealed with `shared` under a random nonce and naming
/// `writer` as its writer.
fn seal_packets(shared: &[u8; 32], writer: &PublicKey, payloads: &[Vec<u8>]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(&(*shared).into());
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&1_u32.to_le_bytes());
    out.extend_from_slice(&(payloads.len() as u32).to_le_bytes());
    for payload in payloads {
        let mut nonce = [0; 12];
        getrandom::fill(&mut nonce).expect("system randomness");
        let sealed = cipher
            .encrypt(&nonce.into(), payload.as_slice())
            .expect("a packet always encrypts");
        let len = (4 + 4 + 32 + 12 + sealed.len()) as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&0_u32.to_le_bytes());
        out.extend_from_slice(&writer.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
    }
    out
}

/// Recipients whose shared key a [`Writer`] keeps, at most.
const WRITER_RECIPIENTS: usize = 4096;

/// Writes headers under one writer key made when it is, keeping the X25519 shared key of each
/// recipient: a server writing a header per ticket pays the key exchange once per client, not
/// once per ticket. Packets still get random nonces.
pub struct Writer {
    secret: SecretKey,
    public: PublicKey,
    shared: quick_cache::sync::Cache<PublicKey, [u8; 32]>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// A writer with a key made now.
    ///
    /// # Panics
    ///
    /// If the system has no randomness.
    pub fn new() -> Self {
        let secret = SecretKey::generate();
        Self {
            public: secret.public(),
            secret,
            shared: quick_cache::sync::Cache::new(WRITER_RECIPIENTS),
        }
    }

    /// A header for `recipient` holding `keys` and `edits`, as [`write()`] makes.
    ///
    /// # Panics
    ///
    /// If the system has no randomness.
    pub fn write(
        &self,
        recipient: &PublicKey,
        keys: &[[u8; 32]],
        edits: Option<&[u64]>,
    ) -> Vec<u8> {
        let shared = self.shared.get(recipient).unwrap_or_else(|| {
            let dh = self.secret.diffie_hellman(recipient);
            let shared = shared_key(&dh, recipient, &self.public);
            self.shared.insert(*recipient, shared);
            shared
        });
        seal_packets(&shared, &self.public, &payloads(keys, edits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_writer_with_one_key_for_many_headers() {
        let (reader, other) = (SecretKey::generate(), SecretKey::generate());
        let writer = Writer::new();
        let first = writer.write(&reader.public(), &[[1; 32]], Some(&[0, 10]));
        let second = writer.write(&reader.public(), &[[2; 32]], None);
        for (header, key) in [(&first, [1; 32]), (&second, [2; 32])] {
            let opened = read(header, &reader).unwrap().unwrap();
            assert_eq!(opened.keys, [key]);
            assert_eq!(read(header, &other), Err(Crypt4ghError::NoKey));
        }
        assert_eq!(
            read(&first, &reader).unwrap().unwrap().edits,
            Some(vec![0, 10])
        );
        // One writer key, fresh nonces: the same packets differ.
        assert_eq!(first[20..52], second[20..52]);
        let again = writer.write(&reader.public(), &[[1; 32]], Some(&[0, 10]));
        assert_ne!(again, first);
        let for_other = writer.write(&other.public(), &[[3; 32]], None);
        assert_eq!(read(&for_other, &other).unwrap().unwrap().keys, [[3; 32]]);
    }

    #[test]
    fn test_write_read_with_edit_list_and_other_readers() {
        let (reader, other) = (SecretKey::generate(), SecretKey::generate());
        let header = write(&reader.public(), &[[1; 32], [2; 32]], Some(&[0, 10, 5]));
        assert_eq!(header.len(), 16 + 2 * 108 + (76 + 24));
        let opened = read(&header, &reader).unwrap().unwrap();
        assert_eq!(opened.keys, [[1; 32], [2; 32]]);
        assert_eq!(opened.edits.as_deref(), Some(&[0, 10, 5][..]));
        assert_eq!(read(&header, &other), Err(Crypt4ghError::NoKey));
        assert_eq!(read(&header[..100], &reader), Ok(None));
        assert_eq!(length(&header).unwrap(), Some(header.len() as u64));
    }

    #[test]
    fn test_read_refuses_malformed_headers() {
        let reader = SecretKey::generate();
        let mut header = write(&reader.public(), &[[1; 32]], None);
        header[0] = b'x';
        assert!(read(&header, &reader).is_err());
        let mut header = write(&reader.public(), &[[1; 32]], None);
        header[12..16].copy_from_slice(&1000_u32.to_le_bytes());
        assert!(read(&header, &reader).is_err());
        let mut header = write(&reader.public(), &[[1; 32]], None);
        header[16..20].copy_from_slice(&3_u32.to_le_bytes());
        assert!(read(&header, &reader).is_err());
        // A flipped bit in the only packet: no key opens.
        let mut header = write(&reader.public(), &[[1; 32]], None);
        header[100] ^= 1;
        assert_eq!(read(&header, &reader), Err(Crypt4ghError::NoKey));
    }
}
