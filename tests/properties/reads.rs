//! BAM, with a BAI and a CSI built from the virtual positions the writer reports.

use std::{collections::BTreeSet, fs::File, io::Write as _, path::Path};

use htsget_core::{Format, storage::LocalStorage};
use noodles::{
    bam,
    csi::{BinningIndex, binning_index::index::reference_sequence::bin::Chunk},
    sam::{
        self,
        alignment::{RecordBuf, io::Write as _, record::Flags},
    },
};
use proptest::prelude::*;
use tempfile::TempDir;

use super::{
    BlockLayout, Blocked, Extent, RegionSpec, Window, bai, bases, block_layout, check_records,
    coordinate, csi, csi_depth, cut,
    generate::{Placed, ReadsSpec, Shape, Site, read_name, read_spec, reads_spec, sites},
    max_position, ordinal, query_spec, read_index,
};

const DATA: &str = "x.bam";
const INDEXES: [&str; 2] = ["x.bam.bai", "x.bam.csi"];

/// Mostly short reads; some long ones fill BGZF blocks by themselves, some are short reads with
/// a long span, some are soft-clipped.
fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        16 => (20u32..=150).prop_map(Shape::Matched),
        1 => (1_000u32..=70_000).prop_map(Shape::Matched),
        3 => (10u32..=100, 1u32..=20_000, 10u32..=100, any::<bool>()).prop_map(
            |(left, gap, right, skip)| Shape::Gapped { left, gap, right, skip }
        ),
        2 => (1u32..=40, 20u32..=150, 1u32..=40)
            .prop_map(|(left, len, right)| Shape::Clipped { left, len, right }),
    ]
}

/// A BAM file and its indexes, as parameters.
#[derive(Clone, Debug)]
struct BamSpec {
    reads: ReadsSpec,
    layout: BlockLayout,
    /// The CSI's `min_shift`, and how many levels it has beyond the fewest that cover the
    /// longest reference.
    min_shift: u8,
    extra_depth: u8,
}

fn bam_spec() -> impl Strategy<Value = BamSpec> {
    let read = read_spec(coordinate(), shape(), Just(None), prop::bool::weighted(0.1));

    (
        reads_spec(2_000..200_000, read, 0..300, 0..20),
        block_layout(),
        12u8..=16,
        0u8..=2,
    )
        .prop_map(|(reads, layout, min_shift, extra_depth)| BamSpec {
            reads,
            layout,
            min_shift,
            extra_depth,
        })
}

impl BamSpec {
    /// The records in file order (see [`ReadsSpec::records`]), with bases varied by their
    /// place in the file.
    fn records(&self) -> Vec<Placed> {
        self.reads.records(Flags::empty(), |n, _, _, shape, _| {
            bases(shape.read_len(), n)
        })
    }

    fn csi_depth(&self) -> u8 {
        let longest = *self.reads.lengths.iter().max().expect("references");
        csi_depth(self.min_shift, self.extra_depth, longest)
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
    placed: Vec<Site>,
    /// The header and records as noodles reads them back from the file.
    header: sam::Header,
    records: Vec<RecordBuf>,
}

impl BamFixture {
    fn new(spec: &BamSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let header = spec.reads.header();
        let records = spec.records();

        let chunks = write_bam(&dir.path().join(DATA), &header, &records, &spec.layout)
            .expect("BAM written");

        let extents: Vec<Extent> = records
            .iter()
            .zip(chunks)
            .map(|(placed, chunk)| {
                let (reference, start, end) = placed.site;
                Extent {
                    reference,
                    start,
                    end,
                    mapped: placed.mapped,
                    chunk,
                }
            })
            .collect();

        let count = spec.reads.lengths.len();
        let bai = bai(&extents, count);
        bam::bai::fs::write(dir.path().join(INDEXES[0]), &bai).expect("BAI written");

        let csi = csi(&extents, spec.min_shift, spec.csi_depth(), count);
        noodles::csi::fs::write(dir.path().join(INDEXES[1]), &csi).expect("CSI written");

        let (header, read_back) = read_bam(&dir.path().join(DATA));
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            names: spec.reads.names(),
            lengths: spec.reads.lengths.clone(),
            placed: sites(&records),
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

        for (index, exact) in INDEXES.into_iter().flat_map(|i| [(i, false), (i, true)]) {
            let context = |e: String| format!("{index}, exact {exact}, regions {windows:?}: {e}");
            let payload =
                cut(&storage, Format::Bam, DATA, index, regions.clone(), exact).map_err(context)?;
            let held = self.decode(&payload).map_err(context)?;
            let found = self.noodles_query(index, &windows).map_err(context)?;
            check_records(&held, &truth, &found, exact).map_err(context)?;
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
            let name = read_name(record.name());
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
                found.insert(ordinal(&read_name(record.name()), 'r')?);
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
