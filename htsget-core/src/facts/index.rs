//! The binning indexes (BAI, CSI, TBI) behind one type.

use std::fmt;

use noodles::{
    bam::bai,
    bgzf,
    core::{Position, region::Interval},
    csi::{self, BinningIndex as _, binning_index::index::reference_sequence::bin::Chunk},
    tabix,
};

/// Which index format a [`BinningIndex`] was read from.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum IndexKind {
    /// BAM index (`.bai`): fixed 16 kb windows, positions up to 2^29.
    Bai,
    /// Coordinate-sorted index (`.csi`): any `min_shift` and depth.
    Csi,
    /// Tabix index (`.tbi`): like BAI, plus a reference name table.
    Tbi,
}

/// A parsed BAI, CSI or TBI index, ready to answer region queries.
pub struct BinningIndex {
    kind: IndexKind,
    inner: Box<dyn csi::BinningIndex + Send + Sync>,
    reference_count: usize,
    placed_end: Option<bgzf::VirtualPosition>,
}

impl BinningIndex {
    /// Wraps a parsed BAI index.
    pub fn bai(index: bai::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Bai, Box::new(index), count, end)
    }

    /// Wraps a parsed CSI index.
    pub fn csi(index: csi::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Csi, Box::new(index), count, end)
    }

    /// Wraps a parsed tabix index.
    pub fn tbi(index: tabix::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Tbi, Box::new(index), count, end)
    }

    fn new(
        kind: IndexKind,
        inner: Box<dyn csi::BinningIndex + Send + Sync>,
        reference_count: usize,
        placed_end: Option<bgzf::VirtualPosition>,
    ) -> Self {
        Self {
            kind,
            inner,
            reference_count,
            placed_end,
        }
    }

    /// The index format.
    pub fn kind(&self) -> IndexKind {
        self.kind
    }

    /// The number of references the index has entries for.
    pub fn reference_count(&self) -> usize {
        self.reference_count
    }

    /// The reference name table of a tabix index, or of a CSI index that carries one.
    pub fn reference_names(&self) -> Option<impl Iterator<Item = String> + '_> {
        self.inner.header().map(|header| {
            header
                .reference_sequence_names()
                .iter()
                .map(|name| String::from_utf8_lossy(name).into_owned())
        })
    }

    /// The virtual position just after the last placed record (the end of the furthest chunk
    /// of any bin), where unplaced unmapped records start. `None` if no record is placed.
    pub fn placed_end(&self) -> Option<bgzf::VirtualPosition> {
        self.placed_end
    }

    /// The chunks that may hold records of reference `id` overlapping `start..end` (0-based,
    /// end exclusive; `None` for an open bound), merged, sorted and trimmed by the linear index.
    ///
    /// Bounds past the largest position the index can address are clamped to it; an empty
    /// interval gives no chunk.
    pub fn query(
        &self,
        id: usize,
        start: Option<u32>,
        end: Option<u32>,
    ) -> std::io::Result<Vec<Chunk>> {
        if id >= self.reference_count {
            return Ok(Vec::new());
        }

        let max = self.max_position();
        let start = start.map_or(1, |s| u64::from(s) + 1);
        let end = end.map_or(max, |e| u64::from(e).min(max));

        if start > end {
            return Ok(Vec::new());
        }

        let to_position = |n: u64| {
            usize::try_from(n)
                .ok()
                .and_then(Position::new)
                .ok_or_else(|| std::io::Error::other("position out of range"))
        };

        let interval = Interval::from(to_position(start)?..=to_position(end)?);
        self.inner.query(id, interval)
    }

    /// The largest 1-based position the index can address: 2^(min_shift + 3 * depth).
    fn max_position(&self) -> u64 {
        let shift = u32::from(self.inner.min_shift()) + 3 * u32::from(self.inner.depth());
        1u64.checked_shl(shift)
            .unwrap_or(u64::MAX)
            .min(u64::from(u32::MAX) + 1)
    }
}

impl fmt::Debug for BinningIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinningIndex")
            .field("kind", &self.kind)
            .field("reference_count", &self.reference_count)
            .field("placed_end", &self.placed_end)
            .finish_non_exhaustive()
    }
}

fn summarize<I>(
    references: &[csi::binning_index::index::ReferenceSequence<I>],
) -> (usize, Option<bgzf::VirtualPosition>)
where
    I: csi::binning_index::index::reference_sequence::Index,
{
    let end = references
        .iter()
        .flat_map(|reference| reference.bins().values())
        .flat_map(|bin| bin.chunks())
        .map(|chunk| chunk.end())
        .max();

    (references.len(), end)
}
