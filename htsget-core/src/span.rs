//! Spans: the stretches of a file that resolution selects, plans list, tickets name and the
//! data endpoint serves. One type, two forms: whole bytes, or BGZF virtual positions.

mod bgzf;
mod byte_range;

pub use self::{
    bgzf::{BgzfSpan, ParseBgzfSpanError},
    byte_range::ByteRange,
};

/// A stretch of a file, start inclusive and end exclusive.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Span {
    /// Whole bytes of the file: BGZF blocks, CRAM containers.
    Bytes(ByteRange),
    /// From one BGZF virtual position to another, at least one end inside a block. Its bytes
    /// are made when fetched: the part of each cut block inside the span, re-encoded, around
    /// the whole blocks between them.
    Bgzf(BgzfSpan),
}

impl Span {
    /// The span of `start..end` in a BGZF file: whole bytes when both ends fall on block
    /// boundaries, a [`BgzfSpan`] otherwise; `None` if it is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ByteRange, Span};
    /// use noodles::bgzf::VirtualPosition;
    ///
    /// let (a, b) = (VirtualPosition::from(0), VirtualPosition::try_from((700, 0))?);
    /// assert_eq!(Span::bgzf(a, b), Some(Span::Bytes(ByteRange::new(0, 700))));
    /// assert_eq!(Span::bgzf(b, b), None);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn bgzf(
        start: noodles::bgzf::VirtualPosition,
        end: noodles::bgzf::VirtualPosition,
    ) -> Option<Self> {
        if start >= end {
            None
        } else if start.uncompressed() == 0 && end.uncompressed() == 0 {
            Some(Self::Bytes(ByteRange::new(
                start.compressed(),
                end.compressed(),
            )))
        } else {
            Some(Self::Bgzf(BgzfSpan::new(start, end)))
        }
    }

    /// The compressed bytes the span reaches into: for a [`BgzfSpan`], those between its two
    /// ends (its re-encoded cut blocks make the served length differ slightly).
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(range) => range.len(),
            Self::Bgzf(span) => span.end().compressed() - span.start().compressed(),
        }
    }

    /// Whether the span holds no byte.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Bytes(range) => range.is_empty(),
            Self::Bgzf(span) => span.start() == span.end(),
        }
    }
}
