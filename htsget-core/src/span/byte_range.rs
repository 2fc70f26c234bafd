//! Whole bytes of a file.

use std::fmt;

/// A byte range of a file: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct ByteRange {
    start: u64,
    end: u64,
}

impl ByteRange {
    /// The bytes `start..end` (end exclusive).
    ///
    /// # Panics
    ///
    /// Panics if `start > end`.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::ByteRange;
    /// let range = ByteRange::new(10, 20);
    /// assert_eq!(range.len(), 10);
    /// assert_eq!(range.to_string(), "bytes=10-19");
    /// ```
    pub fn new(start: u64, end: u64) -> Self {
        assert!(start <= end, "invalid byte range {start}..{end}");
        Self { start, end }
    }

    /// The first byte (inclusive).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte (exclusive).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The number of bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The range in consecutive pieces of at most `len` bytes (at least 1), in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::ByteRange;
    /// let pieces: Vec<_> = ByteRange::new(5, 30).chunks(10).collect();
    /// assert_eq!(pieces, [ByteRange::new(5, 15), ByteRange::new(15, 25), ByteRange::new(25, 30)]);
    /// assert_eq!(ByteRange::new(5, 5).chunks(10).count(), 0);
    /// ```
    pub fn chunks(self, len: u64) -> impl Iterator<Item = ByteRange> {
        let len = len.max(1);
        let starts = (self.start..self.end).step_by(usize::try_from(len).unwrap_or(usize::MAX));
        starts.map(move |start| Self::new(start, start.saturating_add(len).min(self.end)))
    }
}

/// Formats as an HTTP `Range` header value, `bytes=FIRST-LAST` (LAST inclusive). An empty
/// range has no such form, so plans never hold empty ranges.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes={}-{}", self.start, self.end.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_byte_range_display() {
        assert_eq!(ByteRange::new(0, 1).to_string(), "bytes=0-0");
    }
}
