//! Consistency checks: an index that does not fit its data file is refused, since serving it
//! would silently lose or corrupt records.

use std::io;

use noodles::bgzf;

use super::invalid;
use crate::{Error, Format, facts::BinningIndex};

/// Refuses an index that does not fit its data file: one pointing past the end of the records
/// (a truncated file, or an index of another file), or, for BAM and BCF, one made for a
/// different reference list. Serving either would silently lose or corrupt records.
pub(super) fn bgzf_index(
    format: Format,
    index: &BinningIndex,
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
pub(super) fn crai(
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
