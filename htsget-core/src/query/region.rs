//! Regions: a reference sequence and an interval on it.
//!
//! Coordinates are htsget's: 0-based and half-open, so `start` is inclusive and `end` is
//! exclusive. htsget `start=999&end=2000` is samtools `chr1:1000-2000`.

use std::fmt;

use crate::{Error, Reason};

/// The htsget spelling of the unplaced reference.
const UNPLACED: &str = "*";

/// The reference sequence a region is on.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum ReferenceName {
    /// A reference sequence named in the file's header, e.g. `chr1`.
    ///
    /// The name is never `*`: [`Region::new`] turns `*` into [`ReferenceName::Unplaced`].
    Name(String),
    /// htsget `*`: the unplaced unmapped reads, those with RNAME `*` and POS 0.
    ///
    /// Only the reads endpoint accepts it.
    Unplaced,
}

impl ReferenceName {
    /// The name as htsget spells it: the reference's name, or `*` for unplaced reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::query::ReferenceName;
    /// assert_eq!(ReferenceName::Name("chr1".into()).as_str(), "chr1");
    /// assert_eq!(ReferenceName::Unplaced.as_str(), "*");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Name(name) => name,
            Self::Unplaced => UNPLACED,
        }
    }

    /// Whether this is [`ReferenceName::Unplaced`].
    pub fn is_unplaced(&self) -> bool {
        matches!(self, Self::Unplaced)
    }
}

impl fmt::Display for ReferenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An interval on a reference sequence: 0-based, `start` inclusive, `end` exclusive.
///
/// A missing `start` means "from the first base", a missing `end` "to the end of the
/// reference". `start` is never greater than `end`. `start == end` is an empty interval,
/// which GET allows and POST does not (the POST parser rejects it before building one).
/// The [`Default`] interval is the whole reference.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct Interval {
    start: Option<u32>,
    end: Option<u32>,
}

impl Interval {
    /// An interval from `start` (0-based, inclusive) to `end` (0-based, exclusive).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] if `start > end`.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ErrorKind, query::Interval};
    /// let interval = Interval::new(Some(999), Some(2000))?;
    /// assert!(interval.contains(999) && !interval.contains(2000));
    /// let e = Interval::new(Some(5), Some(4)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidRange);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn new(start: Option<u32>, end: Option<u32>) -> Result<Self, Error> {
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(Error::InvalidRange { start, end });
        }

        Ok(Self { start, end })
    }

    /// The whole reference: no start, no end.
    pub fn full() -> Self {
        Self::default()
    }

    /// The first position (0-based, inclusive); `None` means the first base.
    pub fn start(self) -> Option<u32> {
        self.start
    }

    /// The position after the last one (0-based, exclusive); `None` means the end of the
    /// reference.
    pub fn end(self) -> Option<u32> {
        self.end
    }

    /// Whether neither bound is given.
    pub fn is_full(self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    /// Whether the interval holds no position (`start == end`).
    pub fn is_empty(self) -> bool {
        self.end.is_some_and(|end| end <= self.start.unwrap_or(0))
    }

    /// Whether the 0-based `position` lies in the interval.
    pub fn contains(self, position: u32) -> bool {
        self.start.is_none_or(|start| start <= position)
            && self.end.is_none_or(|end| position < end)
    }

    /// Whether the two intervals share a position. An empty interval overlaps nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::query::Interval;
    /// let a = Interval::new(Some(10), Some(20))?;
    /// assert!(a.overlaps(Interval::new(Some(19), None)?));
    /// assert!(!a.overlaps(Interval::new(Some(20), Some(30))?));
    /// assert!(a.overlaps(Interval::full()));
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn overlaps(self, other: Self) -> bool {
        fn before(start: Option<u32>, end: Option<u32>) -> bool {
            end.is_none_or(|end| start.unwrap_or(0) < end)
        }

        !self.is_empty()
            && !other.is_empty()
            && before(self.start, other.end)
            && before(other.start, self.end)
    }
}

/// A region of a query: a reference sequence and an interval on it.
///
/// Coordinates are 0-based and half-open (see [`Interval`]). An [`ReferenceName::Unplaced`]
/// region always has the full interval.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Region {
    reference_name: ReferenceName,
    interval: Interval,
}

impl Region {
    /// A region on the reference `name` from `start` (0-based, inclusive) to `end` (0-based,
    /// exclusive). The name `*` means the unplaced unmapped reads.
    ///
    /// `start == end` is allowed and gives an empty region, as htsget GET does.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`] if `name` is empty, or is `*` with a `start` or an `end`.
    /// * [`Error::InvalidRange`] if `start > end`.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ErrorKind, query::{ReferenceName, Region}};
    /// let region = Region::new("chr1", Some(999), Some(2000))?;
    /// assert_eq!(region.reference_name().as_str(), "chr1");
    /// assert_eq!(region.interval().end(), Some(2000));
    ///
    /// assert_eq!(Region::new("*", None, None)?.reference_name(), &ReferenceName::Unplaced);
    /// let e = Region::new("*", Some(1), None).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn new(
        name: impl Into<String>,
        start: Option<u32>,
        end: Option<u32>,
    ) -> Result<Self, Error> {
        let name = name.into();

        if name.is_empty() {
            return Err(Error::invalid_input(
                Reason::EmptyReferenceName,
                "referenceName must not be empty",
            ));
        }

        if name == UNPLACED {
            if start.is_some() || end.is_some() {
                return Err(Error::invalid_input(
                    Reason::PositionWithUnplaced,
                    "start and end cannot be given with referenceName `*`",
                ));
            }

            return Ok(Self::unplaced());
        }

        Ok(Self {
            reference_name: ReferenceName::Name(name),
            interval: Interval::new(start, end)?,
        })
    }

    /// The region of unplaced unmapped reads (htsget `referenceName=*`).
    pub fn unplaced() -> Self {
        Self {
            reference_name: ReferenceName::Unplaced,
            interval: Interval::full(),
        }
    }

    /// The reference sequence.
    pub fn reference_name(&self) -> &ReferenceName {
        &self.reference_name
    }

    /// The interval on the reference (0-based, half-open).
    pub fn interval(&self) -> &Interval {
        &self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn test_new_with_name_and_bounds() {
        let region = Region::new("chr1", Some(999), Some(2000)).unwrap();
        assert_eq!(region.reference_name(), &ReferenceName::Name("chr1".into()));
        assert_eq!(region.interval().start(), Some(999));
        assert_eq!(region.interval().end(), Some(2000));
    }

    #[test]
    fn test_new_with_open_bounds() {
        let region = Region::new("chr1", None, Some(10)).unwrap();
        assert_eq!(
            (region.interval().start(), region.interval().end()),
            (None, Some(10))
        );
        let region = Region::new("chr1", Some(10), None).unwrap();
        assert_eq!(
            (region.interval().start(), region.interval().end()),
            (Some(10), None)
        );
        assert!(
            Region::new("chr1", None, None)
                .unwrap()
                .interval()
                .is_full()
        );
    }

    #[test]
    fn test_new_with_start_equal_to_end() {
        let region = Region::new("chr1", Some(5), Some(5)).unwrap();
        assert!(region.interval().is_empty());
    }

    #[test]
    fn test_new_with_start_after_end() {
        let e = Region::new("chr1", Some(6), Some(5)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRange);
        assert!(matches!(e, Error::InvalidRange { start: 6, end: 5 }));
    }

    #[test]
    fn test_new_with_unplaced() {
        assert_eq!(Region::new("*", None, None).unwrap(), Region::unplaced());
        assert!(Region::unplaced().reference_name().is_unplaced());
        assert!(Region::unplaced().interval().is_full());
    }

    #[test]
    fn test_new_with_unplaced_and_bounds() {
        for (start, end) in [(Some(0), None), (None, Some(10)), (Some(0), Some(10))] {
            let e = Region::new("*", start, end).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn test_new_with_empty_name() {
        let e = Region::new("", None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_as_str_with_each_variant() {
        assert_eq!(ReferenceName::Name("chrX".into()).as_str(), "chrX");
        assert_eq!(ReferenceName::Unplaced.to_string(), "*");
    }

    #[test]
    fn test_contains_with_half_open_bounds() {
        let interval = Interval::new(Some(10), Some(20)).unwrap();
        assert!(!interval.contains(9));
        assert!(interval.contains(10));
        assert!(interval.contains(19));
        assert!(!interval.contains(20));
        assert!(Interval::full().contains(u32::MAX));
        assert!(!Interval::new(Some(5), Some(5)).unwrap().contains(5));
    }

    #[test]
    fn test_is_empty_with_bounds() {
        assert!(Interval::new(Some(5), Some(5)).unwrap().is_empty());
        assert!(Interval::new(None, Some(0)).unwrap().is_empty());
        assert!(!Interval::new(Some(5), Some(6)).unwrap().is_empty());
        assert!(!Interval::new(Some(u32::MAX), None).unwrap().is_empty());
        assert!(!Interval::full().is_empty());
    }

    #[test]
    fn test_overlaps_with_bounds() {
        let a = Interval::new(Some(10), Some(20)).unwrap();
        let overlapping = [
            (Some(0), Some(11)),
            (Some(19), Some(30)),
            (None, None),
            (Some(12), Some(13)),
        ];
        for (start, end) in overlapping {
            let b = Interval::new(start, end).unwrap();
            assert!(a.overlaps(b) && b.overlaps(a), "{start:?}..{end:?}");
        }
        let apart = [(Some(0), Some(10)), (Some(20), None), (Some(15), Some(15))];
        for (start, end) in apart {
            let b = Interval::new(start, end).unwrap();
            assert!(!a.overlaps(b) && !b.overlaps(a), "{start:?}..{end:?}");
        }
    }
}
