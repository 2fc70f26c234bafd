//! The binning indexes (BAI, CSI, TBI) behind one type.

use std::fmt;

use noodles::{
    bam::bai,
    bgzf,
    core::Position,
    csi::{
        self, BinningIndex as _,
        binning_index::{
            index::reference_sequence::{bin::Chunk, index::LinearIndex},
            optimize_chunks,
        },
    },
    tabix,
};

/// The two shapes of binning index noodles parses into.
enum Inner {
    /// BAI and TBI: bins plus a linear index.
    Linear(csi::binning_index::Index<LinearIndex>),
    /// CSI: bins carrying their own first offsets.
    Binned(csi::Index),
}

impl Inner {
    fn as_dyn(&self) -> &dyn csi::BinningIndex {
        match self {
            Self::Linear(index) => index,
            Self::Binned(index) => index,
        }
    }
}

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
    inner: Inner,
    reference_count: usize,
    placed_end: Option<bgzf::VirtualPosition>,
}

impl BinningIndex {
    /// Wraps a parsed BAI index.
    pub fn bai(index: bai::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Bai, Inner::Linear(index), count, end)
    }

    /// Wraps a parsed CSI index.
    pub fn csi(index: csi::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Csi, Inner::Binned(index), count, end)
    }

    /// Wraps a parsed tabix index.
    pub fn tbi(index: tabix::Index) -> Self {
        let (count, end) = summarize(index.reference_sequences());
        Self::new(IndexKind::Tbi, Inner::Linear(index), count, end)
    }

    fn new(
        kind: IndexKind,
        inner: Inner,
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
        self.inner.as_dyn().header().map(|header| {
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

        let (first, last) = (to_position(start)?, to_position(end)?);

        Ok(match &self.inner {
            Inner::Linear(index) => chunks(index, id, first, last),
            Inner::Binned(index) => chunks(index, id, first, last),
        })
    }

    /// The smallest virtual position of the records of reference `id` that overlap the index
    /// window (BAI, TBI) or bin (CSI) holding the 0-based `position`, as the index records it:
    /// every record of `id` before it ends before that window. `None` when the index does not
    /// say (no entry, or a position past what it addresses).
    pub fn min_offset(&self, id: usize, position: u32) -> Option<bgzf::VirtualPosition> {
        let first = Position::new(usize::try_from(u64::from(position) + 1).ok()?)?;
        if u64::from(position) + 1 > self.max_position() {
            return None;
        }
        let offset = match &self.inner {
            Inner::Linear(index) => {
                let reference = index.reference_sequences().get(id)?;
                reference.min_offset(index.min_shift(), index.depth(), first)
            }
            Inner::Binned(index) => {
                let reference = index.reference_sequences().get(id)?;
                reference.min_offset(index.min_shift(), index.depth(), first)
            }
        };
        (offset != bgzf::VirtualPosition::default()).then_some(offset)
    }

    /// The largest 1-based position the index can address: 2^(min_shift + 3 * depth).
    fn max_position(&self) -> u64 {
        let shift =
            u32::from(self.inner.as_dyn().min_shift()) + 3 * u32::from(self.inner.as_dyn().depth());
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

/// The merged chunks of the bins that overlap `first..=last` (1-based) on reference `id`,
/// trimmed by the index's smallest offset for `first`. Looks up only the bins the region can
/// touch, rather than scanning every bin of the reference.
fn chunks<I>(
    index: &csi::binning_index::Index<I>,
    id: usize,
    first: Position,
    last: Position,
) -> Vec<Chunk>
where
    I: csi::binning_index::index::reference_sequence::Index,
{
    let Some(reference) = index.reference_sequences().get(id) else {
        return Vec::new();
    };
    let (min_shift, depth) = (index.min_shift(), index.depth());

    let (first0, last0) = (usize::from(first) - 1, usize::from(last) - 1);
    let leaves = (last0 >> min_shift) - (first0 >> min_shift) + 1;

    // Look up the region's bins, or scan the reference's bins when it has fewer (whole
    // references, open ends).
    // Sized up front: growing it reallocates, and reallocation takes the allocator's lock.
    let mut found: Vec<Chunk> = Vec::with_capacity(64);
    if leaves < reference.bins().len() {
        found.extend(
            region_bins(first0, last0, min_shift, depth)
                .filter_map(|bin| reference.bins().get(&bin))
                .flat_map(|bin| bin.chunks().iter().copied()),
        );
    } else {
        found.extend(
            reference
                .bins()
                .iter()
                .filter(|(id, _)| bin_overlaps(**id, first0, last0, min_shift, depth))
                .flat_map(|(_, bin)| bin.chunks().iter().copied()),
        );
    }

    let min_offset = reference.min_offset(min_shift, depth, first);
    optimize_chunks(&found, min_offset)
}

/// The ids of the bins that overlap the 0-based inclusive positions `first..=last`, level by
/// level from the root (the binning scheme of the SAM specification, §5.3, generalised by CSI).
fn region_bins(first: usize, last: usize, min_shift: u8, depth: u8) -> impl Iterator<Item = usize> {
    (0..=u32::from(depth)).flat_map(move |level| {
        let offset = ((1usize << (3 * level)) - 1) / 7;
        let shift = u32::from(min_shift) + 3 * (u32::from(depth) - level);
        (offset + (first >> shift))..=(offset + (last >> shift))
    })
}

/// Whether bin `id` covers any of the 0-based inclusive positions `first..=last`.
fn bin_overlaps(id: usize, first: usize, last: usize, min_shift: u8, depth: u8) -> bool {
    (0..=u32::from(depth)).any(|level| {
        let offset = ((1usize << (3 * level)) - 1) / 7;
        let next = ((1usize << (3 * (level + 1))) - 1) / 7;
        let shift = u32::from(min_shift) + 3 * (u32::from(depth) - level);
        (offset..next).contains(&id) && {
            let start = (id - offset) << shift;
            let end = ((id - offset + 1) << shift) - 1;
            start <= last && first <= end
        }
    })
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

#[cfg(test)]
mod tests {
    use noodles::{
        core::region::Interval,
        csi::binning_index::{Indexer, index::reference_sequence::index::BinnedIndex},
    };

    use super::*;

    /// An index over records laid out by a small deterministic generator: starts spread over
    /// 3 references, lengths from 1 base to 3 Mb so that every level of bins is used.
    fn build<I>(mut indexer: Indexer<I>) -> csi::binning_index::Index<I>
    where
        I: csi::binning_index::index::reference_sequence::Index + Default,
    {
        let mut state = 12345u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut offset = 0u64;

        for reference in 0..3 {
            let mut start = 1;
            for _ in 0..2000 {
                start += next(20_000) as usize;
                let len = [1, 150, 20_000, 3_000_000][next(4) as usize];
                let chunk = Chunk::new(
                    bgzf::VirtualPosition::from(offset << 16),
                    bgzf::VirtualPosition::from((offset + 1) << 16),
                );
                offset += 1;
                let (first, last) = (
                    Position::new(start).unwrap(),
                    Position::new(start + len).unwrap(),
                );
                indexer
                    .add_record(Some((reference, first, last, true)), chunk)
                    .unwrap();
            }
        }

        indexer.build(3)
    }

    fn assert_same_as_noodles<I>(index: &csi::binning_index::Index<I>)
    where
        I: csi::binning_index::index::reference_sequence::Index,
    {
        for reference in 0..3 {
            for (first, len) in [
                (1, 1),
                (5_000, 100_000),
                (123_456, 1),
                (1_000_000, 5_000_000),
                (16_384, 16_384),
            ] {
                let (a, b) = (
                    Position::new(first).unwrap(),
                    Position::new(first + len - 1).unwrap(),
                );
                let expected = index.query(reference, Interval::from(a..=b)).unwrap();
                assert_eq!(
                    chunks(index, reference, a, b),
                    expected,
                    "{reference}:{first}+{len}"
                );
            }
        }
    }

    #[test]
    fn test_chunks_with_bai_layout() {
        let index = build(Indexer::<LinearIndex>::default());
        assert_same_as_noodles(&index);
    }

    #[test]
    fn test_chunks_with_csi_layouts() {
        for (min_shift, depth) in [(14, 5), (12, 6), (16, 4)] {
            let index = build(Indexer::<BinnedIndex>::new(min_shift, depth).unwrap());
            assert_same_as_noodles(&index);
        }
    }

    #[test]
    fn test_region_bins_with_whole_level_zero() {
        let bins: Vec<usize> = region_bins(0, 16_383, 14, 5).collect();
        assert_eq!(bins, [0, 1, 9, 73, 585, 4681]);
    }
}
