//! Id patterns: `/`-separated segments, where `*` matches within one segment and `**` matches
//! any number of whole segments (none included).

use super::error::RuleError;

/// A compiled id pattern.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Glob {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, Eq, PartialEq)]
enum Segment {
    /// `**`: any number of segments.
    Any,
    /// A segment pattern, `*` matching any run of characters other than `/`.
    Pattern(String),
}

impl Glob {
    /// Compiles `pattern`; `Err` says why it is refused (empty, an empty segment, `**` beside
    /// other characters).
    pub(crate) fn new(pattern: &str) -> Result<Self, RuleError> {
        if pattern.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        let segments = pattern
            .split('/')
            .map(|segment| match segment {
                "" => Err(RuleError::EmptySegment(pattern.to_owned())),
                "**" => Ok(Segment::Any),
                s if s.contains("**") => Err(RuleError::PartialDoubleStar(pattern.to_owned())),
                s => Ok(Segment::Pattern(s.to_owned())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { segments })
    }

    /// Whether `id` matches.
    pub(crate) fn matches(&self, id: &str) -> bool {
        let parts: Vec<&str> = id.split('/').collect();
        match_segments(&self.segments, &parts)
    }
}

fn match_segments(pattern: &[Segment], parts: &[&str]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((Segment::Any, rest)) => {
            (0..=parts.len()).any(|skip| match_segments(rest, &parts[skip..]))
        }
        Some((Segment::Pattern(p), rest)) => match parts.split_first() {
            Some((part, others)) => {
                match_segment(p.as_bytes(), part.as_bytes()) && match_segments(rest, others)
            }
            None => false,
        },
    }
}

/// `*`-wildcard matching within one segment (iterative, with one backtrack point).
fn match_segment(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, id: &str) -> bool {
        Glob::new(pattern).unwrap().matches(id)
    }

    #[test]
    fn test_star_stays_within_a_segment() {
        assert!(matches("bam/*", "bam/NA12878"));
        assert!(!matches("bam/*", "bam/x/NA12878"));
        assert!(!matches("bam/*", "bam"));
        assert!(!matches("bam/*", "vcf/x"));
        assert!(matches("bam/NA*8", "bam/NA12878"));
        assert!(!matches("bam/NA*9", "bam/NA12878"));
        assert!(matches("*", "x"));
        assert!(!matches("*", "x/y"));
        assert!(matches("a*b*c", "aXbYbc"));
    }

    #[test]
    fn test_double_star_spans_segments() {
        assert!(matches("**", "a/b/c"));
        assert!(matches("bam/**", "bam/x/y"));
        assert!(matches("bam/**", "bam/x"));
        assert!(matches("bam/**/NA*", "bam/NA1"));
        assert!(matches("bam/**/NA*", "bam/p/q/NA1"));
        assert!(!matches("bam/**/NA*", "vcf/p/NA1"));
        assert!(matches("exact/id", "exact/id"));
        assert!(!matches("exact/id", "exact/idx"));
    }

    #[test]
    fn test_new_refuses_bad_patterns() {
        for bad in ["", "a//b", "/a", "a/", "a/**b", "x**"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
    }
}
