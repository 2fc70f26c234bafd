//! The price of Crypt4GH segments: sealing and opening one 64 KiB segment, allocating
//! (`encrypt`/`decrypt`) and into a caller's buffer (`encrypt_to`/`decrypt_to`, the data
//! endpoint's path), as bytes per second of plaintext; beside them the same into-buffer work
//! on RustCrypto's `chacha20poly1305` (`rustcrypto_*`), the backend the segments used before
//! aws-lc-rs.
//!
//! ```text
//! cargo bench -p htsget-core --features crypt4gh --bench crypt4gh
//! ```

use std::hint::black_box;

use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit,
    aead::{AeadInOut, inout::InOutBuf},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use htsget_core::crypt4gh::segments::{self, ENCRYPTED, PLAIN};

fn bench(c: &mut Criterion) {
    let key = [7; 32];
    let nonce = [9; 12];
    let plain = vec![0x5a; PLAIN as usize];
    let sealed = segments::encrypt(&key, &nonce, &plain);
    let mut group = c.benchmark_group("segment");
    group.throughput(Throughput::Bytes(PLAIN));
    group.bench_function("encrypt", |b| {
        b.iter(|| segments::encrypt(&key, &nonce, black_box(&plain)));
    });
    group.bench_function("decrypt", |b| {
        b.iter(|| segments::decrypt(&[key], black_box(&sealed)).expect("opens"));
    });
    let mut out = vec![0; ENCRYPTED as usize];
    group.bench_function("encrypt_to", |b| {
        b.iter(|| segments::encrypt_to(&key, &nonce, black_box(&plain), &mut out));
    });
    let mut opened = vec![0; PLAIN as usize];
    group.bench_function("decrypt_to", |b| {
        b.iter(|| segments::decrypt_to(&[key], black_box(&sealed), &mut opened).expect("opens"));
    });
    let cipher = || ChaCha20Poly1305::new(&key.into());
    group.bench_function("rustcrypto_encrypt_to", |b| {
        b.iter(|| {
            let (body, tag) = out[12..].split_at_mut(PLAIN as usize);
            let buffer = InOutBuf::new(black_box(&plain[..]), body).expect("equal lengths");
            let sealed = cipher()
                .encrypt_inout_detached(&nonce.into(), &[], buffer)
                .expect("seals");
            tag.copy_from_slice(&sealed);
        });
    });
    group.bench_function("rustcrypto_decrypt_to", |b| {
        b.iter(|| {
            let (body, tag) = sealed[12..].split_at(PLAIN as usize);
            let tag: [u8; 16] = tag.try_into().expect("16 bytes");
            let buffer = InOutBuf::new(black_box(body), &mut opened).expect("equal lengths");
            cipher()
                .decrypt_inout_detached(&nonce.into(), &[], buffer, &tag.into())
                .expect("opens");
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
