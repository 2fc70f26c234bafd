//! The two flavours of variant file: writing each, in BGZF blocks as laid out, indexing it, and
//! reading it back or querying it with noodles.

use std::{
    fs::File,
    io::{self, Read, Write as _},
    path::Path,
};

use htsget_core::Format;
use noodles::{
    bcf, bgzf,
    csi::{BinningIndex, binning_index::index::reference_sequence::bin::Chunk},
    tabix,
    vcf::{
        self,
        variant::{RecordBuf, record::Ids as _},
    },
};

use super::spec::{Placed, VariantsSpec};
use crate::properties::{BlockLayout, Blocked, Extent, csi, csi_depth};

/// VCF.gz with tabix, or BCF with CSI.
#[derive(Clone, Copy, Debug)]
pub(super) enum Flavour {
    Vcf,
    Bcf,
}

impl Flavour {
    pub(super) fn format(self) -> Format {
        match self {
            Self::Vcf => Format::Vcf,
            Self::Bcf => Format::Bcf,
        }
    }

    pub(super) fn data(self) -> &'static str {
        match self {
            Self::Vcf => "x.vcf.gz",
            Self::Bcf => "x.bcf",
        }
    }

    pub(super) fn index(self) -> &'static str {
        match self {
            Self::Vcf => "x.vcf.gz.tbi",
            Self::Bcf => "x.bcf.csi",
        }
    }

    /// Writes the data file; returns each record's chunk (its start and end virtual positions).
    pub(super) fn write(
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
    pub(super) fn build_index(self, dir: &Path, spec: &VariantsSpec, extents: &[Extent]) {
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
    pub(super) fn read_all(self, bytes: impl Read) -> io::Result<(vcf::Header, Vec<RecordBuf>)> {
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
    pub(super) fn query<I: BinningIndex>(
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
