//! The plan: the ordered parts whose concatenation is the answer to a query.

mod part;
mod served;

pub use self::{
    part::{Content, Part, Section},
    served::Served,
};

use crate::Span;

/// The answer to a query: parts to fetch in order and concatenate.
///
/// A plan's concatenation is always a complete file in its format: the header parts first,
/// then the record parts in file order, then the format's end-of-file marker. Spans are never
/// empty and never overlap; adjacent byte ranges of the same section are merged.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Plan {
    parts: Vec<Part>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a part, merging it into the previous one when both are byte ranges of the same
    /// section that touch. Empty parts are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ByteRange, Content, Plan, Section, Span};
    /// let mut plan = Plan::new();
    /// plan.push(Section::Body, Content::Span(Span::Bytes(ByteRange::new(0, 10))));
    /// plan.push(Section::Body, Content::Span(Span::Bytes(ByteRange::new(10, 30))));
    /// assert_eq!(plan.parts().len(), 1);
    /// assert_eq!(plan.len(), 30);
    /// ```
    pub fn push(&mut self, section: Section, content: Content) {
        let part = Part::new(section, content);

        if part.is_empty() {
            return;
        }

        if let Some(last) = self.parts.last_mut()
            && let (Content::Span(Span::Bytes(prev)), Content::Span(Span::Bytes(next))) =
                (&last.content, &part.content)
            && last.section == section
            && prev.end() == next.start()
        {
            last.content =
                Content::Span(Span::Bytes(crate::ByteRange::new(prev.start(), next.end())));
            return;
        }

        self.parts.push(part);
    }

    /// The parts, in payload order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The payload's length in bytes (for [`Span::Bgzf`] parts, the compressed bytes between
    /// their ends: their re-encoded cut blocks make the served length differ slightly).
    pub fn len(&self) -> u64 {
        self.parts.iter().map(Part::len).sum()
    }

    /// Whether the plan holds no part.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Bytes of the payload in parts of `section`.
    pub fn len_of(&self, section: Section) -> u64 {
        self.parts
            .iter()
            .filter(|p| p.section() == section)
            .map(Part::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use noodles::bgzf::VirtualPosition;

    use super::*;
    use crate::{BgzfSpan, ByteRange};

    fn bytes(start: u64, end: u64) -> Content {
        Content::Span(Span::Bytes(ByteRange::new(start, end)))
    }

    #[test]
    fn test_push_with_gap_and_section_change() {
        let mut plan = Plan::new();
        plan.push(Section::Header, bytes(0, 10));
        plan.push(Section::Body, bytes(10, 20));
        plan.push(Section::Body, bytes(25, 30));
        plan.push(Section::Body, bytes(30, 30));
        plan.push(Section::Body, Content::Inline(vec![1, 2]));
        assert_eq!(plan.parts().len(), 4);
        assert_eq!(plan.len_of(Section::Body), 17);
    }

    #[test]
    fn test_push_with_bgzf_span_inside_one_block() {
        let span = BgzfSpan::new(VirtualPosition::from(5), VirtualPosition::from(90));
        let mut plan = Plan::new();
        plan.push(Section::Body, Content::Span(Span::Bgzf(span)));
        plan.push(
            Section::Body,
            Content::Span(Span::Bgzf(BgzfSpan::new(span.end(), span.end()))),
        );
        assert_eq!(plan.parts().len(), 1);
    }
}
