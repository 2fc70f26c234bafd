//! Signed data URLs. The input is split at the first `\n`: a byte range drawn from the first
//! part (two `u64` LE, when 16 bytes are there) is signed into a ticket URL, which must verify
//! to exactly that range; then the rest of the input is taken as a query string and verified
//! for the same file: never a panic, and never anything that verifies but was not signed.
//! Finally one byte of the signed query is flipped: it must fail, or verify to the same thing
//! (a byte outside the signed parameters).
#![no_main]

use std::time::Duration;

use htsget_core::{ByteRange, Content, Format, Plan, Section, Span, storage::Identity};
use htsget_server::access::{Signer, signed::Signed};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"a fuzzing key of at least 32 bytes";

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
        let mut plan = Plan::new();
        plan.push(Section::Body, Content::Span(Span::Bytes(range)));
        let ticket = signer.ticket(&plan, Format::Bam, "http://h/data/f.bam", "f.bam", &Identity::new("x"), now);
        let url = ticket.urls()[0].url();
        let query = url.split_once('?').unwrap().1;
        let signed = signer.verify("f.bam", Some(query), now).unwrap();
        assert!(matches!(signed, Signed::Bytes(r) if r.start() == range.start() && r.end() <= range.end()));

        if let Some(&flip) = tail.first() {
            let mut bytes = query.as_bytes().to_vec();
            let at = usize::from(flip) % bytes.len();
            bytes[at] ^= 1 << (flip % 7);
            if let Ok(mutated) = std::str::from_utf8(&bytes)
                && let Ok(other) = signer.verify("f.bam", Some(mutated), now)
            {
                assert_eq!(other, signed, "a mutated URL verified to something else: {mutated}");
            }
        }
    }

    if let Ok(query) = std::str::from_utf8(tail) {
        assert!(
            signer.verify("f.bam", Some(query), now).is_err(),
            "an unsigned query verified: {query}"
        );
    }
});
