//! VCF.gz with a tabix index built by noodles reading the file back, and BCF with a CSI built
//! from the virtual positions the writer reports.

use std::{
    collections::BTreeSet,
    fs::File,
    io::{self, Read, Write as _},
    path::Path,
};

use htsget_core::{Format, LocalStorage};
use noodles::{
    bcf, bgzf,
    core::Position,
    csi::{BinningIndex, binning_index::index::reference_sequence::bin::Chunk},
    tabix,
    vcf::{
        self,
        header::record::value::{Map, map::Contig},
        variant::{RecordBuf, record::Ids as _, record_buf::AlternateBases},
    },
};
use proptest::prelude::*;
use tempfile::TempDir;

use super::{
    BlockLayout, Blocked, Extent, RegionSpec, Window, bases, block_layout, check_records,
    coordinate, csi, csi_depth, cut,
    generate::{Spot, names, site},
    max_position, ordinal, query_spec, read_index,
};

/// A variant; `contig` and `start` are reduced to the file's when it is built.
#[derive(Clone, Debug)]
struct VariantSpec {
    contig: usize,
    start: u32,
    /// The length of the reference allele: usually a few bases, sometimes a long deletion.
    ref_len: u32,
    /// The BGZF block ends right after this record.
    flush_after: bool,
}

fn variant_spec() -> impl Strategy<Value = VariantSpec> {
    let ref_len = prop_oneof![12 => 1u32..=4, 1 => 100u32..=20_000];

    (
        any::<usize>(),
        coordinate(),
        ref_len,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(contig, start, ref_len, flush_after)| VariantSpec {
            contig,
            start,
            ref_len,
            flush_after,
        })
}

impl Spot for VariantSpec {
    fn spot(&self) -> (usize, u32) {
        (self.contig, self.start)
    }
}

/// A variant file, as parameters.
#[derive(Clone, Debug)]
struct VariantsSpec {
    /// Contig lengths, in header order; the one at `empty` (modulo) has no records.
    lengths: Vec<u32>,
    empty: usize,
    variants: Vec<VariantSpec>,
    layout: BlockLayout,
    /// The BCF's CSI: its `min_shift`, and how many levels it has beyond the fewest that cover
    /// the longest contig. The tabix index of the VCF has noodles' defaults.
    min_shift: u8,
    extra_depth: u8,
}

fn variants_spec() -> impl Strategy<Value = VariantsSpec> {
    (
        prop::collection::vec(2_000u32..200_000, 4),
        any::<usize>(),
        prop::collection::vec(variant_spec(), 0..300),
        block_layout(),
        12u8..=16,
        0u8..=2,
    )
        .prop_map(
            |(lengths, empty, variants, layout, min_shift, extra_depth)| VariantsSpec {
                lengths,
                empty,
                variants,
                layout,
                min_shift,
                extra_depth,
            },
        )
}

/// A record as generated: where it lies (0-based, half-open), for the ground truth.
struct Placed {
    contig: usize,
    start: u32,
    end: u32,
    flush_after: bool,
    record: RecordBuf,
}

impl VariantsSpec {
    fn names(&self) -> Vec<String> {
        names(self.lengths.len())
    }

    fn header(&self) -> vcf::Header {
        self.names()
            .into_iter()
            .zip(&self.lengths)
            .fold(vcf::Header::builder(), |builder, (name, &len)| {
                let contig = Map::<Contig>::builder()
                    .set_length(len as usize)
                    .build()
                    .expect("contig");
                builder.add_contig(name, contig)
            })
            .build()
    }

    /// The records in file order, sorted by contig (in header order) and position. IDs are
    /// `v{n}`, `n` the record's place in the file.
    fn records(&self) -> Vec<Placed> {
        let names = self.names();
        let placed = site(&self.lengths, self.empty, &self.variants, |variant, len| {
            let ref_len = variant.ref_len.min(len);
            (ref_len, ref_len)
        });

        placed
            .into_iter()
            .enumerate()
            .map(|(n, (contig, start, ref_len, spec))| Placed {
                contig,
                start,
                end: start + ref_len,
                flush_after: spec.flush_after,
                record: variant(n, &names[contig], start, ref_len),
            })
            .collect()
    }
}

fn variant(n: usize, contig: &str, start: u32, ref_len: u32) -> RecordBuf {
    let text = |len, seed| String::from_utf8(bases(len, seed)).expect("ASCII bases");

    RecordBuf::builder()
        .set_reference_sequence_name(contig)
        .set_variant_start(Position::new(start as usize + 1).expect("position"))
        .set_ids([format!("v{n}")].into_iter().collect())
        .set_reference_bases(text(ref_len as usize, n))
        // One base, other than the first of the reference allele.
        .set_alternate_bases(AlternateBases::from(vec![text(1, n + 1)]))
        .build()
}

/// VCF.gz with tabix, or BCF with CSI.
#[derive(Clone, Copy, Debug)]
enum Flavour {
    Vcf,
    Bcf,
}

impl Flavour {
    fn format(self) -> Format {
        match self {
            Self::Vcf => Format::Vcf,
            Self::Bcf => Format::Bcf,
        }
    }

    fn data(self) -> &'static str {
        match self {
            Self::Vcf => "x.vcf.gz",
            Self::Bcf => "x.bcf",
        }
    }

    fn index(self) -> &'static str {
        match self {
            Self::Vcf => "x.vcf.gz.tbi",
            Self::Bcf => "x.bcf.csi",
        }
    }

    /// Writes the data file; returns each record's chunk (its start and end virtual positions).
    fn write(
        self,
        dir: &Path,
        header: &vcf::Header,
        records: &[Placed],
        layout: &BlockLayout,
    ) -> Vec<Chunk> {
        let file = File::create(dir.join(self.data())).expect("data file created");
        let blocked = Blocked::new(file, layout);

        let (blocked, chunks) = match self {
            Self::Vcf => write_records(vcf::io::Writer::new(blocked), header, records),
            Self::Bcf => write_records(bcf::io::Writer::from(blocked), header, records),
        };

        blocked.finish().expect("data file finished");
        chunks
    }

    /// Indexes the data file: the VCF as noodles does, reading it back; the BCF from the
    /// records' chunks.
    fn build_index(self, dir: &Path, spec: &VariantsSpec, extents: &[Extent]) {
        let (data, index) = (dir.join(self.data()), dir.join(self.index()));

        match self {
            Self::Vcf => match vcf::fs::index(&data).expect("VCF indexed") {
                vcf::Index::Tabix(tbi) => tabix::fs::write(index, &tbi).expect("TBI written"),
                vcf::Index::Csi(_) => panic!("noodles built a CSI for short contigs"),
            },
            Self::Bcf => {
                let longest = *spec.lengths.iter().max().expect("contigs");
                let depth = csi_depth(spec.min_shift, spec.extra_depth, longest);
                let csi = csi(extents, spec.min_shift, depth, spec.lengths.len());
                noodles::csi::fs::write(index, &csi).expect("CSI written");
            }
        }
    }

    /// Reads a whole file or payload: the header, then every record to the end.
    fn read_all(self, bytes: impl Read) -> io::Result<(vcf::Header, Vec<RecordBuf>)> {
        let mut records = Vec::new();
        let mut record = RecordBuf::default();

        let header = match self {
            Self::Vcf => {
                let mut reader = vcf::io::Reader::new(bgzf::io::Reader::new(bytes));
                let header = reader.read_header()?;
                while reader.read_record_buf(&header, &mut record)? != 0 {
                    records.push(record.clone());
                }
                header
            }
            Self::Bcf => {
                let mut reader = bcf::io::Reader::new(bytes);
                let header = reader.read_header()?;
                while reader.read_record_buf(&header, &mut record)? != 0 {
                    records.push(record.clone());
                }
                header
            }
        };

        Ok((header, records))
    }

    /// The IDs of the records noodles' own indexed query finds for `region`.
    fn query<I: BinningIndex>(
        self,
        data: &Path,
        index: &I,
        region: &noodles::core::Region,
    ) -> io::Result<Vec<String>> {
        match self {
            Self::Vcf => {
                let mut reader = File::open(data)
                    .map(bgzf::io::Reader::new)
                    .map(vcf::io::Reader::new)?;
                let header = reader.read_header()?;
                first_ids(reader.query(&header, index, region)?.records())
            }
            Self::Bcf => {
                let mut reader = File::open(data).map(bcf::io::Reader::new)?;
                let header = reader.read_header()?;
                first_ids(reader.query(&header, index, region)?.records())
            }
        }
    }
}

/// The first ID of each record, to the first error.
fn first_ids<R: vcf::variant::Record>(
    records: impl Iterator<Item = io::Result<R>>,
) -> io::Result<Vec<String>> {
    records
        .map(|result| {
            result.map(|record| record.ids().iter().next().unwrap_or_default().to_owned())
        })
        .collect()
}

/// A VCF or BCF writer over a [`Blocked`] file.
trait BlockedWriter: vcf::variant::io::Write {
    fn blocked(&mut self) -> &mut Blocked<File>;
    fn into_blocked(self) -> Blocked<File>;
}

impl BlockedWriter for vcf::io::Writer<Blocked<File>> {
    fn blocked(&mut self) -> &mut Blocked<File> {
        self.get_mut()
    }

    fn into_blocked(self) -> Blocked<File> {
        self.into_inner()
    }
}

impl BlockedWriter for bcf::io::Writer<Blocked<File>> {
    fn blocked(&mut self) -> &mut Blocked<File> {
        self.get_mut()
    }

    fn into_blocked(self) -> Blocked<File> {
        self.into_inner()
    }
}

/// Writes the header and records, ending a BGZF block after the records that ask for it;
/// returns each record's chunk.
fn write_records<W: BlockedWriter>(
    mut writer: W,
    header: &vcf::Header,
    records: &[Placed],
) -> (Blocked<File>, Vec<Chunk>) {
    writer.write_variant_header(header).expect("header written");
    let mut chunks = Vec::with_capacity(records.len());

    for placed in records {
        let start = writer.blocked().virtual_position();
        writer
            .write_variant_record(header, &placed.record)
            .expect("record written");
        chunks.push(Chunk::new(start, writer.blocked().virtual_position()));

        if placed.flush_after {
            writer.blocked().flush().expect("block flushed");
        }
    }

    (writer.into_blocked(), chunks)
}

/// A variant file and its index on disk, with what the test knows about them.
struct VariantsFixture {
    flavour: Flavour,
    dir: TempDir,
    names: Vec<String>,
    lengths: Vec<u32>,
    /// Where each record lies, by its place in the file.
    placed: Vec<(usize, u32, u32)>,
    /// The header and records as noodles reads them back from the file.
    header: vcf::Header,
    records: Vec<RecordBuf>,
}

impl VariantsFixture {
    fn new(flavour: Flavour, spec: &VariantsSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let records = spec.records();

        let chunks = flavour.write(dir.path(), &spec.header(), &records, &spec.layout);
        let extents: Vec<Extent> = records
            .iter()
            .zip(chunks)
            .map(|(placed, chunk)| Extent {
                reference: Some(placed.contig),
                start: placed.start,
                end: placed.end,
                mapped: true,
                chunk,
            })
            .collect();
        flavour.build_index(dir.path(), spec, &extents);

        let file = File::open(dir.path().join(flavour.data())).expect("data file");
        let (header, read_back) = flavour.read_all(file).expect("data file read back");
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            flavour,
            names: spec.names(),
            lengths: spec.lengths.clone(),
            placed: records
                .iter()
                .map(|placed| (placed.contig, placed.start, placed.end))
                .collect(),
            header,
            records: read_back,
            dir,
        }
    }

    /// Cuts the regions of `query` and checks the payload.
    fn check(&self, query: &[RegionSpec]) -> Result<(), String> {
        let windows: Vec<Window> = query
            .iter()
            .map(|spec| Window::new(spec, &self.lengths))
            .collect();
        let regions = windows.iter().map(|w| w.region(&self.names)).collect();
        let storage = LocalStorage::new(self.dir.path());
        let (format, data, index) = (
            self.flavour.format(),
            self.flavour.data(),
            self.flavour.index(),
        );
        let context = |e: String| format!("{index}, regions {windows:?}: {e}");

        let payload = cut(&storage, format, data, index, regions).map_err(context)?;
        let held = self.decode(&payload).map_err(context)?;
        let found = self.noodles_query(&windows).map_err(context)?;
        check_records(&held, &self.truth(&windows), &found).map_err(context)
    }

    fn truth(&self, windows: &[Window]) -> BTreeSet<usize> {
        (0..self.placed.len())
            .filter(|&i| {
                let (contig, start, end) = self.placed[i];
                windows.iter().any(|w| w.holds(Some(contig), start, end))
            })
            .collect()
    }

    /// Reads the payload to its end; returns its records' places in the file.
    fn decode(&self, payload: &[u8]) -> Result<Vec<usize>, String> {
        let (header, records) = self
            .flavour
            .read_all(payload)
            .map_err(|e| format!("payload does not decode: {e}"))?;

        if header != self.header {
            return Err("the payload's header differs from the file's".into());
        }

        records
            .iter()
            .map(|record| {
                let id = record.ids().as_ref().first().cloned().unwrap_or_default();
                let n = ordinal(&id, 'v')?;

                if self.records.get(n) == Some(record) {
                    Ok(n)
                } else {
                    Err(format!("payload record {id} differs from the file's"))
                }
            })
            .collect()
    }

    /// The records noodles' own indexed query finds for the windows.
    fn noodles_query(&self, windows: &[Window]) -> Result<BTreeSet<usize>, String> {
        let index = read_index(&self.dir.path().join(self.flavour.index()))?;
        let max = max_position(index.min_shift(), index.depth());
        let data = self.dir.path().join(self.flavour.data());
        let mut found = BTreeSet::new();

        for window in windows {
            // A tabix index names only contigs with records; noodles cannot query the others.
            let contig = window.reference().expect("variant regions name a contig");
            if !self.placed.iter().any(|&(c, ..)| c == contig) {
                continue;
            }

            let Some(region) = window.noodles_region(&self.names, max) else {
                continue;
            };

            let ids = self
                .flavour
                .query(&data, &index, &region)
                .map_err(|e| format!("noodles query {region}: {e}"))?;

            for id in ids {
                found.insert(ordinal(&id, 'v')?);
            }
        }

        Ok(found)
    }
}

fn variants_case() -> impl Strategy<Value = (VariantsSpec, Vec<Vec<RegionSpec>>)> {
    (variants_spec(), prop::collection::vec(query_spec(false), 8))
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn vcf_gz_payloads_hold_every_overlapping_record((spec, queries) in variants_case()) {
        let fixture = VariantsFixture::new(Flavour::Vcf, &spec);

        for query in &queries {
            fixture.check(query).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn bcf_payloads_hold_every_overlapping_record((spec, queries) in variants_case()) {
        let fixture = VariantsFixture::new(Flavour::Bcf, &spec);

        for query in &queries {
            fixture.check(query).map_err(TestCaseError::fail)?;
        }
    }
}
