//! The CRAM file and its CRAI, cut into containers of at most [`CRAM_CONTAINER_RECORDS`] reads.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

use noodles::{
    cram,
    fasta::{
        self,
        record::{Definition, Sequence},
    },
    sam::{
        self,
        alignment::{RecordBuf, io::Write as _},
    },
};

use super::{CRAM_CONTAINER_RECORDS, reference::Reference, with_extension};

/// The reference repository the CRAM writer draws reference bases from.
fn repository(references: &[Reference]) -> fasta::Repository {
    let records: Vec<fasta::Record> = references
        .iter()
        .map(|reference| {
            let definition = Definition::new(reference.name, None);
            fasta::Record::new(definition, Sequence::from(reference.bases.clone()))
        })
        .collect();
    fasta::Repository::new(records)
}

/// A CRAM writer into `out`, drawing reference bases from `repository`.
fn cram_writer<W: Write>(repository: &fasta::Repository, out: W) -> cram::io::Writer<W> {
    cram::io::writer::Builder::default()
        .set_reference_sequence_repository(repository.clone())
        .build_from_writer(out)
}

/// Writes the CRAM file and its CRAI (built by noodles).
///
/// noodles' writer fills a container with 10 240 reads and offers no knob for fewer, so each
/// container is written by a writer of its own into memory, stripped of the end-of-file
/// container that writer appends, and copied out; the file then gets one end-of-file container.
/// A container never holds reads of two references (noodles' indexer cannot index such a slice
/// without the reference).
pub(super) fn write_cram(
    path: &Path,
    header: &sam::Header,
    reads: &[RecordBuf],
    references: &[Reference],
) -> io::Result<()> {
    let repository = repository(references);
    let eof = cram_eof(&repository, header)?;

    let mut out = BufWriter::new(File::create(path)?);
    cram_writer(&repository, &mut out).write_header(header)?;

    for container in cram_containers(reads) {
        let mut writer = cram_writer(&repository, Vec::new());
        for read in container {
            writer.write_alignment_record(header, read)?;
        }
        writer.try_finish(header)?;

        let bytes = writer.into_inner();
        let body = bytes
            .strip_suffix(eof.as_slice())
            .ok_or_else(|| io::Error::other("a CRAM container writer did not end with EOF"))?;
        out.write_all(body)?;
    }

    out.write_all(&eof)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let index = cram::fs::index(path)?;
    cram::crai::fs::write(with_extension(path, "crai"), &index)
}

/// The end-of-file container noodles' CRAM writer appends (what a writer with no reads writes).
fn cram_eof(repository: &fasta::Repository, header: &sam::Header) -> io::Result<Vec<u8>> {
    let mut writer = cram_writer(repository, Vec::new());
    writer.try_finish(header)?;
    Ok(writer.into_inner())
}

/// `reads` cut into runs of one reference (or unplaced) of at most
/// [`CRAM_CONTAINER_RECORDS`] reads each.
fn cram_containers(reads: &[RecordBuf]) -> Vec<&[RecordBuf]> {
    reads
        .chunk_by(|a, b| a.reference_sequence_id() == b.reference_sequence_id())
        .flat_map(|run| run.chunks(CRAM_CONTAINER_RECORDS))
        .collect()
}
