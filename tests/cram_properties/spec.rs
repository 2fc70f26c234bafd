//! The parameters of a CRAM file and of its queries, their strategies, and the reference
//! bases and records built from them.

use noodles::sam::alignment::record::Flags;
use proptest::prelude::*;

use crate::properties::{
    RegionSpec,
    generate::{Placed, ReadsSpec, Shape, read_spec, reads_spec},
    region_spec,
};

/// Mostly short reads, some short reads with a longer span (`aM gD bM`).
fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        6 => (20u32..=150).prop_map(Shape::Matched),
        1 => (10u32..=80, 1u32..=1_500, 10u32..=80).prop_map(|(left, gap, right)| {
            Shape::Gapped { left, gap, right, skip: false }
        }),
    ]
}

/// A region of a query: any region, or a few bases at the start or the end of a container's
/// records on a reference (its first record's start, or the furthest end of the records that
/// share its last record's reference).
#[derive(Clone, Debug)]
pub(super) enum Target {
    Any(RegionSpec),
    NearContainer {
        container: usize,
        at_end: bool,
        shift: i8,
        len: u8,
    },
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        region_spec(true).prop_map(Target::Any),
        (any::<usize>(), any::<bool>(), -3i8..=3, 0u8..=4).prop_map(
            |(container, at_end, shift, len)| Target::NearContainer {
                container,
                at_end,
                shift,
                len,
            }
        ),
    ]
}

/// The regions of one query: usually one, sometimes several.
pub(super) fn targets() -> impl Strategy<Value = Vec<Target>> {
    prop::collection::vec(target(), 1..=3)
}

/// A reference FASTA and a CRAM file with its index, as parameters.
#[derive(Clone, Debug)]
pub(super) struct CramSpec {
    pub(super) reads: ReadsSpec,
    /// Seeds the reference bases.
    pub(super) seed: u64,
    /// Records in the first containers; the rest go in containers of `rest` records.
    pub(super) containers: Vec<usize>,
    pub(super) rest: usize,
}

pub(super) fn cram_spec() -> impl Strategy<Value = CramSpec> {
    let read = read_spec(
        any::<u32>(),
        shape(),
        prop::option::weighted(0.3, any::<u32>()),
        Just(false),
    );

    (
        reads_spec(2_000..100_000, read, 0..3_000, 0..40),
        any::<u64>(),
        prop::collection::vec(1usize..=300, 0..20),
        1usize..=250,
    )
        .prop_map(|(reads, seed, containers, rest)| CramSpec {
            reads,
            seed,
            containers,
            rest,
        })
}

impl CramSpec {
    /// The reference sequences' bases.
    pub(super) fn references(&self) -> Vec<Vec<u8>> {
        let mut random = SplitMix(self.seed);
        self.reads
            .lengths
            .iter()
            .map(|&len| (0..len).map(|_| b"ACGT"[random.below(4)]).collect())
            .collect()
    }

    /// The records in file order (see [`ReadsSpec::records`]), each mapped read's bases taken
    /// from the reference, with a mismatch where its spec says.
    pub(super) fn records(&self, references: &[Vec<u8>]) -> Vec<Placed> {
        self.reads
            .records(Flags::empty(), |_, reference, start, shape, read| {
                let bases = &references[reference][start as usize..];
                let mut sequence: Vec<u8> =
                    shape.offsets().iter().map(|&i| bases[i as usize]).collect();

                if let Some(at) = read.mismatch {
                    let at = at as usize % sequence.len();
                    sequence[at] = substitute(sequence[at]);
                }

                sequence
            })
    }

    /// The number of records in each container, in file order, for `total` records.
    pub(super) fn container_sizes(&self, total: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = total;

        for &size in self.containers.iter().chain(std::iter::repeat(&self.rest)) {
            if left == 0 {
                break;
            }
            let size = size.min(left);
            sizes.push(size);
            left -= size;
        }

        sizes
    }
}

/// A small deterministic generator of reference bases.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n) as usize
    }
}

/// A base other than `base`.
fn substitute(base: u8) -> u8 {
    if base == b'A' { b'C' } else { b'A' }
}
