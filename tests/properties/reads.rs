//! BAM, with a BAI and a CSI built from the virtual positions the writer reports.

use std::{collections::BTreeSet, fs::File, io::Write as _, num::NonZero, path::Path};

use htsget_core::{Format, LocalStorage};
use noodles::{
    bam,
    core::Position,
    csi::{BinningIndex, binning_index::index::reference_sequence::bin::Chunk},
    sam::{
        self,
        alignment::{
            RecordBuf,
            io::Write as _,
            record::{
                Flags, MappingQuality,
                cigar::{Op, op::Kind},
            },
        },
        header::record::value::{
            Map,
            map::{
                self, ReferenceSequence,
                header::{sort_order::COORDINATE, tag::SORT_ORDER},
            },
        },
    },
};
use proptest::prelude::*;
use tempfile::TempDir;

use super::{
    BlockLayout, Blocked, Extent, RegionSpec, Window, bai, bases, block_layout, check_records,
    coordinate, csi, csi_depth, cut, max_position, ordinal, query_spec, read_index,
};

const DATA: &str = "x.bam";
const INDEXES: [&str; 2] = ["x.bam.bai", "x.bam.csi"];

/// The alignment of a mapped read.
#[derive(Clone, Debug)]
enum Shape {
    /// `nM`; long ones fill BGZF blocks by themselves.
    Matched(u32),
    /// `aM gD bM`, or `aM gN bM` when `skip`: a short read with a long span.
    Gapped {
        left: u32,
        gap: u32,
        right: u32,
        skip: bool,
    },
}

impl Shape {
    fn span(&self) -> u32 {
        match *self {
            Self::Matched(len) => len,
            Self::Gapped {
                left, gap, right, ..
            } => left + gap + right,
        }
    }

    /// This shape, or a short one if it does not fit a reference of `len`.
    fn fit(&self, len: u32) -> Self {
        if self.span() <= len {
            self.clone()
        } else {
            Self::Matched(len.min(100))
        }
    }

    /// The CIGAR operations and the read length.
    fn cigar(&self) -> (Vec<Op>, usize) {
        match *self {
            Self::Matched(len) => (vec![Op::new(Kind::Match, len as usize)], len as usize),
            Self::Gapped {
                left,
                gap,
                right,
                skip,
            } => {
                let kind = if skip { Kind::Skip } else { Kind::Deletion };
                let ops = vec![
                    Op::new(Kind::Match, left as usize),
                    Op::new(kind, gap as usize),
                    Op::new(Kind::Match, right as usize),
                ];
                (ops, (left + right) as usize)
            }
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        16 => (20u32..=150).prop_map(Shape::Matched),
        1 => (1_000u32..=70_000).prop_map(Shape::Matched),
        3 => (10u32..=100, 1u32..=20_000, 10u32..=100, any::<bool>()).prop_map(
            |(left, gap, right, skip)| Shape::Gapped { left, gap, right, skip }
        ),
    ]
}

/// A mapped read; `reference` and `start` are reduced to the file's when it is built.
#[derive(Clone, Debug)]
struct ReadSpec {
    reference: usize,
    start: u32,
    shape: Shape,
    /// Followed by its unmapped mate, placed at the same position.
    unmapped_mate: bool,
    /// The BGZF block ends right after this read (and its mate).
    flush_after: bool,
}

fn read_spec() -> impl Strategy<Value = ReadSpec> {
    (
        any::<usize>(),
        coordinate(),
        shape(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(reference, start, shape, unmapped_mate, flush_after)| ReadSpec {
                reference,
                start,
                shape,
                unmapped_mate,
                flush_after,
            },
        )
}

/// A BAM file and its indexes, as parameters.
#[derive(Clone, Debug)]
struct BamSpec {
    /// Reference lengths, in header order; the one at `empty` (modulo) has no reads.
    lengths: Vec<u32>,
    empty: usize,
    reads: Vec<ReadSpec>,
    /// How many unplaced unmapped reads end the file.
    unplaced: usize,
    layout: BlockLayout,
    /// The CSI's `min_shift`, and how many levels it has beyond the fewest that cover the
    /// longest reference.
    min_shift: u8,
    extra_depth: u8,
}

fn bam_spec() -> impl Strategy<Value = BamSpec> {
    (
        prop::collection::vec(2_000u32..200_000, 4..=5),
        any::<usize>(),
        prop::collection::vec(read_spec(), 0..300),
        0usize..20,
        block_layout(),
        12u8..=16,
        0u8..=2,
    )
        .prop_map(
            |(lengths, empty, reads, unplaced, layout, min_shift, extra_depth)| BamSpec {
                lengths,
                empty,
                reads,
                unplaced,
                layout,
                min_shift,
                extra_depth,
            },
        )
}

/// A record as generated: where it lies (0-based, half-open; an unmapped read covers its one
/// base), for the indexes and the ground truth.
struct Placed {
    reference: Option<usize>,
    start: u32,
    end: u32,
    mapped: bool,
    flush_after: bool,
    record: RecordBuf,
}

impl BamSpec {
    fn names(&self) -> Vec<String> {
        (0..self.lengths.len()).map(|i| format!("chr{i}")).collect()
    }

    fn header(&self) -> sam::Header {
        let sorted = Map::<map::Header>::builder()
            .insert(SORT_ORDER, COORDINATE)
            .build()
            .expect("header line");

        self.names()
            .into_iter()
            .zip(&self.lengths)
            .fold(
                sam::Header::builder().set_header(sorted),
                |builder, (name, &len)| {
                    let len = NonZero::new(len as usize).expect("nonzero length");
                    builder.add_reference_sequence(name, Map::<ReferenceSequence>::new(len))
                },
            )
            .build()
    }

    /// The records in file order: reads sorted by position, each unmapped mate right after its
    /// read, then the unplaced reads. Names are `r{n}`, `n` the record's place in the file.
    fn records(&self) -> Vec<Placed> {
        let empty = self.empty % self.lengths.len();
        let with_reads: Vec<usize> = (0..self.lengths.len()).filter(|&i| i != empty).collect();

        let mut reads: Vec<(usize, u32, Shape, &ReadSpec)> = self
            .reads
            .iter()
            .map(|read| {
                let reference = with_reads[read.reference % with_reads.len()];
                let len = self.lengths[reference];
                let shape = read.shape.fit(len);
                let start = read.start % (len - shape.span() + 1);
                (reference, start, shape, read)
            })
            .collect();
        reads.sort_by_key(|&(reference, start, ..)| (reference, start));

        let mut records = Vec::new();

        for (reference, start, shape, read) in reads {
            let mate = read.unmapped_mate;
            records.push(mapped(records.len(), reference, start, &shape, mate));

            if mate {
                records.push(unmapped_mate(records.len(), reference, start));
            }

            records.last_mut().expect("a record").flush_after = read.flush_after;
        }

        for _ in 0..self.unplaced {
            records.push(unplaced(records.len()));
        }

        records
    }

    fn csi_depth(&self) -> u8 {
        let longest = *self.lengths.iter().max().expect("references");
        csi_depth(self.min_shift, self.extra_depth, longest)
    }
}

fn position(n: u32) -> Position {
    Position::new(n as usize).expect("position")
}

fn mapped(n: usize, reference: usize, start: u32, shape: &Shape, mate: bool) -> Placed {
    let (ops, len) = shape.cigar();
    // The builder's default flags say unmapped.
    let mut builder = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(Flags::empty())
        .set_reference_sequence_id(reference)
        .set_alignment_start(position(start + 1))
        .set_mapping_quality(MappingQuality::new(60).expect("mapping quality"))
        .set_cigar(ops.into())
        .set_sequence(bases(len, n).into())
        .set_quality_scores(vec![30; len].into());

    if mate {
        builder = builder
            .set_flags(Flags::SEGMENTED | Flags::MATE_UNMAPPED | Flags::FIRST_SEGMENT)
            .set_mate_reference_sequence_id(reference)
            .set_mate_alignment_start(position(start + 1));
    }

    Placed {
        reference: Some(reference),
        start,
        end: start + shape.span(),
        mapped: true,
        flush_after: false,
        record: builder.build(),
    }
}

/// An unmapped read placed at its mate's position: it covers that one base.
fn unmapped_mate(n: usize, reference: usize, start: u32) -> Placed {
    let record = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(Flags::SEGMENTED | Flags::UNMAPPED | Flags::LAST_SEGMENT)
        .set_reference_sequence_id(reference)
        .set_alignment_start(position(start + 1))
        .set_mate_reference_sequence_id(reference)
        .set_mate_alignment_start(position(start + 1))
        .set_sequence(bases(50, n).into())
        .set_quality_scores(vec![30; 50].into())
        .build();

    Placed {
        reference: Some(reference),
        start,
        end: start + 1,
        mapped: false,
        flush_after: false,
        record,
    }
}

fn unplaced(n: usize) -> Placed {
    let record = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(Flags::UNMAPPED)
        .set_sequence(bases(50, n).into())
        .set_quality_scores(vec![30; 50].into())
        .build();

    Placed {
        reference: None,
        start: 0,
        end: 0,
        mapped: false,
        flush_after: false,
        record,
    }
}

/// Writes the BAM file; returns each record's chunk (its start and end virtual positions).
fn write_bam(
    path: &Path,
    header: &sam::Header,
    records: &[Placed],
    layout: &BlockLayout,
) -> std::io::Result<Vec<Chunk>> {
    let mut writer = bam::io::Writer::from(Blocked::new(File::create(path)?, layout));
    writer.write_header(header)?;

    let mut chunks = Vec::with_capacity(records.len());

    for placed in records {
        let start = writer.get_ref().virtual_position();
        writer.write_alignment_record(header, &placed.record)?;
        chunks.push(Chunk::new(start, writer.get_ref().virtual_position()));

        if placed.flush_after {
            writer.get_mut().flush()?;
        }
    }

    writer.into_inner().finish()?;
    Ok(chunks)
}

/// A BAM file and its two indexes on disk, with what the test knows about them.
struct BamFixture {
    dir: TempDir,
    names: Vec<String>,
    lengths: Vec<u32>,
    /// Where each record lies, by its place in the file.
    placed: Vec<(Option<usize>, u32, u32)>,
    /// The header and records as noodles reads them back from the file.
    header: sam::Header,
    records: Vec<RecordBuf>,
}

impl BamFixture {
    fn new(spec: &BamSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let header = spec.header();
        let records = spec.records();

        let chunks = write_bam(&dir.path().join(DATA), &header, &records, &spec.layout)
            .expect("BAM written");

        let extents: Vec<Extent> = records
            .iter()
            .zip(chunks)
            .map(|(placed, chunk)| Extent {
                reference: placed.reference,
                start: placed.start,
                end: placed.end,
                mapped: placed.mapped,
                chunk,
            })
            .collect();

        let count = spec.lengths.len();
        let bai = bai(&extents, count);
        bam::bai::fs::write(dir.path().join(INDEXES[0]), &bai).expect("BAI written");

        let csi = csi(&extents, spec.min_shift, spec.csi_depth(), count);
        noodles::csi::fs::write(dir.path().join(INDEXES[1]), &csi).expect("CSI written");

        let (header, read_back) = read_bam(&dir.path().join(DATA));
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            names: spec.names(),
            lengths: spec.lengths.clone(),
            placed: records
                .iter()
                .map(|placed| (placed.reference, placed.start, placed.end))
                .collect(),
            header,
            records: read_back,
            dir,
        }
    }

    fn path(&self, key: &str) -> std::path::PathBuf {
        self.dir.path().join(key)
    }

    /// Cuts the regions of `query` through each index and checks the payloads.
    fn check(&self, query: &[RegionSpec]) -> Result<(), String> {
        let windows: Vec<Window> = query
            .iter()
            .map(|spec| Window::new(spec, &self.lengths))
            .collect();
        let regions = windows
            .iter()
            .map(|w| w.region(&self.names))
            .collect::<Vec<_>>();
        let truth = self.truth(&windows);
        let storage = LocalStorage::new(self.dir.path());

        for index in INDEXES {
            let context = |e: String| format!("{index}, regions {windows:?}: {e}");
            let payload =
                cut(&storage, Format::Bam, DATA, index, regions.clone()).map_err(context)?;
            let held = self.decode(&payload).map_err(context)?;
            let found = self.noodles_query(index, &windows).map_err(context)?;
            check_records(&held, &truth, &found).map_err(context)?;
        }

        Ok(())
    }

    fn truth(&self, windows: &[Window]) -> BTreeSet<usize> {
        (0..self.placed.len())
            .filter(|&i| {
                let (reference, start, end) = self.placed[i];
                windows.iter().any(|w| w.holds(reference, start, end))
            })
            .collect()
    }

    /// Reads the payload to its end; returns its records' places in the file.
    fn decode(&self, payload: &[u8]) -> Result<Vec<usize>, String> {
        let mut reader = bam::io::Reader::new(payload);
        let header = reader
            .read_header()
            .map_err(|e| format!("payload header: {e}"))?;

        if header != self.header {
            return Err("the payload's header differs from the file's".into());
        }

        let mut held = Vec::new();

        for result in reader.record_bufs(&header) {
            let record = result.map_err(|e| format!("payload record #{}: {e}", held.len()))?;
            let name = record
                .name()
                .map(|name| name.to_string())
                .unwrap_or_default();
            let n = ordinal(&name, 'r')?;

            if self.records.get(n) != Some(&record) {
                return Err(format!("payload record {name} differs from the file's"));
            }

            held.push(n);
        }

        Ok(held)
    }

    /// The records noodles' own indexed query finds for the windows, through `index`.
    fn noodles_query(&self, index: &str, windows: &[Window]) -> Result<BTreeSet<usize>, String> {
        let index = read_index(&self.path(index))?;
        let max = max_position(index.min_shift(), index.depth());
        let mut found = BTreeSet::new();

        for window in windows {
            let mut reader = File::open(self.path(DATA))
                .map(bam::io::Reader::new)
                .map_err(|e| e.to_string())?;
            let header = reader.read_header().map_err(|e| e.to_string())?;

            let records: Vec<bam::Record> = match window.reference() {
                // noodles' unmapped query also yields the placed unmapped reads of the last
                // linear window; htsget's `*` is the unplaced ones only.
                None => reader
                    .query_unmapped(&index)
                    .and_then(Iterator::collect::<std::io::Result<Vec<_>>>)
                    .map_err(|e| format!("noodles unmapped query: {e}"))?
                    .into_iter()
                    .filter(|record| record.reference_sequence_id().is_none())
                    .collect(),
                Some(_) => match window.noodles_region(&self.names, max) {
                    None => Vec::new(),
                    Some(region) => reader
                        .query(&header, &index, &region)
                        .and_then(|query| query.records().collect())
                        .map_err(|e| format!("noodles query {region}: {e}"))?,
                },
            };

            for record in records {
                let name = record
                    .name()
                    .map(|name| name.to_string())
                    .unwrap_or_default();
                found.insert(ordinal(&name, 'r')?);
            }
        }

        Ok(found)
    }
}

fn read_bam(path: &Path) -> (sam::Header, Vec<RecordBuf>) {
    let mut reader = File::open(path)
        .map(bam::io::Reader::new)
        .expect("BAM opened");
    let header = reader.read_header().expect("BAM header");
    let records = reader
        .record_bufs(&header)
        .collect::<std::io::Result<_>>()
        .expect("BAM records");
    (header, records)
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn bam_payloads_hold_every_overlapping_read(
        spec in bam_spec(),
        queries in prop::collection::vec(query_spec(true), 8),
    ) {
        let fixture = BamFixture::new(&spec);

        for query in &queries {
            fixture.check(query).map_err(TestCaseError::fail)?;
        }
    }
}
