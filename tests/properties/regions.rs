//! Regions: the strategies of regions and of the coordinates in them, and a region as it
//! meets a file ([`Window`]), with the htsget and noodles regions it names.

use htsget_core::query::Region;
use noodles::core::Position;
use proptest::prelude::*;

/// How far past a reference's end regions may reach.
const PAST_END: u32 = 2_000;

/// A coordinate, often random, sometimes next to a 16 kb bin or linear-window boundary.
pub(crate) fn coordinate() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => any::<u32>(),
        1 => (0u32..16, 0u32..5).prop_map(|(k, d)| (k << 14).saturating_add(d).saturating_sub(2)),
    ]
}

/// A region before it meets a file: reference indexes and coordinates are reduced modulo the
/// file's references and lengths when the region is built.
#[derive(Clone, Debug)]
pub(crate) enum RegionSpec {
    Unplaced,
    Whole {
        reference: usize,
    },
    Bounded {
        reference: usize,
        start: u32,
        len: u32,
    },
    From {
        reference: usize,
        start: u32,
    },
    To {
        reference: usize,
        end: u32,
    },
}

impl RegionSpec {
    fn reference(&self) -> Option<usize> {
        match *self {
            Self::Unplaced => None,
            Self::Whole { reference }
            | Self::Bounded { reference, .. }
            | Self::From { reference, .. }
            | Self::To { reference, .. } => Some(reference),
        }
    }
}

/// A region; `*` only if `unplaced`.
pub(crate) fn region_spec(unplaced: bool) -> BoxedStrategy<RegionSpec> {
    let reference = any::<usize>();
    let len = prop_oneof![0u32..=16, 0u32..=20_000, 0u32..=300_000];

    let placed = prop_oneof![
        1 => reference.prop_map(|reference| RegionSpec::Whole { reference }),
        6 => (reference, coordinate(), len)
            .prop_map(|(reference, start, len)| RegionSpec::Bounded { reference, start, len }),
        1 => (reference, coordinate())
            .prop_map(|(reference, start)| RegionSpec::From { reference, start }),
        1 => (reference, coordinate()).prop_map(|(reference, end)| RegionSpec::To { reference, end }),
    ];

    if unplaced {
        prop_oneof![1 => Just(RegionSpec::Unplaced), 9 => placed].boxed()
    } else {
        placed.boxed()
    }
}

/// The regions of one query: usually one, sometimes several.
pub(crate) fn query_spec(unplaced: bool) -> impl Strategy<Value = Vec<RegionSpec>> {
    prop::collection::vec(region_spec(unplaced), 1..=3)
}

/// A region on a file: a reference index (`None` for unplaced reads) and a 0-based, half-open
/// interval.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct Window {
    reference: Option<usize>,
    start: Option<u32>,
    end: Option<u32>,
}

impl Window {
    /// The window `spec` names on a file with references of `lengths`.
    pub(crate) fn new(spec: &RegionSpec, lengths: &[u32]) -> Self {
        let Some(reference) = spec.reference() else {
            return Self {
                reference: None,
                start: None,
                end: None,
            };
        };

        let reference = reference % lengths.len();
        let within = |n: u32| n % (lengths[reference] + PAST_END);

        let (start, end) = match *spec {
            RegionSpec::Unplaced | RegionSpec::Whole { .. } => (None, None),
            RegionSpec::Bounded { start, len, .. } => {
                let start = within(start);
                (Some(start), Some(start.saturating_add(len)))
            }
            RegionSpec::From { start, .. } => (Some(within(start)), None),
            RegionSpec::To { end, .. } => (None, Some(within(end))),
        };

        Self {
            reference: Some(reference),
            start,
            end,
        }
    }

    /// The reference index, `None` for unplaced reads.
    pub(crate) fn reference(&self) -> Option<usize> {
        self.reference
    }

    /// Whether a record on `reference` covering `start..end` (0-based, half-open) belongs here.
    pub(crate) fn holds(&self, reference: Option<usize>, start: u32, end: u32) -> bool {
        if reference != self.reference {
            return false;
        }

        let (from, to) = (self.start.unwrap_or(0), self.end.unwrap_or(u32::MAX));
        self.reference.is_none() || (from < to && start < to && end > from)
    }

    /// The htsget region, on a file whose references are `names`.
    pub(crate) fn region(&self, names: &[String]) -> Region {
        match self.reference {
            None => Region::unplaced(),
            Some(id) => Region::new(names[id].clone(), self.start, self.end).expect("region"),
        }
    }

    /// The noodles region (1-based, closed), with bounds past `max` (the largest position the
    /// index can address) clamped to it; `None` when no position can match.
    pub(crate) fn noodles_region(
        &self,
        names: &[String],
        max: usize,
    ) -> Option<noodles::core::Region> {
        let name = &names[self.reference?];
        let start = self.start.map_or(1, |s| s as usize + 1);
        let end = self.end.map_or(max, |e| (e as usize).min(max));

        if start > end {
            return None;
        }

        let position = |n| Position::new(n).expect("position");
        let interval = match (self.start, self.end) {
            (None, None) => noodles::core::region::Interval::from(..),
            _ => (position(start)..=position(end)).into(),
        };

        Some(noodles::core::Region::new(name.as_str(), interval))
    }
}
