//! Index parsing and resolution on the large files of `../shared/tools/make-large.sh`.
//!
//! ```text
//! OUT=$PWD/large SCALE=1 ../shared/tools/make-large.sh     # once: 1.8 GB BAM, 30 MB VCF.gz
//! cargo bench -p htsget-core --bench resolve                # or HTSGET_BENCH_DATA=DIR
//! ```
//!
//! Before timing, it prints the body bytes the plan sends for chr1:7,000,000-7,100,000 of the
//! BAM next to the bytes of the BGZF blocks that hold that region's records (the minimum).

use std::{
    collections::BTreeSet,
    fs::File,
    hint::black_box,
    io::{BufRead, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::LazyLock,
};

use criterion::{Criterion, criterion_group, criterion_main};
use htsget_core::{
    CRAM_EOF, Content, Endpoint, Format, Section, Span,
    facts::{FileFacts, Layout},
    load,
    query::{Query, Region},
    resolve,
    storage::{LocalStorage, Storage},
};
use noodles::{bam, core::Position, sam::alignment::Record as _};

/// The runtime the I/O layer's futures run on.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

/// `len` bytes of `file` at `offset` (fewer at its end).
fn read(dir: &Path, file: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut file = File::open(dir.join(file)).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    let mut bytes = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut bytes).unwrap();
    bytes
}

/// The compressed size of the BGZF block at the start of `raw`, as noodles reads it.
fn block_size(raw: &[u8]) -> u64 {
    let mut reader = noodles::bgzf::io::Reader::new(raw);
    let len = reader.fill_buf().unwrap().len();
    reader.consume(len);
    reader.virtual_position().compressed()
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HTSGET_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../large"));

    if dir.join("large.bam").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: no large.bam in {} (run ../shared/tools/make-large.sh with OUT set there, \
             or set HTSGET_BENCH_DATA)",
            dir.display()
        );
        None
    }
}

/// 100 kb regions spread over chr1..chr3, the same every run.
fn regions(facts: &FileFacts, n: usize) -> Vec<Region> {
    let names: Vec<&str> = facts
        .references()
        .names()
        .filter(|n| n.starts_with("chr") && *n != "chrM")
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let name = names[(state % names.len() as u64) as usize];
            let start = ((state >> 20) % 25_000_000) as u32;
            Region::new(name, Some(start), Some(start + 100_000)).unwrap()
        })
        .collect()
}

fn bench_format(c: &mut Criterion, dir: &Path, format: Format, data: &str, indexes: &[&str]) {
    let storage = LocalStorage::new(dir);
    let mut group = c.benchmark_group(format.as_str());

    for index in indexes {
        let len = std::fs::metadata(dir.join(index)).unwrap().len();
        let kind = index.rsplit('.').next().unwrap();
        let open_and_read = || async {
            let object = storage.open(index).await.unwrap();
            object.read(0, object.size() as usize).await.unwrap()
        };

        group.bench_function(format!("open and read {kind} ({len} bytes)"), |b| {
            b.iter(|| black_box(block_on(open_and_read())))
        });

        group.bench_function(format!("read and parse {kind} ({len} bytes)"), |b| {
            b.iter(|| block_on(load::facts(&storage, format, data, index)).unwrap())
        });
    }

    let facts = block_on(load::facts(&storage, format, data, indexes[0])).unwrap();
    let object = block_on(storage.open(data)).unwrap();
    let queries: Vec<Query> = regions(&facts, 64)
        .into_iter()
        .map(|r| Query::new(format.endpoint(), format).with_region(r))
        .collect();

    let mut i = 0;
    group.bench_function("resolve 100 kb (pure)", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(resolve(&queries[i], &facts).unwrap())
        })
    });

    group.bench_function("resolve 100 kb + read boundary blocks", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            let plan = resolve(&queries[i], &facts).unwrap();
            black_box(block_on(load::inline(&*object, &plan)).unwrap())
        })
    });

    group.finish();
}

/// Plan body bytes and minimum bytes for one region of the BAM.
fn report_bytes(dir: &Path) {
    let (facts, plan) = inline_plan(dir, Format::Bam, "large.bam", "large.bam.bai");
    let (name, start, end) = ("chr1", 6_999_999, 7_100_000);
    let sent = plan.len_of(Section::Body) - 28;

    let (records, blocks, minimum) = minimum_bytes(dir, &facts, name, start, end);
    println!(
        "{name}:{}-{end}: {records} records in {blocks} BGZF blocks of {minimum} bytes (minimum); \
         plan body sends {sent} bytes in {} blocks = {:.3} x minimum",
        start + 1,
        plan.parts().len(),
        sent as f64 / minimum as f64
    );
}

/// The facts of `data` and the plan for chr1:7,000,000-7,100,000, its cut blocks inline.
fn inline_plan(
    dir: &Path,
    format: Format,
    data: &str,
    index: &str,
) -> (FileFacts, htsget_core::Plan) {
    let storage = LocalStorage::new(dir);
    let facts = block_on(load::facts(&storage, format, data, index)).unwrap();
    let query = Query::new(Endpoint::Reads, format)
        .with_region(Region::new("chr1", Some(6_999_999), Some(7_100_000)).unwrap());
    let plan = resolve(&query, &facts).unwrap();
    let object = block_on(storage.open(data)).unwrap();
    let plan = block_on(load::inline(&*object, &plan)).unwrap();
    (facts, plan)
}

/// The records overlapping the region, and the BGZF blocks holding any of their bytes.
fn minimum_bytes(
    dir: &Path,
    facts: &FileFacts,
    name: &str,
    start: u32,
    end: u32,
) -> (usize, usize, u64) {
    let Layout::Bgzf(layout) = facts.layout() else {
        unreachable!()
    };
    let id = match facts.references().lookup(name) {
        htsget_core::facts::ReferenceLookup::Id(id) => id,
        _ => panic!("no {name}"),
    };
    let chunks = layout.index().query(id, Some(start), Some(end)).unwrap();

    let mut reader = bam::io::Reader::new(File::open(dir.join("large.bam")).unwrap());
    reader.read_header().unwrap();
    let mut record = bam::Record::default();
    let (first, last) = (
        Position::try_from(start as usize + 1).unwrap(),
        Position::try_from(end as usize).unwrap(),
    );

    let size = |offset: u64| block_size(&read(dir, "large.bam", offset, 1 << 16));

    let mut blocks = BTreeSet::new();
    let mut records = 0;

    for chunk in chunks {
        reader.get_mut().seek(chunk.start()).unwrap();

        while reader.get_ref().virtual_position() < chunk.end() {
            let s = reader.get_ref().virtual_position();
            reader.read_record(&mut record).unwrap();
            let e = reader.get_ref().virtual_position();

            let Some(Ok(a)) = record.alignment_start() else {
                continue;
            };
            let b = record
                .alignment_end()
                .and_then(Result::ok)
                .unwrap_or(a)
                .max(a);
            let on_reference = record.reference_sequence_id().and_then(Result::ok) == Some(id);

            if on_reference && a <= last && b >= first {
                records += 1;
                let mut offset = s.compressed();
                while offset < e.compressed() || (offset == e.compressed() && e.uncompressed() > 0)
                {
                    blocks.insert(offset);
                    offset += size(offset);
                }
            }
        }
    }

    let bytes = blocks.iter().map(|&offset| size(offset)).sum();
    (records, blocks.len(), bytes)
}

/// Plan body bytes for one region of the CRAM, next to the bytes of the containers that hold at
/// least one read overlapping the region (each candidate container decoded by samtools).
fn report_cram_bytes(dir: &Path) {
    if !dir.join("large.cram").is_file() {
        return;
    }
    let (facts, plan) = inline_plan(dir, Format::Cram, "large.cram", "large.cram.crai");
    let (name, start, end) = ("chr1", 6_999_999, 7_100_000);
    let sent = plan.len_of(Section::Body) - CRAM_EOF.len() as u64;

    let Layout::Cram(layout) = facts.layout() else {
        unreachable!()
    };
    let header = read(dir, "large.cram", 0, layout.header_end() as usize);
    let mut offsets: Vec<u64> = layout.index().iter().map(|r| r.offset()).collect();
    offsets.push(layout.data_end());
    offsets.sort_unstable();
    offsets.dedup();

    let tmp = std::env::temp_dir().join(format!("htsget-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bed = tmp.join("region.bed");
    std::fs::write(&bed, format!("{name}\t{start}\t{end}\n")).unwrap();

    let (mut needed, mut needed_bytes) = (0, 0);
    for part in plan.parts() {
        let Content::Span(Span::Bytes(range)) = part.content() else {
            continue;
        };
        if part.section() != Section::Body {
            continue;
        }
        for pair in offsets
            .windows(2)
            .filter(|w| w[0] >= range.start() && w[1] <= range.end())
        {
            let body = read(dir, "large.cram", pair[0], (pair[1] - pair[0]) as usize);
            let one = tmp.join("one.cram");
            std::fs::write(&one, [header.clone(), body, CRAM_EOF.to_vec()].concat()).unwrap();
            let output = std::process::Command::new("samtools")
                .args(["view", "-c", "-T"])
                .arg(dir.join("ref.fa"))
                .arg("-L")
                .arg(&bed)
                .arg(&one)
                .output()
                .expect("samtools");
            let count: u64 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .unwrap_or(0);
            if count > 0 {
                needed += 1;
                needed_bytes += pair[1] - pair[0];
            }
        }
    }
    std::fs::remove_dir_all(&tmp).ok();

    println!(
        "CRAM {name}:{}-{end}: {needed} containers of {needed_bytes} bytes hold overlapping reads; \
         plan body sends {sent} bytes = {:.3} x",
        start + 1,
        sent as f64 / needed_bytes.max(1) as f64
    );
}

fn benches(c: &mut Criterion) {
    let Some(dir) = data_dir() else { return };
    report_bytes(&dir);
    report_cram_bytes(&dir);
    bench_format(
        c,
        &dir,
        Format::Bam,
        "large.bam",
        &["large.bam.bai", "large.bam.csi"],
    );
    bench_format(
        c,
        &dir,
        Format::Vcf,
        "large.vcf.gz",
        &["large.vcf.gz.tbi", "large.vcf.gz.csi"],
    );
    bench_format(c, &dir, Format::Bcf, "large.bcf", &["large.bcf.csi"]);
    if dir.join("large.cram").is_file() {
        bench_format(c, &dir, Format::Cram, "large.cram", &["large.cram.crai"]);
    }
}

criterion_group! {
    name = resolve_benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(resolve_benches);
