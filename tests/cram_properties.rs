//! Property tests for CRAM: a reference FASTA and a coordinate-sorted CRAM 3 file written with
//! noodles from random parameters, cut into many containers of random sizes (some holding reads
//! of two references, or mapped and unplaced reads together), indexed by noodles' CRAI indexer,
//! and cut through the core for random regions. Every payload must decode to its end with the
//! reference, end with the CRAM end-of-file container, hold each record at most once and exactly
//! as the file holds it, and hold every record that overlaps a region, both by the ground truth
//! known from generation and by noodles' own indexed query.
//!
//! The region strategies, [`Window`] and the reads and their records ([`ReadsSpec`]) are the
//! BAM/VCF properties' own.
//!
//! noodles' writer fills a container with 10 240 records and offers no knob for fewer, so each
//! container is written by a writer of its own and the pieces are concatenated (their container
//! record counters all start at 0, which readers do not check).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::{self, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
};

use htsget_core::{CRAM_EOF, Format, LocalStorage, Query, Storage, load, query::Region, resolve};
use noodles::{
    core::Position,
    cram::{self, crai},
    fasta::{
        self,
        record::{Definition, Sequence},
    },
    sam::{
        self,
        alignment::{RecordBuf, io::Write as _, record::Flags},
    },
};
use proptest::prelude::*;
use tempfile::TempDir;

use crate::{
    common::{self, block_on},
    properties::{
        RegionSpec, Window, config,
        generate::{
            Placed, ReadSpec, ReadsSpec, Shape, Site, position, read_name, read_spec, reads_spec,
            sites,
        },
        ordinal, region_spec,
    },
};

const DATA: &str = "x.cram";
const INDEX: &str = "x.cram.crai";
const REFERENCE: &str = "ref.fa";

/// Mostly short reads, some short reads with a longer span (`aM gD bM`).
fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        6 => (20u32..=150).prop_map(Shape::Matched),
        1 => (10u32..=80, 1u32..=1_500, 10u32..=80).prop_map(|(left, gap, right)| {
            Shape::Gapped { left, gap, right, skip: false }
        }),
    ]
}

/// A region of a query: any region, or a few bases at the start or the end of a container's
/// records on a reference (its first record's start, or the furthest end of the records that
/// share its last record's reference).
#[derive(Clone, Debug)]
enum Target {
    Any(RegionSpec),
    NearContainer {
        container: usize,
        at_end: bool,
        shift: i8,
        len: u8,
    },
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        region_spec(true).prop_map(Target::Any),
        (any::<usize>(), any::<bool>(), -3i8..=3, 0u8..=4).prop_map(
            |(container, at_end, shift, len)| Target::NearContainer {
                container,
                at_end,
                shift,
                len,
            }
        ),
    ]
}

/// The regions of one query: usually one, sometimes several.
fn targets() -> impl Strategy<Value = Vec<Target>> {
    prop::collection::vec(target(), 1..=3)
}

/// A reference FASTA and a CRAM file with its index, as parameters.
#[derive(Clone, Debug)]
struct CramSpec {
    reads: ReadsSpec,
    /// Seeds the reference bases.
    seed: u64,
    /// Records in the first containers; the rest go in containers of `rest` records.
    containers: Vec<usize>,
    rest: usize,
}

fn cram_spec() -> impl Strategy<Value = CramSpec> {
    let read = read_spec(
        any::<u32>(),
        shape(),
        prop::option::weighted(0.3, any::<u32>()),
        Just(false),
    );

    (
        reads_spec(2_000..100_000, read, 0..3_000, 0..40),
        any::<u64>(),
        prop::collection::vec(1usize..=300, 0..20),
        1usize..=250,
    )
        .prop_map(|(reads, seed, containers, rest)| CramSpec {
            reads,
            seed,
            containers,
            rest,
        })
}

impl CramSpec {
    /// The reference sequences' bases.
    fn references(&self) -> Vec<Vec<u8>> {
        let mut random = SplitMix(self.seed);
        self.reads
            .lengths
            .iter()
            .map(|&len| (0..len).map(|_| b"ACGT"[random.below(4)]).collect())
            .collect()
    }

    /// The records in file order (see [`ReadsSpec::records`]), each mapped read's bases taken
    /// from the reference, with a mismatch where its spec says.
    fn records(&self, references: &[Vec<u8>]) -> Vec<Placed> {
        self.reads
            .records(Flags::empty(), |_, reference, start, shape, read| {
                let bases = &references[reference][start as usize..];
                let mut sequence: Vec<u8> =
                    shape.offsets().iter().map(|&i| bases[i as usize]).collect();

                if let Some(at) = read.mismatch {
                    let at = at as usize % sequence.len();
                    sequence[at] = substitute(sequence[at]);
                }

                sequence
            })
    }

    /// The number of records in each container, in file order, for `total` records.
    fn container_sizes(&self, total: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = total;

        for &size in self.containers.iter().chain(std::iter::repeat(&self.rest)) {
            if left == 0 {
                break;
            }
            let size = size.min(left);
            sizes.push(size);
            left -= size;
        }

        sizes
    }
}

/// A small deterministic generator of reference bases.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n) as usize
    }
}

/// A base other than `base`.
fn substitute(base: u8) -> u8 {
    if base == b'A' { b'C' } else { b'A' }
}

/// Writes the reference FASTA (60 bases a line) and its `.fai`.
fn write_fasta(path: &Path, names: &[String], references: &[Vec<u8>]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);

    for (name, bases) in names.iter().zip(references) {
        writeln!(out, ">{name}")?;
        for line in bases.chunks(60) {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
    }

    out.flush()?;
    drop(out);

    let index = fasta::fs::index(path)?;
    fasta::fai::fs::write(path.with_added_extension("fai"), &index)
}

fn repository(names: &[String], references: &[Vec<u8>]) -> fasta::Repository {
    let records: Vec<fasta::Record> = names
        .iter()
        .zip(references)
        .map(|(name, bases)| {
            let definition = Definition::new(name.as_str(), None);
            fasta::Record::new(definition, Sequence::from(bases.clone()))
        })
        .collect();
    fasta::Repository::new(records)
}

fn cram_writer<W: Write>(repository: &fasta::Repository, out: W) -> cram::io::Writer<W> {
    cram::io::writer::Builder::default()
        .set_reference_sequence_repository(repository.clone())
        .build_from_writer(out)
}

/// Writes the CRAM file with a container per entry of `sizes`, then the EOF container.
fn write_cram(
    path: &Path,
    header: &sam::Header,
    records: &[Placed],
    sizes: &[usize],
    repository: &fasta::Repository,
) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    cram_writer(repository, &mut out).write_header(header)?;

    let mut rest = records;

    for &size in sizes {
        let (container, tail) = rest.split_at(size);
        rest = tail;

        let mut writer = cram_writer(repository, Vec::new());
        for placed in container {
            writer.write_alignment_record(header, &placed.record)?;
        }
        writer.try_finish(header)?;

        let bytes = writer.into_inner();
        let body = bytes
            .strip_suffix(&CRAM_EOF[..])
            .ok_or_else(|| io::Error::other("a container writer did not end with EOF"))?;
        out.write_all(body)?;
    }

    out.write_all(&CRAM_EOF)?;
    out.flush()
}

/// Builds the CRAI of the CRAM file at `path`, whose `records` are known: one line per
/// reference (or none, for unplaced reads) in each slice, spanning its records there, as
/// htslib's indexer writes it. Container offsets, landmarks and slice lengths are read back.
///
/// (`cram::fs::index` decodes multi-reference slices without the reference and panics.)
fn build_index(path: &Path, records: &[Placed]) -> io::Result<crai::Index> {
    let mut reader = File::open(path)
        .map(BufReader::new)
        .map(cram::io::Reader::new)?;
    reader.read_header()?;

    let mut container = cram::io::reader::Container::default();
    let mut rest = records;
    let mut index = Vec::new();

    loop {
        let offset = reader.position()?;
        let len = reader.read_container(&mut container)?;
        if len == 0 {
            break;
        }

        let &[landmark] = container.header().landmarks() else {
            return Err(io::Error::other("a container with other than one slice"));
        };
        let (held, tail) = rest.split_at(container.header().record_count());
        rest = tail;

        for (reference, start, span) in spans(held) {
            let slice_len = (len - landmark) as u64;
            index.push(crai::Record::new(
                reference,
                start,
                span,
                offset,
                landmark as u64,
                slice_len,
            ));
        }
    }

    Ok(index)
}

/// The references of `records` (in id order, unplaced last), each with the 1-based start and
/// the length of the span its records cover.
fn spans(records: &[Placed]) -> Vec<(Option<usize>, Option<Position>, usize)> {
    let mut spans: BTreeMap<Option<usize>, (u32, u32)> = BTreeMap::new();

    for (reference, start, end) in records.iter().map(|placed| placed.site) {
        let span = spans.entry(reference).or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end));
    }

    let (unplaced, placed): (Vec<_>, Vec<_>) = spans
        .into_iter()
        .partition(|(reference, _)| reference.is_none());

    placed
        .into_iter()
        .map(|(reference, (start, end))| {
            (reference, Some(position(start + 1)), (end - start) as usize)
        })
        .chain(unplaced.into_iter().map(|_| (None, None, 0)))
        .collect()
}

/// What the tests compare records by: name, flags, reference id, position.
type Key = (String, u16, Option<usize>, Option<usize>);

fn key(record: &RecordBuf) -> Key {
    (
        read_name(record.name()),
        record.flags().bits(),
        record.reference_sequence_id(),
        record.alignment_start().map(usize::from),
    )
}

/// A reference, a CRAM file and its index on disk, with what the test knows about them.
struct CramFixture {
    dir: TempDir,
    names: Vec<String>,
    lengths: Vec<u32>,
    repository: fasta::Repository,
    /// Where each record lies, by its place in the file.
    placed: Vec<Site>,
    /// The header and records as noodles reads them back from the whole file.
    header: sam::Header,
    records: Vec<RecordBuf>,
    /// The number of records in each container.
    sizes: Vec<usize>,
}

impl CramFixture {
    fn new(spec: &CramSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let names = spec.reads.names();
        let references = spec.references();
        let header = spec.reads.header();
        let records = spec.records(&references);
        let sizes = spec.container_sizes(records.len());

        write_fasta(&dir.path().join(REFERENCE), &names, &references).expect("FASTA written");
        let repository = repository(&names, &references);

        let data = dir.path().join(DATA);
        write_cram(&data, &header, &records, &sizes, &repository).expect("CRAM written");
        let index = build_index(&data, &records).expect("CRAM indexed");
        crai::fs::write(dir.path().join(INDEX), &index).expect("CRAI written");

        let (header, read_back) =
            decode(&std::fs::read(&data).expect("CRAM read"), &repository).expect("CRAM decoded");
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            names,
            lengths: spec.reads.lengths.clone(),
            repository,
            placed: sites(&records),
            header,
            records: read_back,
            sizes,
            dir,
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.path().join(key)
    }

    fn windows(&self, query: &[Target]) -> Vec<Window> {
        query
            .iter()
            .map(|target| Window::new(&self.region_spec(target), &self.lengths))
            .collect()
    }

    /// The region `target` names in this file.
    fn region_spec(&self, target: &Target) -> RegionSpec {
        match *target {
            Target::Any(ref spec) => spec.clone(),
            Target::NearContainer {
                container,
                at_end,
                shift,
                len,
            } => {
                let Some(n) = container.checked_rem(self.sizes.len()) else {
                    return RegionSpec::Unplaced;
                };
                let first: usize = self.sizes[..n].iter().sum();
                let held = &self.placed[first..first + self.sizes[n]];
                let edge = if at_end {
                    held.last().and_then(|&(last, ..)| {
                        let ends = held.iter().filter(|&&(r, ..)| r == last);
                        Some((last?, ends.map(|&(.., end)| end).max()?))
                    })
                } else {
                    held.first()
                        .and_then(|&(reference, start, _)| Some((reference?, start)))
                };
                let Some((reference, edge)) = edge else {
                    return RegionSpec::Unplaced;
                };
                RegionSpec::Bounded {
                    reference,
                    start: edge.saturating_add_signed(shift.into()),
                    len: len.into(),
                }
            }
        }
    }

    /// The payload the core serves for `windows`, as a client assembles it from the ticket.
    fn payload(&self, windows: &[Window]) -> Result<Vec<u8>, String> {
        let storage = LocalStorage::new(self.dir.path());
        let regions: Vec<Region> = windows.iter().map(|w| w.region(&self.names)).collect();

        let facts = block_on(load::facts(&storage, Format::Cram, DATA, INDEX))
            .map_err(|e| format!("facts: {e}"))?;
        let query = Query::new(Format::Cram.endpoint(), Format::Cram).with_regions(regions);
        let selection = resolve(&query, &facts).map_err(|e| format!("resolve: {e}"))?;
        let object = block_on(storage.open(DATA)).map_err(|e| format!("open: {e}"))?;
        let plan =
            block_on(load::inline(&*object, &selection)).map_err(|e| format!("plan: {e}"))?;

        let payload = common::payload(&storage, DATA, Format::Cram, &plan);

        if payload.ends_with(&CRAM_EOF) {
            Ok(payload)
        } else {
            Err("payload does not end with the CRAM end-of-file container".into())
        }
    }

    /// Cuts the regions of `query` and checks the payload.
    fn check(&self, query: &[Target]) -> Result<(), String> {
        let windows = self.windows(query);
        let context = |e: String| {
            format!(
                "regions {windows:?} ({} containers, {} records): {e}",
                self.sizes.len(),
                self.records.len()
            )
        };

        let payload = self.payload(&windows).map_err(context)?;
        let held = self.held(&payload).map_err(context)?;
        let truth = self.truth(&windows);
        let found = self.noodles_query(&windows).map_err(context)?;

        let missing = |expected: &BTreeSet<Key>| -> Vec<String> {
            expected
                .difference(&held)
                .map(|key| key.0.clone())
                .collect()
        };

        let by_truth = missing(&truth);
        let by_noodles = missing(&found);

        if by_truth.is_empty() && by_noodles.is_empty() {
            Ok(())
        } else {
            Err(context(format!(
                "records missing from the payload: by generation {by_truth:?}, \
                 by noodles' query {by_noodles:?}"
            )))
        }
    }

    /// The keys of the payload's records, each checked against the file's record of its name
    /// and held at most once.
    fn held(&self, payload: &[u8]) -> Result<BTreeSet<Key>, String> {
        let (header, records) = decode(payload, &self.repository)?;

        if header != self.header {
            return Err("the payload's header differs from the file's".into());
        }

        let mut held = BTreeSet::new();

        for record in records {
            let key = key(&record);
            let n = ordinal(&key.0, 'r')?;

            if self.records.get(n) != Some(&record) {
                return Err(format!("payload record {} differs from the file's", key.0));
            }
            if !held.insert(key.clone()) {
                return Err(format!("payload record {} repeated", key.0));
            }
        }

        Ok(held)
    }

    /// The records that overlap the windows by generation.
    fn truth(&self, windows: &[Window]) -> BTreeSet<Key> {
        self.placed
            .iter()
            .zip(&self.records)
            .filter(|&(&(reference, start, end), _)| {
                windows.iter().any(|w| w.holds(reference, start, end))
            })
            .map(|(_, record)| key(record))
            .collect()
    }

    /// The records noodles' own indexed query finds for the windows; for `*`, the unmapped
    /// query's unplaced records.
    fn noodles_query(&self, windows: &[Window]) -> Result<BTreeSet<Key>, String> {
        let index = crai::fs::read(self.path(INDEX)).map_err(|e| format!("CRAI: {e}"))?;
        let mut found = BTreeSet::new();

        for window in windows {
            let mut reader = cram::io::reader::Builder::default()
                .set_reference_sequence_repository(self.repository.clone())
                .build_from_path(self.path(DATA))
                .map_err(|e| e.to_string())?;
            let header = reader.read_header().map_err(|e| e.to_string())?;
            let failed = |e: io::Error| format!("noodles query {window:?}: {e}");

            if window.reference().is_none() {
                // noodles' unmapped query reads past the end of a file without containers
                // ("failed to fill whole buffer"); such a file has no record to find.
                if index.is_empty() {
                    continue;
                }
                for result in reader.query_unmapped(&header, &index).map_err(failed)? {
                    let record = result.map_err(failed)?;
                    if record.reference_sequence_id().is_none() {
                        found.insert(key(&record));
                    }
                }
            } else if let Some(region) = window.noodles_region(&self.names, u32::MAX as usize) {
                let query = reader.query(&header, &index, &region).map_err(failed)?;
                for result in query.records() {
                    found.insert(key(&result.map_err(failed)?));
                }
            }
        }

        Ok(found)
    }
}

/// Decodes a whole CRAM stream: its header, then every record.
fn decode(
    bytes: &[u8],
    repository: &fasta::Repository,
) -> Result<(sam::Header, Vec<RecordBuf>), String> {
    let mut reader = cram::io::reader::Builder::default()
        .set_reference_sequence_repository(repository.clone())
        .build_from_reader(bytes);
    let header = reader.read_header().map_err(|e| format!("header: {e}"))?;

    let records = reader
        .records(&header)
        .enumerate()
        .map(|(i, result)| result.map_err(|e| format!("record #{i}: {e}")))
        .collect::<Result<_, _>>()?;

    Ok((header, records))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..config() })]

    #[test]
    fn test_cram_payload_holds_every_overlapping_read(
        spec in cram_spec(),
        query in targets(),
    ) {
        let fixture = CramFixture::new(&spec);
        fixture.check(&query).map_err(TestCaseError::fail)?;
    }
}

/// A fixed file of a few hundred reads in many containers.
fn fixed_spec() -> CramSpec {
    let reads = (0..600u32)
        .map(|i| ReadSpec {
            reference: i as usize % 3,
            start: i.wrapping_mul(2_654_435_761),
            shape: if i % 7 == 0 {
                Shape::Gapped {
                    left: 30,
                    gap: 200 + i,
                    right: 40,
                    skip: false,
                }
            } else {
                Shape::Matched(50 + i % 100)
            },
            mismatch: (i % 3 == 0).then_some(i),
            unmapped_mate: i % 5 == 0,
            flush_after: false,
        })
        .collect();

    CramSpec {
        reads: ReadsSpec {
            lengths: vec![30_000, 5_000, 80_000, 12_000],
            empty: 3,
            reads,
            unplaced: 25,
        },
        seed: 7,
        containers: vec![1, 40, 3, 250],
        rest: 64,
    }
}

/// samtools reads the payloads of a few queries without a word on stderr, and counts the
/// records noodles decodes.
#[test]
fn test_cram_payload_with_samtools() {
    let fixture = CramFixture::new(&fixed_spec());
    let reference = fixture.path(REFERENCE);
    let reference = reference.to_str().expect("UTF-8 path");

    let queries = [
        vec![Target::Any(RegionSpec::Bounded {
            reference: 0,
            start: 10_000,
            len: 5_000,
        })],
        vec![
            Target::Any(RegionSpec::Whole { reference: 1 }),
            Target::Any(RegionSpec::Unplaced),
            Target::Any(RegionSpec::From {
                reference: 2,
                start: 60_000,
            }),
        ],
    ];

    for query in queries {
        let windows = fixture.windows(&query);
        let payload = fixture.payload(&windows).expect("payload");
        let held = fixture.held(&payload).expect("payload decodes");

        let path = fixture.path("payload.cram");
        std::fs::write(&path, &payload).expect("payload written");
        let path = path.to_str().expect("UTF-8 path");

        let Ok(output) = std::process::Command::new("samtools")
            .args(["view", "-c", "-T", reference, path])
            .env("REF_PATH", "/nonexistent")
            .env("REF_CACHE", "/nonexistent")
            .output()
        else {
            eprintln!("SKIPPED: samtools is not installed");
            return;
        };

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "samtools failed: {stderr}");
        assert!(stderr.is_empty(), "samtools warned: {stderr}");

        let count: usize = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a count");
        assert_eq!(count, held.len(), "samtools and noodles count {query:?}");
    }
}

#[test]
fn test_cram_fixture_has_many_containers() {
    let fixture = CramFixture::new(&fixed_spec());
    let index = crai::fs::read(fixture.path(INDEX)).expect("CRAI");
    let offsets: BTreeSet<u64> = index.iter().map(|record| record.offset()).collect();

    assert_eq!(offsets.len(), fixture.sizes.len());
    assert!(
        fixture.sizes.len() > 10,
        "{} containers",
        fixture.sizes.len()
    );

    let unplaced = index
        .iter()
        .filter(|record| record.reference_sequence_id().is_none())
        .count();
    assert!(unplaced > 0, "no CRAI record of unplaced reads");
}
