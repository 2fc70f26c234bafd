//! Reading a file's facts: its index whole, its header from a prefix, its tail.

use std::io;

use super::{check, header, index, invalid, io_error};
use crate::{
    BGZF_EOF, CRAM_EOF, Error, Format,
    facts::{BgzfFacts, BinningIndex, CramFacts, FileFacts, Layout, References},
    storage::{Metadata, Object, Storage, read_all},
};

/// How much of a data file is read at first to find its header; grown fourfold while the
/// header does not fit, up to [`MAX_HEADER_PREFIX`].
const FIRST_HEADER_PREFIX: usize = 256 << 10;

/// The largest prefix read to find a header.
const MAX_HEADER_PREFIX: usize = 256 << 20;

/// Reads the facts of the data file `data` (in `format`) and its index `index` from `storage`.
///
/// # Errors
///
/// [`Error::NotFound`] if either object is missing, [`Error::InvalidData`] if either does not
/// parse or the index does not fit the data file, [`Error::Io`] for other storage failures.
pub async fn facts<S>(
    storage: &S,
    format: Format,
    data: &str,
    index: &str,
) -> Result<FileFacts, Error>
where
    S: Storage + ?Sized,
{
    let data = storage
        .open(data)
        .await
        .map_err(|e| io_error(e, "data file"))?;
    let index = storage
        .open(index)
        .await
        .map_err(|e| io_error(e, "index"))?;
    facts_of(format, &*data, &*index).await
}

/// Reads the facts of `data` and `index` in `storage`, whose metadata [`Storage::head`] gave
/// (so an object store is not asked for them again).
///
/// # Errors
///
/// As [`facts`].
pub async fn facts_known<S>(
    storage: &S,
    format: Format,
    (data, data_metadata): (&str, &Metadata),
    (index, index_metadata): (&str, &Metadata),
) -> Result<FileFacts, Error>
where
    S: Storage + ?Sized,
{
    let data = storage
        .open_known(data, data_metadata)
        .await
        .map_err(|e| io_error(e, "data file"))?;
    let index = storage
        .open_known(index, index_metadata)
        .await
        .map_err(|e| io_error(e, "index"))?;
    facts_of(format, &*data, &*index).await
}

/// Reads the facts of the opened data file `data` (in `format`) and its opened index `index`:
/// the index whole, a prefix of the data file for its header, and its last bytes.
///
/// # Errors
///
/// As [`facts`].
pub async fn facts_of(
    format: Format,
    data: &dyn Object,
    index: &dyn Object,
) -> Result<FileFacts, Error> {
    let size = data.size();
    let index_bytes = read_all(index).await.map_err(|e| io_error(e, "index"))?;

    match format {
        Format::Bam | Format::Vcf | Format::Bcf => {
            let index = index::binning(&index_bytes).map_err(|e| invalid(e, "index"))?;
            let header = read_header(data, |prefix| match format {
                Format::Bam => header::bam(prefix),
                Format::Bcf => header::bcf(prefix),
                _ => header::vcf(prefix).map(|(header, end)| header::BgzfHeader {
                    references: vcf_references(&header, &index),
                    end,
                }),
            })
            .await?;

            let data_end = size - trailer_len(data, &BGZF_EOF).await?;
            check::bgzf_index(format, &index, header.references.len(), header.end, size)?;
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
            let (references, major) = read_header(data, header::cram).await?;

            if major < 3 {
                return Err(Error::InvalidData {
                    what: "CRAM file",
                    source: io::Error::other(format!("CRAM {major}.x is not supported")),
                });
            }

            let data_end = size - trailer_len(data, &CRAM_EOF).await?;
            check::crai(&index, references.len(), data_end)?;
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

/// VCF reference ids: the index's name table when it has one (tabix, or CSI with aux data),
/// else the header's contig order; contigs the header declares beyond those have no data.
fn vcf_references(header: &noodles::vcf::Header, index: &BinningIndex) -> References {
    let mut references = match index.reference_names() {
        Some(names) => References::from_ordered(names),
        None => References::from_ordered(header.contigs().keys().cloned()),
    };

    for name in header.contigs().keys() {
        references.insert(name.clone(), None);
    }

    references
}

/// Parses the header from a prefix of `data`, reading more while it does not fit.
async fn read_header<T>(
    data: &dyn Object,
    parse: impl Fn(&[u8]) -> io::Result<T>,
) -> Result<T, Error> {
    let mut len = FIRST_HEADER_PREFIX;

    loop {
        let prefix = data
            .read(0, len)
            .await
            .map_err(|e| io_error(e, "data file"))?;
        let whole = prefix.len() as u64 >= data.size();

        match parse(&prefix) {
            Ok(parsed) => return Ok(parsed),
            Err(_) if !whole && len < MAX_HEADER_PREFIX => len *= 4,
            Err(e) => return Err(invalid(e, "header")),
        }
    }
}

/// The length of `marker` if `data` ends with it, else 0.
async fn trailer_len(data: &dyn Object, marker: &[u8]) -> Result<u64, Error> {
    let offset = data.size().saturating_sub(marker.len() as u64);
    let tail = data
        .read(offset, marker.len())
        .await
        .map_err(|e| io_error(e, "data file"))?;
    Ok(if tail == marker { tail.len() as u64 } else { 0 })
}
