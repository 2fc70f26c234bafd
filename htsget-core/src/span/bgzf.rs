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

/// `START-END`, the raw virtual positions in decimal: how a data URL's `span` parameter names
/// a span.
///
/// # Examples
///
/// ```
/// use htsget_core::BgzfSpan;
///
/// let span: BgzfSpan = "5-70000".parse()?;
/// assert_eq!((u64::from(span.start()), u64::from(span.end())), (5, 70_000));
/// assert_eq!(span.to_string(), "5-70000");
/// assert!("9-5".parse::<BgzfSpan>().is_err());
/// # Ok::<_, htsget_core::ParseBgzfSpanError>(())
/// ```
impl std::fmt::Display for BgzfSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", u64::from(self.start), u64::from(self.end))
    }
}

/// A span that is not `START-END` with `START <= END`, each at most 20 decimal digits.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("a BGZF span is START-END, two virtual positions in decimal, START <= END")]
pub struct ParseBgzfSpanError;

impl std::str::FromStr for BgzfSpan {
    type Err = ParseBgzfSpanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = |s: &str| {
            (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let (start, end) = text.split_once('-').ok_or(ParseBgzfSpanError)?;
        let (start, end) = (digits(start), digits(end));
        match (start, end) {
            (Some(start), Some(end)) if start <= end => Ok(Self::new(start.into(), end.into())),
            _ => Err(ParseBgzfSpanError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_from_str_with_bad_forms() {
        let span: BgzfSpan = "10-20".parse().unwrap();
        assert_eq!(span.to_string().parse(), Ok(span));
        for bad in [
            "",
            "1",
            "-",
            "a-b",
            "-1-2",
            "1-2-3",
            "9-5",
            "+1-2",
            "99999999999999999999-1",
            "123456789012345678901-1",
        ] {
            assert_eq!(bad.parse::<BgzfSpan>(), Err(ParseBgzfSpanError), "{bad}");
        }
    }
}
