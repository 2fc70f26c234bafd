//! Crypt4GH parsing of untrusted bytes: the first byte picks what the rest is: 0 a file's
//! header (its length, then opened with a fixed server key), 1 a private key file (no
//! passphrase, so no KDF runs), 2 a public key file, 3 a `Htsget-Context-Public-Key` header
//! value; 4 a segment (decrypted with a fixed key, allocating and into a buffer); 5 packet
//! plaintexts (each a 2-byte LE length, then its bytes) that the target seals for the server key,
//! so the parser of opened packets (data keys, edit lists) sees fuzzed bytes. Nothing may panic
//! or allocate out of proportion; a header that opens says where its segments start, within
//! the input, and an edit list it holds applies to any plaintext.
#![no_main]

use htsget_core::crypt4gh::{
    edits, header,
    keys::{PublicKey, SecretKey},
    segments,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let secret = SecretKey::from_bytes([7; 32]);
    match mode % 6 {
        0 => {
            let length = header::length(rest);
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
        4 => {
            let opened = segments::decrypt(&[[7; 32]], rest);
            if let Ok(plain) = &opened {
                assert!(plain.len() as u64 <= segments::PLAIN);
            }
            let mut out = vec![0; rest.len().saturating_sub(28)];
            let into = segments::decrypt_to(&[[7; 32]], rest, &mut out);
            assert_eq!(into.is_ok(), opened.is_ok());
            if let Ok(plain) = opened {
                assert_eq!(out, plain);
            }
        }
        _ => {
            let mut payloads = Vec::new();
            let mut at = rest;
            while at.len() >= 2 && payloads.len() < 64 {
                let len = usize::from(u16::from_le_bytes([at[0], at[1]])).min(at.len() - 2);
                payloads.push(at[2..2 + len].to_vec());
                at = &at[2 + len..];
            }
            let head = header::write_packets(&secret.public(), &payloads);
            match header::read(&head, &secret) {
                Ok(Some(opened)) => {
                    assert_eq!(opened.len, head.len() as u64);
                    assert!(!opened.keys.is_empty());
                    if let Some(list) = opened.edits {
                        assert!(list.len() <= 8192);
                        let _ = edits::apply(&list, &[0; 1000]);
                    }
                }
                Ok(None) => panic!("a whole header reads as incomplete"),
                Err(_) => {}
            }
        }
    }
});
