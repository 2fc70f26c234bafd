//! The price of Crypt4GH segments: sealing and opening one 64 KiB segment, allocating
//! (`encrypt`/`decrypt`) and into a caller's buffer (`encrypt_to`/`decrypt_to`, the data
//! endpoint's path), as bytes per second of plaintext.
//!
//! ```text
//! cargo bench -p htsget-core --features crypt4gh --bench crypt4gh
//! ```

use std::hint::black_box;

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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
