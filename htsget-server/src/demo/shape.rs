//! The shape of a read's alignment: all matches, or one small deletion or insertion.

use noodles::sam::alignment::record::cigar::{Op, op::Kind};

use super::{READ_LEN, rng::Rng};

/// A read's alignment: matches with at most one small indel.
pub(super) enum Shape {
    /// `100M`.
    Matched,
    /// `aM nD bM`.
    Deletion { at: usize, len: usize },
    /// `aM nI bM`.
    Insertion { at: usize, len: usize },
}

impl Shape {
    /// A random shape: one read in 40 has a deletion, one in 40 an insertion, of 1 to 3
    /// bases, 20 to 80 bases into the read.
    pub(super) fn random(rng: &mut Rng) -> Self {
        match rng.below(40) {
            0 => Self::Deletion {
                at: rng.between(20, 80),
                len: rng.between(1, 3),
            },
            1 => Self::Insertion {
                at: rng.between(20, 80),
                len: rng.between(1, 3),
            },
            _ => Self::Matched,
        }
    }

    /// The reference bases the read spans.
    pub(super) fn span(&self) -> usize {
        match *self {
            Self::Matched => READ_LEN,
            Self::Deletion { len, .. } => READ_LEN + len,
            Self::Insertion { len, .. } => READ_LEN - len,
        }
    }

    /// The CIGAR operations.
    pub(super) fn cigar(&self) -> Vec<Op> {
        match *self {
            Self::Matched => vec![Op::new(Kind::Match, READ_LEN)],
            Self::Deletion { at, len } => vec![
                Op::new(Kind::Match, at),
                Op::new(Kind::Deletion, len),
                Op::new(Kind::Match, READ_LEN - at),
            ],
            Self::Insertion { at, len } => vec![
                Op::new(Kind::Match, at),
                Op::new(Kind::Insertion, len),
                Op::new(Kind::Match, READ_LEN - at - len),
            ],
        }
    }

    /// The read's bases for an alignment at `start`, before sequencing errors.
    pub(super) fn bases(&self, rng: &mut Rng, reference: &[u8], start: usize) -> Vec<u8> {
        match *self {
            Self::Matched => reference[start..start + READ_LEN].to_vec(),
            Self::Deletion { at, len } => {
                let mut bases = reference[start..start + at].to_vec();
                bases.extend_from_slice(&reference[start + at + len..start + READ_LEN + len]);
                bases
            }
            Self::Insertion { at, len } => {
                let mut bases = reference[start..start + at].to_vec();
                bases.extend((0..len).map(|_| rng.base()));
                bases.extend_from_slice(&reference[start + at..start + READ_LEN - len]);
                bases
            }
        }
    }
}
