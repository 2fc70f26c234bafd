//! The I/O layer: reading a file's facts and the blocks a selection cuts inside, through a
//! [`Storage`].

mod header;
mod index;

use std::io;

use noodles::bgzf;

use crate::{
    BgzfSpan, Error, Format, Plan, Source,
    facts::{BgzfFacts, CramFacts, FileFacts, Layout, References},
    resolve::{BGZF_EOF, BoundaryBlocks, DecodedBlock, MAX_BLOCK_SIZE, Selection},
    storage::Storage,
};

/// The CRAM 3.x end-of-file container.
pub const CRAM_EOF: [u8; 38] = [
    0x0f, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xe0, 0x45, 0x4f, 0x46, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x05, 0xbd, 0xd9, 0x4f, 0x00, 0x01, 0x00, 0x06, 0x06, 0x01, 0x00, 0x01, 0x00,
    0x01, 0x00, 0xee, 0x63, 0x01, 0x4b,
];

/// How much of a data file is read at first to find its header; grown fourfold while the
/// header does not fit, up to [`MAX_HEADER_PREFIX`].
const FIRST_HEADER_PREFIX: usize = 256 << 10;

/// The largest prefix read to find a header.
const MAX_HEADER_PREFIX: usize = 256 << 20;

/// Reads the facts of the data file `data` (in `format`) and its index `index`.
///
/// # Errors
///
/// [`Error::NotFound`] if either object is missing, [`Error::InvalidData`] if either does not
/// parse, [`Error::Io`] for other storage failures.
pub fn facts<S>(storage: &S, format: Format, data: &str, index: &str) -> Result<FileFacts, Error>
where
    S: Storage + ?Sized,
{
    let size = storage.size(data).map_err(|e| io_error(e, "data file"))?;
    let index_bytes = storage.read_all(index).map_err(|e| io_error(e, "index"))?;

    match format {
        Format::Bam | Format::Vcf | Format::Bcf => {
            let index = index::binning(&index_bytes).map_err(|e| invalid(e, "index"))?;
            let header = read_header(storage, data, size, |prefix| match format {
                Format::Bam => header::bam(prefix),
                Format::Bcf => header::bcf(prefix),
                _ => header::vcf(prefix).map(|(header, end)| header::BgzfHeader {
                    references: vcf_references(&header, &index),
                    end,
                }),
            })?;

            let tail = read_tail(storage, data, size, BGZF_EOF.len())?;
            let data_end = size
                - if tail == BGZF_EOF {
                    tail.len() as u64
                } else {
                    0
                };

            check_bgzf_index(format, &index, header.references.len(), header.end, size)?;
            let layout = BgzfFacts::new(index, header.end, data_end);
            Ok(FileFacts::new(
                format,
                size,
                header.references,
                Layout::Bgzf(layout),
            ))
        }
        Format::Cram => {
            let index = index::crai(&index_bytes).map_err(|e| invalid(e, "index"))?;
            let (references, major) = read_header(storage, data, size, header::cram)?;

            if major < 3 {
                return Err(Error::InvalidData {
                    what: "CRAM file",
                    source: io::Error::other(format!("CRAM {major}.x is not supported")),
                });
            }

            let tail = read_tail(storage, data, size, CRAM_EOF.len())?;
            let data_end = size
                - if tail == CRAM_EOF {
                    tail.len() as u64
                } else {
                    0
                };
            check_crai(&index, references.len(), data_end)?;
            let header_end = index
                .iter()
                .map(|record| record.offset())
                .min()
                .unwrap_or(data_end)
                .min(data_end);

            let layout = CramFacts::new(index, header_end, data_end, CRAM_EOF.to_vec());
            Ok(FileFacts::new(
                format,
                size,
                references,
                Layout::Cram(layout),
            ))
        }
    }
}

/// Refuses an index that does not fit its data file: one pointing past the end of the records
/// (a truncated file, or an index of another file), or, for BAM and BCF, one made for a
/// different reference list. Serving either would silently lose or corrupt records.
fn check_bgzf_index(
    format: Format,
    index: &crate::facts::BinningIndex,
    references: usize,
    header_end: bgzf::VirtualPosition,
    size: u64,
) -> Result<(), Error> {
    let mismatch = |message: String| {
        Err(invalid(
            io::Error::new(io::ErrorKind::InvalidData, message),
            "index",
        ))
    };

    if let Some(end) = index.placed_end() {
        // Indexers may count the EOF block into the last chunk, so the file size is the bound.
        // Indexers may count the EOF block into the last chunk, so the file size is the bound.
        let past = end.compressed() > size || (end.compressed() == size && end.uncompressed() > 0);
        if past {
            return mismatch("the data file is shorter than its index says (truncated, or the index of another file)".into());
        }
        if end < header_end {
            return mismatch(
                "the index points into the header (the index of another file?)".into(),
            );
        }
    }

    let counts_differ = match format {
        Format::Bam => index.reference_count() != references,
        Format::Bcf => index.reference_count() > references,
        _ => false,
    };

    if counts_differ {
        return mismatch(format!(
            "the index has {} references, the header {references} (the index of another file?)",
            index.reference_count()
        ));
    }

    Ok(())
}

/// Refuses a CRAI whose containers lie past the end of the data or whose reference ids the
/// header does not have.
fn check_crai(
    index: &noodles::cram::crai::Index,
    references: usize,
    data_end: u64,
) -> Result<(), Error> {
    for record in index {
        let end = record
            .offset()
            .saturating_add(record.landmark())
            .saturating_add(record.slice_length());
        let bad_reference = record
            .reference_sequence_id()
            .is_some_and(|id| id >= references);

        if end > data_end || bad_reference {
            return Err(invalid(
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the index does not fit the data file (truncated, or the index of another file)",
                ),
                "index",
            ));
        }
    }

    Ok(())
}

/// Reads the boundary blocks of `selection` from `data` and lays out the plan.
pub fn plan<S>(storage: &S, data: &str, selection: &Selection) -> Result<Plan, Error>
where
    S: Storage + ?Sized,
{
    let blocks = boundary_blocks(storage, data, &selection.boundary_blocks())?;
    selection.layout(&blocks)
}

/// The bytes of a deferred [`BgzfSpan`] of `data` (see [`Selection::layout_deferred`]), as
/// pieces: re-encoded parts of its cut blocks ([`Source::Inline`]) around a file range of the
/// whole blocks between them ([`Source::Range`]). Reads at most the two cut blocks; the range
/// is left for the caller to stream.
///
/// # Errors
///
/// [`Error::InvalidData`] if the span does not lie in the file or cuts a block that does not
/// decode (a span from a client may be anything).
pub fn span_parts<S>(storage: &S, data: &str, span: &BgzfSpan) -> Result<Vec<Source>, Error>
where
    S: Storage + ?Sized,
{
    let size = storage.size(data).map_err(|e| io_error(e, "data file"))?;
    if span.end().compressed() > size {
        return Err(invalid(
            io::Error::new(io::ErrorKind::InvalidInput, "span past the end of the file"),
            "span",
        ));
    }

    let offsets = crate::resolve::cut_blocks(span.start(), span.end());
    let blocks = boundary_blocks(storage, data, &offsets)?;
    let pieces = crate::resolve::cut(span.start(), span.end(), &blocks)?;

    match pieces.iter().find_map(|p| match p {
        Source::Range(range) if range.end() > size => Some(range),
        _ => None,
    }) {
        Some(_) => Err(invalid(
            io::Error::new(io::ErrorKind::InvalidInput, "span past the end of the file"),
            "span",
        )),
        None => Ok(pieces),
    }
}

/// Reads and decodes the BGZF blocks of `data` at `offsets`.
pub fn boundary_blocks<S>(storage: &S, data: &str, offsets: &[u64]) -> Result<BoundaryBlocks, Error>
where
    S: Storage + ?Sized,
{
    offsets
        .iter()
        .map(|&offset| {
            let raw = storage
                .read(data, offset, MAX_BLOCK_SIZE)
                .map_err(|e| io_error(e, "data file"))?;
            let block = DecodedBlock::decode(&raw).map_err(|e| invalid(e, "BGZF block"))?;
            Ok((offset, block))
        })
        .collect()
}

/// VCF reference ids: the index's name table when it has one (tabix, or CSI with aux data),
/// else the header's contig order; contigs the header declares beyond those have no data.
fn vcf_references(header: &noodles::vcf::Header, index: &crate::facts::BinningIndex) -> References {
    let mut references = match index.reference_names() {
        Some(names) => References::from_ordered(names),
        None => References::from_ordered(header.contigs().keys().cloned()),
    };

    for name in header.contigs().keys() {
        references.insert(name.clone(), None);
    }

    references
}

fn read_header<S, T>(
    storage: &S,
    data: &str,
    size: u64,
    parse: impl Fn(&[u8]) -> io::Result<T>,
) -> Result<T, Error>
where
    S: Storage + ?Sized,
{
    let mut len = FIRST_HEADER_PREFIX;

    loop {
        let prefix = storage
            .read(data, 0, len)
            .map_err(|e| io_error(e, "data file"))?;
        let whole = prefix.len() as u64 >= size;

        match parse(&prefix) {
            Ok(parsed) => return Ok(parsed),
            Err(e) if !whole && len < MAX_HEADER_PREFIX => {
                let _ = e;
                len *= 4;
            }
            Err(e) => return Err(invalid(e, "header")),
        }
    }
}

fn read_tail<S>(storage: &S, data: &str, size: u64, len: usize) -> Result<Vec<u8>, Error>
where
    S: Storage + ?Sized,
{
    let offset = size.saturating_sub(len as u64);
    storage
        .read(data, offset, len)
        .map_err(|e| io_error(e, "data file"))
}

fn io_error(source: io::Error, what: &'static str) -> Error {
    if source.kind() == io::ErrorKind::NotFound {
        Error::NotFound {
            what: what.to_owned(),
        }
    } else {
        Error::Io { what, source }
    }
}

fn invalid(source: io::Error, what: &'static str) -> Error {
    Error::InvalidData { what, source }
}

/// Writes the payload of `plan` (file ranges of `data` and inline blocks, in order) to `out`,
/// reading at most [`PAYLOAD_CHUNK`] bytes at a time. Returns the bytes written.
///
/// This is what a client does with a ticket; embedders use it to cut a region out of a local
/// file without a server.
pub fn write_payload<S, W>(storage: &S, data: &str, plan: &Plan, out: &mut W) -> Result<u64, Error>
where
    S: Storage + ?Sized,
    W: io::Write,
{
    let mut written = 0;

    for block in plan.blocks() {
        written += write_source(storage, data, block.source(), out)?;
    }

    Ok(written)
}

fn write_source<S, W>(storage: &S, data: &str, source: &Source, out: &mut W) -> Result<u64, Error>
where
    S: Storage + ?Sized,
    W: io::Write,
{
    let mut written = 0;

    {
        match source {
            Source::Bgzf(span) => {
                for piece in span_parts(storage, data, span)? {
                    written += write_source(storage, data, &piece, out)?;
                }
            }
            Source::Inline(bytes) => {
                out.write_all(bytes).map_err(|e| io_error(e, "output"))?;
                written += bytes.len() as u64;
            }
            Source::Range(range) => {
                let mut offset = range.start();

                while offset < range.end() {
                    let len = (range.end() - offset).min(PAYLOAD_CHUNK as u64) as usize;
                    let bytes = storage
                        .read(data, offset, len)
                        .map_err(|e| io_error(e, "data file"))?;

                    if bytes.len() != len {
                        return Err(Error::Io {
                            what: "data file",
                            source: io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "file is shorter than its plan",
                            ),
                        });
                    }

                    out.write_all(&bytes).map_err(|e| io_error(e, "output"))?;
                    offset += len as u64;
                    written += len as u64;
                }
            }
        }
    }

    Ok(written)
}

/// The largest read [`write_payload`] makes at once.
pub const PAYLOAD_CHUNK: usize = 1 << 20;

/// The I/O layer for async callers: the same loaders, run on tokio's blocking pool so that
/// file reads never stall the runtime (feature `tokio`).
#[cfg(feature = "tokio")]
pub mod r#async {
    use std::sync::Arc;

    use crate::{Error, Format, Plan, facts::FileFacts, resolve::Selection, storage::Storage};

    /// [`super::facts`] on the blocking pool.
    pub async fn facts<S>(
        storage: Arc<S>,
        format: Format,
        data: String,
        index: String,
    ) -> Result<FileFacts, Error>
    where
        S: Storage + Send + Sync + 'static + ?Sized,
    {
        blocking(move || super::facts(&*storage, format, &data, &index)).await
    }

    /// [`super::plan`] on the blocking pool.
    pub async fn plan<S>(storage: Arc<S>, data: String, selection: Selection) -> Result<Plan, Error>
    where
        S: Storage + Send + Sync + 'static + ?Sized,
    {
        blocking(move || super::plan(&*storage, &data, &selection)).await
    }

    async fn blocking<T, F>(f: F) -> Result<T, Error>
    where
        F: FnOnce() -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Io {
                what: "blocking task",
                source: std::io::Error::other(e),
            })?
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::LocalStorage;

        #[tokio::test]
        async fn test_facts_with_missing_file() {
            let storage = Arc::new(LocalStorage::new(std::env::temp_dir()));
            let error = facts(
                storage,
                Format::Bam,
                "no-such.bam".into(),
                "no-such.bai".into(),
            )
            .await
            .unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::NotFound);
        }
    }
}
