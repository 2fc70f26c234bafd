//! Data URLs and their signatures. The input is split at the first `\n`: a byte range drawn
//! from the first part (two `u64` LE, when 16 bytes are there) is signed into a data URL, which
//! must format, parse back to the same value and verify to exactly that range; then the rest of
//! the input is parsed as a data URL's query string (never a panic; whatever parses formats to a
//! query that parses back to the same value) and verified for the same file: never anything
//! that verifies but was not signed. Finally one byte of the signed query is flipped: it must
//! fail, or verify to the same thing (a byte outside the signed parameters).
#![no_main]

use std::time::Duration;

use htsget_core::ByteRange;
use htsget_server::data_url::{DataUrl, Serves, Signer};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"a fuzzing key of at least 32 bytes";

fn query_of(url: &DataUrl) -> String {
    let text = url.to_url("http://h");
    text.split_once('?')
        .map_or_else(String::new, |(_, q)| q.to_owned())
}

fuzz_target!(|data: &[u8]| {
    let signer = Signer::new(KEY, Duration::from_secs(60)).unwrap();
    let now = 1_000_000;
    let (head, tail) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };

    if let Some((start, rest)) = head.split_first_chunk::<8>()
        && let Some((len, _)) = rest.split_first_chunk::<8>()
    {
        let start = u64::from_le_bytes(*start) >> 1;
        let len = (u64::from_le_bytes(*len) >> 40).max(1);
        let range = ByteRange::new(start, start + len);
        let url = DataUrl::new("f.bam", "x").serving(Serves::Bytes(range));
        let url = signer.file("f.bam", "x", None, now).sign(url);
        let query = query_of(&url);
        let parsed = DataUrl::parse("f.bam", Some(&query)).unwrap();
        assert_eq!(parsed, url);
        let signed = signer.verify(&parsed, now).unwrap();
        assert_eq!(signed, Serves::Bytes(range));

        if let Some(&flip) = tail.first() {
            let mut bytes = query.as_bytes().to_vec();
            let at = usize::from(flip) % bytes.len();
            bytes[at] ^= 1 << (flip % 7);
            if let Ok(mutated) = std::str::from_utf8(&bytes)
                && let Ok(other) = DataUrl::parse("f.bam", Some(mutated))
                && let Ok(verified) = signer.verify(&other, now)
            {
                assert_eq!(
                    verified, signed,
                    "a mutated URL verified to something else: {mutated}"
                );
            }
        }
    }

    if let Ok(query) = std::str::from_utf8(tail)
        && let Ok(url) = DataUrl::parse("f.bam", Some(query))
    {
        let again = DataUrl::parse("f.bam", Some(&query_of(&url)));
        assert_eq!(again.as_ref(), Ok(&url), "{query}");
        assert!(
            signer.verify(&url, now).is_err(),
            "an unsigned query verified: {query}"
        );
    }
});
