//! Crypt4GH parsing of untrusted bytes: the first byte picks what the rest is: 0 a file's
//! header (its length, then opened with a fixed server key), 1 a private key file (no
//! passphrase, so no KDF runs), 2 a public key file, 3 a `Htsget-Context-Public-Key` header
//! value; 4 a segment (decrypted with a fixed key). Nothing may panic or allocate out of
//! proportion; a header that opens says where its segments start, within the input.
#![no_main]

use htsget_core::crypt4gh::{
    header,
    keys::{PublicKey, SecretKey},
    segments,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => {
            let length = header::length(rest);
            let secret = SecretKey::from_bytes([7; 32]);
            if let Ok(Some(opened)) = header::read(rest, &secret) {
                assert_eq!(length, Ok(Some(opened.len)));
                assert!(opened.len <= rest.len() as u64);
                assert!(!opened.keys.is_empty());
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = SecretKey::from_file_text(text, None);
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = PublicKey::from_file_text(text);
            }
        }
        3 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = PublicKey::from_header_value(text);
            }
        }
        _ => {
            if let Ok(plain) = segments::decrypt(&[[7; 32]], rest) {
                assert!(plain.len() as u64 <= segments::PLAIN);
            }
        }
    }
});
