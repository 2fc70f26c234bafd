//! What the read properties (BAM here, CRAM in `cram_properties`) and the variant properties
//! generate alike: reference names, records placed on references, and coordinate-sorted files of
//! reads with their SAM header.

use std::{fmt::Display, num::NonZero, ops::Range};

use noodles::core::Position;
use noodles::sam::{
    self,
    alignment::{RecordBuf, record::Flags, record::MappingQuality},
};
use noodles::sam::{
    alignment::record::cigar::{Op, op::Kind},
    header::record::value::Map,
    header::record::value::map::{
        self, ReferenceSequence,
        header::{sort_order::COORDINATE, tag::SORT_ORDER},
    },
};
use proptest::prelude::*;

use super::bases;

/// The names of `count` references, in header order: `chr0`, `chr1`, …
pub(crate) fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("chr{i}")).collect()
}

/// A record as generated, before it meets a file's references.
pub(crate) trait Spot {
    /// Its reference and start: any numbers, reduced to a file's when it is placed.
    fn spot(&self) -> (usize, u32);
}

/// Places `items` on the references of `lengths` but the one at `empty` (modulo), sorted by
/// position (stably). `fit` gives what an item becomes on a reference of a given length, and
/// its span there. Returns each item's reference index, 0-based start (reduced so that its span
/// fits), and fitted form.
pub(crate) fn site<'a, T: Spot, F>(
    lengths: &[u32],
    empty: usize,
    items: &'a [T],
    fit: impl Fn(&T, u32) -> (F, u32),
) -> Vec<(usize, u32, F, &'a T)> {
    let empty = empty % lengths.len();
    let with_records: Vec<usize> = (0..lengths.len()).filter(|&i| i != empty).collect();

    let mut sited: Vec<(usize, u32, F, &T)> = items
        .iter()
        .map(|item| {
            let (reference, start) = item.spot();
            let reference = with_records[reference % with_records.len()];
            let len = lengths[reference];
            let (fitted, span) = fit(item, len);
            (reference, start % (len - span + 1), fitted, item)
        })
        .collect();
    sited.sort_by_key(|&(reference, start, ..)| (reference, start));
    sited
}

pub(crate) fn position(n: u32) -> Position {
    Position::new(n as usize).expect("position")
}

/// The alignment of a mapped read.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// `nM`.
    Matched(u32),
    /// `aM gD bM`, or `aM gN bM` when `skip`: a short read with a longer span.
    Gapped {
        left: u32,
        gap: u32,
        right: u32,
        skip: bool,
    },
    /// `aS nM bS`: soft clips around `n` aligned bases (BAM only: they map to no reference).
    Clipped { left: u32, len: u32, right: u32 },
}

impl Shape {
    pub(crate) fn span(&self) -> u32 {
        match *self {
            Self::Matched(len) => len,
            Self::Gapped {
                left, gap, right, ..
            } => left + gap + right,
            Self::Clipped { len, .. } => len,
        }
    }

    /// This shape, or a short one if it does not fit a reference of `len`.
    pub(crate) fn fit(&self, len: u32) -> Self {
        if self.span() <= len {
            self.clone()
        } else {
            Self::Matched(len.min(100))
        }
    }

    /// The CIGAR operations.
    pub(crate) fn cigar(&self) -> Vec<Op> {
        match *self {
            Self::Matched(len) => vec![Op::new(Kind::Match, len as usize)],
            Self::Gapped {
                left,
                gap,
                right,
                skip,
            } => {
                let kind = if skip { Kind::Skip } else { Kind::Deletion };
                vec![
                    Op::new(Kind::Match, left as usize),
                    Op::new(kind, gap as usize),
                    Op::new(Kind::Match, right as usize),
                ]
            }
            Self::Clipped { left, len, right } => vec![
                Op::new(Kind::SoftClip, left as usize),
                Op::new(Kind::Match, len as usize),
                Op::new(Kind::SoftClip, right as usize),
            ],
        }
    }

    /// The read's length.
    pub(crate) fn read_len(&self) -> usize {
        match *self {
            Self::Matched(len) => len as usize,
            Self::Gapped { left, right, .. } => (left + right) as usize,
            Self::Clipped { left, len, right } => (left + len + right) as usize,
        }
    }

    /// The read's bases as offsets into the reference from its start.
    pub(crate) fn offsets(&self) -> Vec<u32> {
        match *self {
            Self::Matched(len) => (0..len).collect(),
            Self::Gapped {
                left, gap, right, ..
            } => (0..left).chain(left + gap..left + gap + right).collect(),
            // Clipped bases take the aligned stretch's first and last bases.
            Self::Clipped { left, len, right } => std::iter::repeat_n(0, left as usize)
                .chain(0..len)
                .chain(std::iter::repeat_n(len - 1, right as usize))
                .collect(),
        }
    }
}

/// A mapped read; `reference` and `start` are reduced to the file's when it is built.
#[derive(Clone, Debug)]
pub(crate) struct ReadSpec {
    pub(crate) reference: usize,
    pub(crate) start: u32,
    pub(crate) shape: Shape,
    /// A base that differs from the reference, at this offset into the read (modulo); only
    /// where reads take their bases from a reference.
    pub(crate) mismatch: Option<u32>,
    /// Followed by its unmapped mate, placed at the same position.
    pub(crate) unmapped_mate: bool,
    /// The BGZF block ends right after this read (and its mate); only in BGZF files.
    pub(crate) flush_after: bool,
}

impl Spot for ReadSpec {
    fn spot(&self) -> (usize, u32) {
        (self.reference, self.start)
    }
}

/// A read on any reference, its start from `start`, its mate unmapped 15% of the time.
pub(crate) fn read_spec(
    start: impl Strategy<Value = u32>,
    shape: impl Strategy<Value = Shape>,
    mismatch: impl Strategy<Value = Option<u32>>,
    flush_after: impl Strategy<Value = bool>,
) -> impl Strategy<Value = ReadSpec> {
    (
        any::<usize>(),
        start,
        shape,
        mismatch,
        prop::bool::weighted(0.15),
        flush_after,
    )
        .prop_map(
            |(reference, start, shape, mismatch, unmapped_mate, flush_after)| ReadSpec {
                reference,
                start,
                shape,
                mismatch,
                unmapped_mate,
                flush_after,
            },
        )
}

/// A coordinate-sorted file of reads, as parameters.
#[derive(Clone, Debug)]
pub(crate) struct ReadsSpec {
    /// Reference lengths, in header order; the one at `empty` (modulo) has no reads.
    pub(crate) lengths: Vec<u32>,
    pub(crate) empty: usize,
    pub(crate) reads: Vec<ReadSpec>,
    /// How many unplaced unmapped reads end the file.
    pub(crate) unplaced: usize,
}

/// Four or five references of `lengths`, `reads` reads, and `unplaced` unplaced reads.
pub(crate) fn reads_spec(
    lengths: Range<u32>,
    read: impl Strategy<Value = ReadSpec>,
    reads: Range<usize>,
    unplaced: Range<usize>,
) -> impl Strategy<Value = ReadsSpec> {
    (
        prop::collection::vec(lengths, 4..=5),
        any::<usize>(),
        prop::collection::vec(read, reads),
        unplaced,
    )
        .prop_map(|(lengths, empty, reads, unplaced)| ReadsSpec {
            lengths,
            empty,
            reads,
            unplaced,
        })
}

/// Where a record lies: its reference (`None` when unplaced) and its 0-based, half-open span
/// (an unmapped read placed at its mate's position covers that one base).
pub(crate) type Site = (Option<usize>, u32, u32);

/// A record as generated, with where it lies, for the indexes and the ground truth.
pub(crate) struct Placed {
    pub(crate) site: Site,
    pub(crate) mapped: bool,
    pub(crate) flush_after: bool,
    pub(crate) record: RecordBuf,
}

/// Where each record lies, by its place in the file.
pub(crate) fn sites(records: &[Placed]) -> Vec<Site> {
    records.iter().map(|placed| placed.site).collect()
}

impl ReadsSpec {
    pub(crate) fn names(&self) -> Vec<String> {
        names(self.lengths.len())
    }

    pub(crate) fn header(&self) -> sam::Header {
        let sorted = Map::<map::Header>::builder()
            .insert(SORT_ORDER, COORDINATE)
            .build()
            .expect("header line");

        self.names()
            .into_iter()
            .zip(&self.lengths)
            .fold(
                sam::Header::builder().set_header(sorted),
                |builder, (name, &len)| {
                    let len = NonZero::new(len as usize).expect("nonzero length");
                    builder.add_reference_sequence(name, Map::<ReferenceSequence>::new(len))
                },
            )
            .build()
    }

    /// The records in file order: reads sorted by position, each unmapped mate right after its
    /// read, then the unplaced reads. Names are `r{n}`, `n` the record's place in the file.
    /// A mapped read without a mate is flagged `lone`; `sequence` gives a mapped read's bases
    /// from its place in the file, its reference index and 0-based start, and its shape.
    pub(crate) fn records(
        &self,
        lone: Flags,
        mut sequence: impl FnMut(usize, usize, u32, &Shape, &ReadSpec) -> Vec<u8>,
    ) -> Vec<Placed> {
        let reads = site(&self.lengths, self.empty, &self.reads, |read, len| {
            let shape = read.shape.fit(len);
            let span = shape.span();
            (shape, span)
        });

        let mut records = Vec::new();

        for (reference, start, shape, read) in reads {
            let n = records.len();
            let bases = sequence(n, reference, start, &shape, read);
            let flags = if read.unmapped_mate {
                Flags::SEGMENTED | Flags::MATE_UNMAPPED | Flags::FIRST_SEGMENT
            } else {
                lone
            };
            records.push(mapped(n, reference, start, &shape, flags, bases));

            if read.unmapped_mate {
                records.push(unmapped_mate(records.len(), reference, start));
            }

            records.last_mut().expect("a record").flush_after = read.flush_after;
        }

        for _ in 0..self.unplaced {
            records.push(unplaced(records.len()));
        }

        records
    }
}

/// A mapped read, the first of a pair with its mate at the same position when `flags` say so.
fn mapped(
    n: usize,
    reference: usize,
    start: u32,
    shape: &Shape,
    flags: Flags,
    sequence: Vec<u8>,
) -> Placed {
    let mut builder = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(flags)
        .set_reference_sequence_id(reference)
        .set_alignment_start(position(start + 1))
        .set_mapping_quality(MappingQuality::new(60).expect("mapping quality"))
        .set_cigar(shape.cigar().into())
        .set_quality_scores(vec![30; sequence.len()].into())
        .set_sequence(sequence.into());

    if flags.contains(Flags::MATE_UNMAPPED) {
        builder = builder
            .set_mate_reference_sequence_id(reference)
            .set_mate_alignment_start(position(start + 1));
    }

    Placed {
        site: (Some(reference), start, start + shape.span()),
        mapped: true,
        flush_after: false,
        record: builder.build(),
    }
}

/// An unmapped read placed at its mate's position: it covers that one base.
fn unmapped_mate(n: usize, reference: usize, start: u32) -> Placed {
    let record = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(Flags::SEGMENTED | Flags::UNMAPPED | Flags::LAST_SEGMENT)
        .set_reference_sequence_id(reference)
        .set_alignment_start(position(start + 1))
        .set_mate_reference_sequence_id(reference)
        .set_mate_alignment_start(position(start + 1))
        .set_sequence(bases(50, n).into())
        .set_quality_scores(vec![30; 50].into())
        .build();

    Placed {
        site: (Some(reference), start, start + 1),
        mapped: false,
        flush_after: false,
        record,
    }
}

fn unplaced(n: usize) -> Placed {
    let record = RecordBuf::builder()
        .set_name(format!("r{n}"))
        .set_flags(Flags::UNMAPPED)
        .set_sequence(bases(50, n).into())
        .set_quality_scores(vec![30; 50].into())
        .build();

    Placed {
        site: (None, 0, 0),
        mapped: false,
        flush_after: false,
        record,
    }
}

/// A read's name (`r{n}`), or an empty one.
pub(crate) fn read_name(name: Option<impl Display>) -> String {
    name.map(|name| name.to_string()).unwrap_or_default()
}
