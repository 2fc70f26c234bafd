//! Crypt4GH segments: each 64 KiB of plaintext is one ChaCha20-Poly1305 message, `nonce (12)
//! | ciphertext | MAC (16)`: 65,564 bytes when full; only the last may be shorter.
//!
//! The bulk of Crypt4GH, so sealed and opened by `aws-lc-rs` (assembly with AVX-512 paths where
//! the CPU has them, chosen at run time); headers and key files stay on RustCrypto.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

use super::Crypt4ghError;

/// Plaintext bytes of a full segment.
pub const PLAIN: u64 = 65_536;

/// Encrypted bytes of a full segment.
pub const ENCRYPTED: u64 = PLAIN + 28;

/// The plaintext size of a file of `encrypted` bytes whose header is `header` bytes.
///
/// # Errors
///
/// [`Crypt4ghError::Segment`] if the sizes cannot be a Crypt4GH file (a last segment of 1 to 28
/// bytes, or a file shorter than its header).
pub fn plain_size(encrypted: u64, header: u64) -> Result<u64, Crypt4ghError> {
    let data = encrypted.checked_sub(header).ok_or(Crypt4ghError::Segment(
        "the file is shorter than its header",
    ))?;
    let (full, rest) = (data / ENCRYPTED, data % ENCRYPTED);
    if (1..=28).contains(&rest) {
        return Err(Crypt4ghError::Segment("a truncated last segment"));
    }
    Ok(full * PLAIN + rest.saturating_sub(28))
}

/// The encrypted byte range `[start, end)` of segment `index` in a file of `encrypted` bytes
/// whose header is `header` bytes.
pub fn range_of(index: u64, header: u64, encrypted: u64) -> (u64, u64) {
    let start = header + index * ENCRYPTED;
    (start, (start + ENCRYPTED).min(encrypted))
}

/// The segments holding plaintext `[start, end)` (non-empty): first and last index.
pub fn covering(start: u64, end: u64) -> (u64, u64) {
    (start / PLAIN, (end - 1) / PLAIN)
}

/// The plaintext of one encrypted segment, opened with the first of `keys` that opens it.
///
/// # Errors
///
/// [`Crypt4ghError::Segment`] if it is too short or too long, or no key opens it (tampered, or
/// another file's).
pub fn decrypt(keys: &[[u8; 32]], segment: &[u8]) -> Result<Vec<u8>, Crypt4ghError> {
    let mut out = vec![0; segment.len().saturating_sub(28)];
    decrypt_to(keys, segment, &mut out)?;
    Ok(out)
}

/// The ChaCha20-Poly1305 key `key`.
fn aead(key: &[u8; 32]) -> LessSafeKey {
    let key = UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte ChaCha20-Poly1305 key");
    LessSafeKey::new(key)
}

/// `plain` (at most 64 KiB) encrypted with `key` under `nonce`, as a segment.
///
/// # Panics
///
/// If `plain` is longer than a segment.
pub fn encrypt(key: &[u8; 32], nonce: &[u8; 12], plain: &[u8]) -> Vec<u8> {
    assert!(
        plain.len() as u64 <= PLAIN,
        "a segment holds at most 64 KiB"
    );
    let mut out = vec![0; plain.len() + 28];
    encrypt_to(key, nonce, plain, &mut out);
    out
}

/// Opens one encrypted segment into `out`, which must be exactly as long as its plaintext
/// (`segment.len() - 28`), with the first of `keys` that opens it. No allocation: the bulk path
/// of the data endpoint.
///
/// # Errors
///
/// As [`decrypt`]; `out` of the wrong length is [`Crypt4ghError::Segment`] too.
pub fn decrypt_to(keys: &[[u8; 32]], segment: &[u8], out: &mut [u8]) -> Result<(), Crypt4ghError> {
    if segment.len() < 28 || segment.len() as u64 > ENCRYPTED || out.len() != segment.len() - 28 {
        return Err(Crypt4ghError::Segment("a segment of impossible length"));
    }
    let (nonce, sealed) = segment.split_at(12);
    let (body, tag) = sealed.split_at(sealed.len() - 16);
    let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
    // A failed key may leave bytes in `out`; the next key overwrites all of them.
    keys.iter()
        .find_map(|key| {
            let nonce = Nonce::assume_unique_for_key(nonce);
            aead(key)
                .open_separate_gather(nonce, Aad::empty(), body, tag, out)
                .ok()
        })
        .ok_or(Crypt4ghError::Segment("authentication failed"))
}

/// `plain` (at most 64 KiB) sealed with `key` under `nonce` into `out`, which must be exactly
/// `plain.len() + 28` bytes: `nonce | ciphertext | MAC`. No allocation.
///
/// # Panics
///
/// If `plain` is longer than a segment or `out` is not its sealed length.
pub fn encrypt_to(key: &[u8; 32], nonce: &[u8; 12], plain: &[u8], out: &mut [u8]) {
    assert!(
        plain.len() as u64 <= PLAIN && out.len() == plain.len() + 28,
        "a segment holds at most 64 KiB, sealed in 28 more bytes"
    );
    let (head, rest) = out.split_at_mut(12);
    head.copy_from_slice(nonce);
    let (body, tag) = rest.split_at_mut(plain.len());
    body.copy_from_slice(plain);
    let nonce = Nonce::assume_unique_for_key(*nonce);
    let sealed = aead(key)
        .seal_in_place_separate_tag(nonce, Aad::empty(), body)
        .expect("a segment always seals");
    tag.copy_from_slice(sealed.as_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_plain_size() {
        for (plain, encrypted) in [
            (0, 0),
            (1, 29),
            (65_536, 65_564),
            (65_537, 65_564 + 29),
            (200_000, 3 * 65_564 + (200_000 - 3 * 65_536) + 28),
        ] {
            assert_eq!(plain_size(encrypted + 124, 124), Ok(plain), "{plain}");
        }
        assert!(plain_size(124 + 10, 124).is_err());
        assert!(plain_size(100, 124).is_err());
    }

    #[test]
    fn test_round_trip_and_tampering() {
        let segment = encrypt(&[3; 32], &[4; 12], &[5; 1000]);
        assert_eq!(segment.len(), 1028);
        assert_eq!(
            decrypt(&[[9; 32], [3; 32]], &segment).unwrap(),
            vec![5; 1000]
        );
        let mut bad = segment.clone();
        bad[500] ^= 1;
        assert!(decrypt(&[[3; 32]], &bad).is_err());
        assert!(decrypt(&[[3; 32]], &segment[..20]).is_err());
        let mut out = vec![0; 1000];
        decrypt_to(&[[9; 32], [3; 32]], &segment, &mut out).unwrap();
        assert_eq!(out, vec![5; 1000]);
        assert!(decrypt_to(&[[3; 32]], &bad, &mut out).is_err());
        assert!(decrypt_to(&[[3; 32]], &segment, &mut out[..999]).is_err());
        let mut sealed = vec![0; 1028];
        encrypt_to(&[3; 32], &[4; 12], &[5; 1000], &mut sealed);
        assert_eq!(sealed, segment);
        // The same bytes as RustCrypto's ChaCha20-Poly1305 (headers use it; python reads both).
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit, aead::Aead};
        let other = ChaCha20Poly1305::new(&[3; 32].into())
            .encrypt(&[4; 12].into(), &[5; 1000][..])
            .unwrap();
        assert_eq!(&segment[12..], &other[..]);
        let empty = encrypt(&[3; 32], &[4; 12], &[]);
        assert_eq!(empty.len(), 28);
        assert_eq!(decrypt(&[[3; 32]], &empty).unwrap(), Vec::<u8>::new());
        assert!(
            decrypt(&[[3; 32]], &segment[..28]).is_err(),
            "a truncated segment"
        );
        assert_eq!(covering(0, 1), (0, 0));
        assert_eq!(covering(65_535, 65_537), (0, 1));
        assert_eq!(range_of(1, 124, 200_000), (124 + 65_564, 124 + 2 * 65_564));
    }
}
