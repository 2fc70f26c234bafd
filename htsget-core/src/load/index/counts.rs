//! A walk over the layout of a BAI, CSI or TBI index, before noodles parses it, that checks
//! every element count against the bytes left.
//!
//! noodles reserves room for `n_ref` references and `n_bin` bins as soon as it reads those
//! counts, so a corrupt or hostile count of a few bytes reserves gigabytes (found by the
//! `index_plan` fuzz target). A count whose elements cannot fit in the rest of the index would
//! make the parse fail at the end of the input anyway; failing here, before any allocation,
//! refuses no index that noodles would accept.

use std::io;

/// The smallest BAI or TBI reference: `n_bin` and `n_intv`.
const MIN_LINEAR_REFERENCE: usize = 8;

/// The smallest BAI or TBI bin: `bin` and `n_chunk`.
const MIN_LINEAR_BIN: usize = 8;

/// The smallest CSI reference: `n_bin`.
const MIN_CSI_REFERENCE: usize = 4;

/// The smallest CSI bin: `bin`, `loffset` and `n_chunk`.
const MIN_CSI_BIN: usize = 16;

/// A chunk: two virtual positions (the metadata pseudo-bin's two "chunks" too).
const CHUNK: usize = 16;

/// A linear index entry: one virtual position.
const INTERVAL: usize = 8;

/// The fields of a TBI header before the name table: format, col_seq, col_beg, col_end, meta
/// and skip.
const TBI_HEADER_FIELDS: usize = 24;

/// Checks a BAI index (uncompressed, magic included).
pub(super) fn check_bai(bytes: &[u8]) -> io::Result<()> {
    let mut cursor = Cursor::new(bytes);
    cursor.skip(4)?;
    let references = cursor.count(MIN_LINEAR_REFERENCE)?;
    (0..references).try_for_each(|_| cursor.linear_reference())
}

/// Checks a decompressed CSI index (magic included).
pub(super) fn check_csi(bytes: &[u8]) -> io::Result<()> {
    let mut cursor = Cursor::new(bytes);
    cursor.skip(4 + 4 + 4)?; // magic, min_shift, depth
    let aux = cursor.u32()?;
    cursor.skip_csi_header(aux);
    let references = cursor.count(MIN_CSI_REFERENCE)?;
    (0..references).try_for_each(|_| cursor.csi_reference())
}

/// Checks a decompressed TBI index (magic included).
pub(super) fn check_tbi(bytes: &[u8]) -> io::Result<()> {
    let mut cursor = Cursor::new(bytes);
    cursor.skip(4)?;
    let references = cursor.count(MIN_LINEAR_REFERENCE)?;
    cursor.skip(TBI_HEADER_FIELDS)?;
    let names = cursor.u32()?;
    cursor.skip_up_to(names);
    (0..references).try_for_each(|_| cursor.linear_reference())
}

/// Reads through an index's bytes.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn skip(&mut self, len: usize) -> io::Result<()> {
        self.rest = self.rest.get(len..).ok_or_else(truncated)?;
        Ok(())
    }

    /// Skips `len` bytes, or to the end: noodles reads the CSI aux data and the TBI name table
    /// through a reader limited to their length, which stops early at the end of the index.
    fn skip_up_to(&mut self, len: u32) {
        let len = usize::try_from(len).map_or(self.rest.len(), |len| len.min(self.rest.len()));
        self.rest = &self.rest[len..];
    }

    /// Skips what noodles reads of the CSI aux data: a tabix-style header (the fields up to the
    /// name table's length, then the name table), and no further. noodles leaves any aux bytes
    /// after that header unread and reads the reference count from them, so this walk must
    /// too (found by the `index_plan` fuzz target; the aux data of htslib's indexes is exactly
    /// the header).
    fn skip_csi_header(&mut self, aux: u32) {
        if aux == 0 {
            return;
        }
        let aux = usize::try_from(aux).unwrap_or(usize::MAX);
        let header = self
            .rest
            .get(TBI_HEADER_FIELDS..TBI_HEADER_FIELDS + 4)
            .and_then(|len| len.try_into().ok())
            .map_or(usize::MAX, |len| {
                let names = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
                (TBI_HEADER_FIELDS + 4).saturating_add(names)
            });
        self.skip_up_to(u32::try_from(aux.min(header)).unwrap_or(u32::MAX));
    }

    fn u32(&mut self) -> io::Result<u32> {
        let (bytes, rest) = self.rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        self.rest = rest;
        Ok(u32::from_le_bytes(*bytes))
    }

    /// Reads a count of elements of at least `min_size` bytes each, and checks that they fit
    /// in the bytes left. Signed counts are read as unsigned: a negative one never fits.
    fn count(&mut self, min_size: usize) -> io::Result<usize> {
        let count = usize::try_from(self.u32()?).map_err(|_| too_many())?;
        let fits = count
            .checked_mul(min_size)
            .is_some_and(|len| len <= self.rest.len());
        fits.then_some(count).ok_or_else(too_many)
    }

    /// Skips a count of elements of `size` bytes each.
    fn elements(&mut self, size: usize) -> io::Result<()> {
        let count = self.count(size)?;
        self.skip(count * size)
    }

    /// A BAI or TBI reference: bins (`bin`, chunks), then the linear index.
    fn linear_reference(&mut self) -> io::Result<()> {
        let bins = self.count(MIN_LINEAR_BIN)?;
        for _ in 0..bins {
            self.skip(4)?;
            self.elements(CHUNK)?;
        }
        self.elements(INTERVAL)
    }

    /// A CSI reference: bins (`bin`, `loffset`, chunks).
    fn csi_reference(&mut self) -> io::Result<()> {
        let bins = self.count(MIN_CSI_BIN)?;
        for _ in 0..bins {
            self.skip(4 + 8)?;
            self.elements(CHUNK)?;
        }
        Ok(())
    }
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "index is truncated")
}

fn too_many() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "index count is larger than the index",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BAI with one reference of one bin with one chunk, and one linear index entry.
    fn small_bai() -> Vec<u8> {
        [
            &b"BAI\x01"[..],
            &1u32.to_le_bytes(),    // n_ref
            &1u32.to_le_bytes(),    // n_bin
            &4681u32.to_le_bytes(), // bin
            &1u32.to_le_bytes(),    // n_chunk
            &[0; CHUNK],            // chunk
            &1u32.to_le_bytes(),    // n_intv
            &[0; INTERVAL],         // ioffset
        ]
        .concat()
    }

    #[test]
    fn test_check_bai_with_counts_that_fit() {
        assert!(check_bai(&small_bai()).is_ok());
        assert!(check_bai(b"BAI\x01\x00\x00\x00\x00").is_ok());
    }

    #[test]
    fn test_check_bai_with_huge_bin_count() {
        let mut bai = small_bai();
        bai[8..12].copy_from_slice(&0x0fff_ffffu32.to_le_bytes());
        let error = check_bai(&bai).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn test_check_csi_with_huge_reference_and_bin_counts() {
        let csi = |n_ref: u32, n_bin: u32| {
            [
                &b"CSI\x01"[..],
                &14u32.to_le_bytes(), // min_shift
                &5u32.to_le_bytes(),  // depth
                &0u32.to_le_bytes(),  // l_aux
                &n_ref.to_le_bytes(),
                &n_bin.to_le_bytes(),
            ]
            .concat()
        };
        assert!(check_csi(&csi(1, 0)).is_ok());
        assert!(check_csi(&csi(2, 0)).is_err());
        assert!(check_csi(&csi(1, u32::MAX)).is_err());
    }

    #[test]
    fn test_check_csi_with_aux_longer_than_its_header() {
        // 28 bytes of tabix-style header with an empty name table, then 8 more aux bytes that
        // noodles reads as the reference and bin counts.
        let aux = [
            &[0; TBI_HEADER_FIELDS][..],
            &0u32.to_le_bytes(),
            &1u32.to_le_bytes(),
            &0x1000_0000u32.to_le_bytes(),
        ]
        .concat();
        let csi = [
            &b"CSI\x01"[..],
            &14u32.to_le_bytes(),
            &5u32.to_le_bytes(),
            &(aux.len() as u32).to_le_bytes(),
            &aux,
            &0u32.to_le_bytes(), // n_ref after the aux data, which noodles never reads
        ]
        .concat();
        let error = check_csi(&csi).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn test_check_tbi_with_name_table_past_the_end() {
        let tbi = |l_nm: u32| {
            [
                &b"TBI\x01"[..],
                &0u32.to_le_bytes(), // n_ref
                &[0; TBI_HEADER_FIELDS],
                &l_nm.to_le_bytes(),
                b"1\0",
            ]
            .concat()
        };
        assert!(check_tbi(&tbi(2)).is_ok());
        // A name table running past the end leaves nothing for the references: with none it
        // parses (noodles reads the names up to the end), with one it cannot.
        assert!(check_tbi(&tbi(i32::MAX as u32)).is_ok());
        let mut one_reference = tbi(i32::MAX as u32);
        one_reference[4..8].copy_from_slice(&1u32.to_le_bytes());
        assert!(check_tbi(&one_reference).is_err());
    }
}
