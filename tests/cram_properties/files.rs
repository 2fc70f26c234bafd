//! The files of a fixture, written from the generated references and records: the reference
//! FASTA with its `.fai`, the CRAM file a container per writer, and its CRAI.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, BufReader, BufWriter, Write},
    path::Path,
};

use htsget_core::CRAM_EOF;
use noodles::{
    core::Position,
    cram::{self, crai},
    fasta::{
        self,
        record::{Definition, Sequence},
    },
    sam::{self, alignment::io::Write as _},
};

use crate::properties::generate::{Placed, position};

/// Writes the reference FASTA (60 bases a line) and its `.fai`.
pub(super) fn write_fasta(path: &Path, names: &[String], references: &[Vec<u8>]) -> io::Result<()> {
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

pub(super) fn repository(names: &[String], references: &[Vec<u8>]) -> fasta::Repository {
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
pub(super) fn write_cram(
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
pub(super) fn build_index(path: &Path, records: &[Placed]) -> io::Result<crai::Index> {
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
