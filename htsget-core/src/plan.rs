//! The plan: the ordered blocks whose concatenation is the answer to a query.

use std::fmt;

use noodles::bgzf::VirtualPosition;

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
}

/// Formats as an HTTP `Range` header value, `bytes=FIRST-LAST` (LAST inclusive).
/// An empty range has no such form; it is written `bytes=START-` + nothing useful, so
/// plans never hold empty ranges.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes={}-{}", self.start, self.end.saturating_sub(1))
    }
}

/// Whether a block belongs to the header or to the body of the payload.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum BlockClass {
    /// Header bytes: identical for every query of a file and format.
    Header,
    /// Records and the end-of-file marker.
    Body,
}

impl BlockClass {
    /// `header` or `body`, as tickets spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Body => "body",
        }
    }
}

/// A stretch of a BGZF file between two virtual positions, at least one of which falls inside
/// a block. Its bytes are made when fetched ([`crate::load::span_parts`]): the part of each cut
/// block that belongs to the span, re-encoded, around the whole blocks between them.
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

    /// The span as a URL query value: the two raw virtual positions, `START-END`.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::BgzfSpan;
    /// use noodles::bgzf::VirtualPosition;
    /// let span = BgzfSpan::new(VirtualPosition::from(5), VirtualPosition::from(70_000));
    /// assert_eq!(span.to_param(), "5-70000");
    /// assert_eq!(BgzfSpan::from_param("5-70000"), Some(span));
    /// assert_eq!(BgzfSpan::from_param("9-5"), None);
    /// ```
    pub fn to_param(&self) -> String {
        format!("{}-{}", u64::from(self.start), u64::from(self.end))
    }

    /// Parses [`BgzfSpan::to_param`]'s form; `None` if malformed or reversed.
    pub fn from_param(param: &str) -> Option<Self> {
        let (start, end) = param.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(start) || !digits(end) {
            return None;
        }
        let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
        (start <= end).then(|| Self::new(start.into(), end.into()))
    }
}

/// What a block holds.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Source {
    /// Bytes of the data file.
    Range(ByteRange),
    /// Bytes carried in the ticket itself (a re-encoded part of a block, or an EOF marker).
    Inline(Vec<u8>),
    /// A BGZF span cut inside blocks, made when fetched.
    Bgzf(BgzfSpan),
}

/// One block of a plan.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Block {
    class: BlockClass,
    source: Source,
}

impl Block {
    /// A block of `class` holding `source`.
    pub fn new(class: BlockClass, source: Source) -> Self {
        Self { class, source }
    }

    /// Header or body.
    pub fn class(&self) -> BlockClass {
        self.class
    }

    /// Where the block's bytes come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The block's length in bytes. For a [`Source::Bgzf`] span, the compressed bytes between its
    /// two ends: its re-encoded cut blocks make the served length differ slightly.
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::Range(range) => range.len(),
            Source::Inline(data) => data.len() as u64,
            Source::Bgzf(span) => span.end().compressed() - span.start().compressed(),
        }
    }

    /// Whether the block holds no byte.
    pub fn is_empty(&self) -> bool {
        match &self.source {
            Source::Bgzf(span) => span.start() == span.end(),
            _ => self.len() == 0,
        }
    }
}

/// The answer to a query: blocks to fetch in order and concatenate.
///
/// A plan's concatenation is always a complete file in its format: the header blocks first,
/// then the record blocks in file order, then the format's end-of-file marker. File ranges are
/// never empty and never overlap; adjacent ranges of the same class are merged.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Plan {
    blocks: Vec<Block>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a block, merging it into the previous one when both are file ranges of the same
    /// class that touch. Empty blocks are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{BlockClass, ByteRange, Plan, Source};
    /// let mut plan = Plan::new();
    /// plan.push(BlockClass::Body, Source::Range(ByteRange::new(0, 10)));
    /// plan.push(BlockClass::Body, Source::Range(ByteRange::new(10, 30)));
    /// assert_eq!(plan.blocks().len(), 1);
    /// assert_eq!(plan.len(), 30);
    /// ```
    pub fn push(&mut self, class: BlockClass, source: Source) {
        let block = Block::new(class, source);

        if block.is_empty() {
            return;
        }

        if let (Some(last), Source::Range(next)) = (self.blocks.last_mut(), &block.source)
            && let Source::Range(prev) = &mut last.source
            && last.class == class
            && prev.end() == next.start()
        {
            *prev = ByteRange::new(prev.start(), next.end());
            return;
        }

        self.blocks.push(block);
    }

    /// The blocks, in payload order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The payload's total length in bytes.
    pub fn len(&self) -> u64 {
        self.blocks.iter().map(Block::len).sum()
    }

    /// Whether the plan holds no block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Bytes of the payload in blocks of `class` (file ranges and inline data alike).
    pub fn len_of(&self, class: BlockClass) -> u64 {
        self.blocks
            .iter()
            .filter(|b| b.class() == class)
            .map(Block::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_push_with_gap_and_class_change() {
        let mut plan = Plan::new();
        plan.push(BlockClass::Header, Source::Range(ByteRange::new(0, 10)));
        plan.push(BlockClass::Body, Source::Range(ByteRange::new(10, 20)));
        plan.push(BlockClass::Body, Source::Range(ByteRange::new(25, 30)));
        plan.push(BlockClass::Body, Source::Range(ByteRange::new(30, 30)));
        plan.push(BlockClass::Body, Source::Inline(vec![1, 2]));
        assert_eq!(plan.blocks().len(), 4);
        assert_eq!(plan.len_of(BlockClass::Body), 17);
    }

    #[test]
    fn test_push_with_bgzf_span_inside_one_block() {
        let span = BgzfSpan::new(VirtualPosition::from(5), VirtualPosition::from(90));
        let mut plan = Plan::new();
        plan.push(BlockClass::Body, Source::Bgzf(span));
        plan.push(
            BlockClass::Body,
            Source::Bgzf(BgzfSpan::new(span.end(), span.end())),
        );
        assert_eq!(plan.blocks().len(), 1);
    }

    #[test]
    fn test_byte_range_display() {
        assert_eq!(ByteRange::new(0, 1).to_string(), "bytes=0-0");
    }
}
