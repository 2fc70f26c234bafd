//! Stretches of a BGZF file between virtual positions.

use noodles::bgzf::VirtualPosition;

/// A stretch of a BGZF file between two virtual positions, start inclusive and end exclusive.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BgzfSpan {
    start: VirtualPosition,
    end: VirtualPosition,
}

impl BgzfSpan {
    /// The span `start..end` (end exclusive).
    ///
    /// # Panics
    ///
    /// Panics if `start > end`.
    pub fn new(start: VirtualPosition, end: VirtualPosition) -> Self {
        assert!(start <= end, "invalid BGZF span");
        Self { start, end }
    }

    /// The first byte (inclusive).
    pub fn start(&self) -> VirtualPosition {
        self.start
    }

    /// One past the last byte (exclusive).
    pub fn end(&self) -> VirtualPosition {
        self.end
    }

    /// The compressed offsets of the blocks the span cuts inside (the blocks of its ends that
    /// have a non-zero uncompressed offset), without duplicates.
    pub(crate) fn cut_blocks(&self) -> Vec<u64> {
        if self.start >= self.end {
            return Vec::new();
        }
        let mut offsets: Vec<u64> = [self.start, self.end]
            .into_iter()
            .filter(|p| p.uncompressed() > 0)
            .map(|p| p.compressed())
            .collect();
        offsets.dedup();
        offsets
    }
}
