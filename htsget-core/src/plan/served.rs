//! What a stream serves: bytes of the file, or bytes made for it. Unlike a plan's [`Content`],
//! nothing here is deferred: a BGZF span's contents ([`crate::load::span_contents`]) are made of
//! these.

use crate::{ByteRange, Content, Span};

/// A stretch of a served stream.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Served {
    /// Bytes of the file, start inclusive, end exclusive.
    Bytes(ByteRange),
    /// Bytes made for the stream (a re-encoded part of a cut block).
    Inline(Vec<u8>),
}

impl Served {
    /// The length in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ByteRange, Served};
    /// assert_eq!(Served::Bytes(ByteRange::new(5, 9)).len(), 4);
    /// assert_eq!(Served::Inline(vec![1, 2]).len(), 2);
    /// ```
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(range) => range.len(),
            Self::Inline(bytes) => bytes.len() as u64,
        }
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Served> for Content {
    fn from(served: Served) -> Self {
        match served {
            Served::Bytes(range) => Self::Span(Span::Bytes(range)),
            Served::Inline(bytes) => Self::Inline(bytes),
        }
    }
}
