//! Index files, parsed from their bytes; the format is told by content, not by name.

mod counts;

use std::io::{self, Read};

use noodles::{
    bam::bai,
    bgzf,
    cram::crai,
    csi::{
        self, BinningIndex as _,
        binning_index::index::{ReferenceSequence, reference_sequence::Bin},
    },
    tabix,
};

use crate::{bgzf::DecodedBlock, facts::BinningIndex};

/// Parses a BAI, CSI or TBI index.
///
/// Its element counts are checked against its size first ([`counts`]), so that a corrupt count
/// cannot make the parser reserve gigabytes.
pub(super) fn binning(bytes: &[u8]) -> io::Result<BinningIndex> {
    if bytes.starts_with(b"BAI\x01") {
        counts::check_bai(bytes)?;
        let index = bai::io::Reader::new(bytes).read_index()?;
        check_bin_ids(index.reference_sequences(), index.depth())?;
        return Ok(BinningIndex::bai(index));
    }

    // CSI and TBI are BGZF-compressed; their magic is in the first block.
    let data = decompress(bytes)?;

    if data.starts_with(b"CSI\x01") {
        counts::check_csi(&data)?;
        let index = csi::io::Reader::new(bytes).read_index()?;
        check_bin_ids(index.reference_sequences(), index.depth())?;
        Ok(BinningIndex::csi(index))
    } else if data.starts_with(b"TBI\x01") {
        counts::check_tbi(&data)?;
        let index = tabix::io::Reader::new(bytes).read_index()?;
        check_bin_ids(index.reference_sequences(), index.depth())?;
        Ok(BinningIndex::tbi(index))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a BAI, CSI or TBI index",
        ))
    }
}

/// Checks that every bin id is one the index's depth allows: noodles' region query indexes a
/// table of the depth's bins by each bin id, and panics on one past its end (found by the
/// `index_plan` fuzz target). The metadata pseudo-bin is kept apart by the parser.
fn check_bin_ids<I>(references: &[ReferenceSequence<I>], depth: u8) -> io::Result<()>
where
    I: csi::binning_index::index::reference_sequence::Index,
{
    let max_id = Bin::max_id(depth).unwrap_or(0);
    let bad = references
        .iter()
        .flat_map(|reference| reference.bins().keys())
        .find(|&&id| id > max_id);

    match bad {
        Some(id) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bin {id} is past the last bin ({max_id}) of a depth-{depth} index"),
        )),
        None => Ok(()),
    }
}

/// Decompresses a BGZF index up to its end or its first bad block: the bytes noodles can read
/// of it. The first block must decode.
fn decompress(bytes: &[u8]) -> io::Result<Vec<u8>> {
    DecodedBlock::decode(bytes)?;

    let mut data = Vec::new();
    // On an error, `data` keeps what was read before it.
    let _ = bgzf::io::Reader::new(bytes).read_to_end(&mut data);
    Ok(data)
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

    /// The `index_plan` fuzz target's first finding: a BAI whose `n_bin` is a few hundred
    /// million made noodles reserve gigabytes for the bins.
    #[test]
    fn test_binning_with_huge_bai_bin_count() {
        let bai = [
            &b"BAI\x01"[..],
            &1u32.to_le_bytes(),
            &0x1000_0000u32.to_le_bytes(),
        ]
        .concat();
        let error = binning(&bai).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("larger than the index"),
            "{error}"
        );
    }

    /// The `index_plan` fuzz target's third finding: CSI aux data longer than its tabix-style
    /// header. noodles reads the reference count from the aux bytes after the header, so the
    /// count check must read the same bytes; here they hold a bin count of 2^28.
    #[test]
    fn test_binning_with_csi_aux_longer_than_its_header() {
        let aux = [
            &[0; 24][..],                  // format, col_seq, col_beg, col_end, meta, skip
            &0u32.to_le_bytes(),           // l_nm
            &1u32.to_le_bytes(),           // read as n_ref
            &0x1000_0000u32.to_le_bytes(), // read as n_bin
        ]
        .concat();
        let csi = [
            &b"CSI\x01"[..],
            &14u32.to_le_bytes(), // min_shift
            &5u32.to_le_bytes(),  // depth
            &(aux.len() as u32).to_le_bytes(),
            &aux,
            &0u32.to_le_bytes(),
        ]
        .concat();
        let bgzf = crate::bgzf::encode(&csi).unwrap();
        let error = binning(&bgzf).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("larger than the index"),
            "{error}"
        );
    }

    /// The `index_plan` fuzz target's second finding: a BAI bin id past the last bin of its
    /// depth (37448) made noodles' region query index out of bounds.
    #[test]
    fn test_binning_with_bin_id_past_the_last() {
        let bai = |bin: u32| {
            [
                &b"BAI\x01"[..],
                &1u32.to_le_bytes(), // n_ref
                &1u32.to_le_bytes(), // n_bin
                &bin.to_le_bytes(),
                &0u32.to_le_bytes(), // n_chunk
                &0u32.to_le_bytes(), // n_intv
            ]
            .concat()
        };
        assert!(binning(&bai(37448)).is_ok());
        let error = binning(&bai(37449)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
