//! Resolution for CRAM files through a CRAI index: whole containers.

use std::collections::BTreeSet;

use super::{Selected, Target};
use crate::{ByteRange, Span, facts::CramFacts, query::Interval};

pub(super) fn resolve<'a>(facts: &'a CramFacts, targets: &[Target]) -> Selected<'a> {
    let header_end = facts.header_end();
    let data_end = facts.data_end().max(header_end);

    // Container offsets, so that each container's end is the next one's start.
    let offsets: BTreeSet<u64> = facts
        .index()
        .iter()
        .map(|record| record.offset())
        .filter(|&offset| offset >= header_end && offset < data_end)
        .collect();

    let container = |offset: u64| {
        let end = offsets
            .range(offset + 1..)
            .next()
            .copied()
            .unwrap_or(data_end);
        ByteRange::new(offset, end)
    };

    let mut ranges = Vec::new();

    for target in targets {
        match *target {
            Target::All => ranges.push(ByteRange::new(header_end, data_end)),
            Target::Nothing => {}
            Target::Unplaced | Target::Reference { .. } => ranges.extend(
                facts
                    .index()
                    .iter()
                    .filter(|record| offsets.contains(&record.offset()))
                    .filter(|record| selects(target, record))
                    .map(|record| container(record.offset())),
            ),
        }
    }

    Selected {
        header: Some(Span::Bytes(ByteRange::new(0, header_end))),
        body: merge(ranges).into_iter().map(Span::Bytes).collect(),
        eof: facts.eof(),
    }
}

fn selects(target: &Target, record: &noodles::cram::crai::Record) -> bool {
    match *target {
        Target::All => true,
        Target::Nothing => false,
        Target::Unplaced => record.reference_sequence_id().is_none(),
        Target::Reference { id, interval } => {
            record.reference_sequence_id() == Some(id) && overlaps(record, &interval)
        }
    }
}

/// Whether the slice's alignment span overlaps the 0-based half-open `interval`.
fn overlaps(record: &noodles::cram::crai::Record, interval: &Interval) -> bool {
    let Some(start) = record.alignment_start() else {
        // Placed records with no usable position: keep them rather than lose reads.
        return true;
    };

    // 0-based half-open span of the slice's alignments; a zero span still covers its start.
    // CRAI text may claim any start and span: cap the end rather than overflow.
    let slice_start = usize::from(start) as u64 - 1;
    let slice_end = slice_start.saturating_add((record.alignment_span() as u64).max(1));

    let query_start = interval.start().map_or(0, u64::from);
    let query_end = interval.end().map_or(u64::MAX, u64::from);

    query_start < query_end && slice_start < query_end && query_start < slice_end
}

fn merge(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.retain(|range| !range.is_empty());
    ranges.sort_unstable();

    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());

    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start() <= last.end() => {
                *last = ByteRange::new(last.start(), last.end().max(range.end()));
            }
            _ => merged.push(range),
        }
    }

    merged
}

#[cfg(test)]
mod tests {
    use noodles::{core::Position, cram::crai::Record};

    use super::*;

    /// A CRAI line may claim any start and span (both parsed as `usize`): their sum must not
    /// overflow.
    #[test]
    fn test_overlaps_with_span_past_the_largest_position() {
        let start = Position::new(usize::MAX);
        let record = Record::new(Some(0), start, usize::MAX, 0, 0, 0);
        let all = Interval::default();
        assert!(overlaps(&record, &all));
        let before = Interval::new(Some(0), Some(1000)).unwrap();
        assert!(!overlaps(&record, &before));
    }
}
