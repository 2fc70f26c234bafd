//! Index files, parsed from their bytes; the format is told by content, not by name.

use std::io;

use noodles::{bam::bai, cram::crai, csi, tabix};

use crate::{facts::BinningIndex, resolve::DecodedBlock};

/// Parses a BAI, CSI or TBI index.
pub(super) fn binning(bytes: &[u8]) -> io::Result<BinningIndex> {
    if bytes.starts_with(b"BAI\x01") {
        return bai::io::Reader::new(bytes)
            .read_index()
            .map(BinningIndex::bai);
    }

    // CSI and TBI are BGZF-compressed; their magic is in the first block.
    let first = DecodedBlock::decode(bytes)?;

    if first.data().starts_with(b"CSI\x01") {
        csi::io::Reader::new(bytes)
            .read_index()
            .map(BinningIndex::csi)
    } else if first.data().starts_with(b"TBI\x01") {
        tabix::io::Reader::new(bytes)
            .read_index()
            .map(BinningIndex::tbi)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a BAI, CSI or TBI index",
        ))
    }
}

/// Parses a CRAI index (gzip-compressed text).
pub(super) fn crai(bytes: &[u8]) -> io::Result<crai::Index> {
    crai::io::Reader::new(bytes).read_index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_binning_with_garbage() {
        assert!(binning(b"").is_err());
        assert!(binning(b"BAI\x01").is_err());
        assert!(binning(&[0x1f, 0x8b, 0, 0]).is_err());
    }
}
