//! One part of a plan: which section of the payload it belongs to, and what it holds.

use crate::Span;

/// Whether a part belongs to the header or to the body of the payload (a ticket URL's
/// `class`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Section {
    /// Header bytes: identical for every query of a file and format.
    Header,
    /// Records, and the end-of-file marker after them.
    Body,
}

impl Section {
    /// `header` or `body`, as tickets spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Body => "body",
        }
    }
}

/// What a part holds.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Content {
    /// A span of the data file.
    Span(Span),
    /// Bytes carried in the ticket itself (an end-of-file marker, or a re-encoded part of a
    /// block).
    Inline(Vec<u8>),
}

impl Content {
    /// The length in bytes (for a [`Span::Bgzf`], see [`Span::len`]).
    pub fn len(&self) -> u64 {
        match self {
            Self::Span(span) => span.len(),
            Self::Inline(bytes) => bytes.len() as u64,
        }
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Span(span) => span.is_empty(),
            Self::Inline(bytes) => bytes.is_empty(),
        }
    }
}

/// One part of a plan.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Part {
    pub(super) section: Section,
    pub(super) content: Content,
}

impl Part {
    /// A part of `section` holding `content`.
    pub fn new(section: Section, content: Content) -> Self {
        Self { section, content }
    }

    /// Header or body.
    pub fn section(&self) -> Section {
        self.section
    }

    /// What the part holds.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// The part's length in bytes (see [`Content::len`]).
    pub fn len(&self) -> u64 {
        self.content.len()
    }

    /// Whether the part holds no byte.
    pub fn is_empty(&self) -> bool {
        self.content.is_empty()
    }
}
