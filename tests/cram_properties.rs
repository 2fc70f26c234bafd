//! Property tests for CRAM: a reference FASTA and a coordinate-sorted CRAM 3 file written with
//! noodles from random parameters, cut into many containers of random sizes (some holding reads
//! of two references, or mapped and unplaced reads together), indexed by noodles' CRAI indexer,
//! and cut through the core for random regions. Every payload must decode to its end with the
//! reference, end with the CRAM end-of-file container, hold each record at most once and exactly
//! as the file holds it, and hold every record that overlaps a region, both by the ground truth
//! known from generation and by noodles' own indexed query. The exact payload
//! (`load::exact_with`, what a region grant gets: containers inside the regions whole, the
//! others' overlapping records re-encoded against the reference found by its `M5`) must hold
//! exactly the overlapping records, each as the file holds it.
//!
//! The region strategies, [`Window`] and the reads and their records ([`ReadsSpec`]) are the
//! BAM/VCF properties' own.
//!
//! noodles' writer fills a container with 10 240 records and offers no knob for fewer, so each
//! container is written by a writer of its own and the pieces are concatenated (their container
//! record counters all start at 0, which readers do not check).

mod files;
mod fixture;
mod spec;

use std::collections::BTreeSet;

use noodles::cram::crai;
use proptest::prelude::*;

use crate::properties::{
    RegionSpec, config,
    generate::{ReadSpec, ReadsSpec, Shape},
};
use fixture::CramFixture;
use spec::{CramSpec, Target, cram_spec, targets};

const DATA: &str = "x.cram";
const INDEX: &str = "x.cram.crai";
const REFERENCE: &str = "ref.fa";

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..config() })]

    #[test]
    fn test_cram_payload_holds_every_overlapping_read(
        spec in cram_spec(),
        query in targets(),
    ) {
        let fixture = CramFixture::new(&spec);
        fixture.check(&query).map_err(TestCaseError::fail)?;
        fixture.check_exact(&query).map_err(TestCaseError::fail)?;
    }
}

/// A fixed file of a few hundred reads in many containers.
fn fixed_spec() -> CramSpec {
    let reads = (0..600u32)
        .map(|i| ReadSpec {
            reference: i as usize % 3,
            start: i.wrapping_mul(2_654_435_761),
            shape: if i % 7 == 0 {
                Shape::Gapped {
                    left: 30,
                    gap: 200 + i,
                    right: 40,
                    skip: false,
                }
            } else {
                Shape::Matched(50 + i % 100)
            },
            mismatch: (i % 3 == 0).then_some(i),
            unmapped_mate: i % 5 == 0,
            flush_after: false,
        })
        .collect();

    CramSpec {
        reads: ReadsSpec {
            lengths: vec![30_000, 5_000, 80_000, 12_000],
            empty: 3,
            reads,
            unplaced: 25,
        },
        seed: 7,
        containers: vec![1, 40, 3, 250],
        rest: 64,
    }
}

/// samtools reads the payloads of a few queries without a word on stderr, and counts the
/// records noodles decodes.
#[test]
fn test_cram_payload_with_samtools() {
    if !crate::common::require(&[crate::common::Tool::Samtools]) {
        return;
    }
    let fixture = CramFixture::new(&fixed_spec());
    let reference = fixture.path(REFERENCE);
    let reference = reference.to_str().expect("UTF-8 path");

    let queries = [
        vec![Target::Any(RegionSpec::Bounded {
            reference: 0,
            start: 10_000,
            len: 5_000,
        })],
        vec![
            Target::Any(RegionSpec::Whole { reference: 1 }),
            Target::Any(RegionSpec::Unplaced),
            Target::Any(RegionSpec::From {
                reference: 2,
                start: 60_000,
            }),
        ],
    ];

    for query in queries {
        let windows = fixture.windows(&query);
        let payload = fixture.payload(&windows).expect("payload");
        let held = fixture.held(&payload).expect("payload decodes");

        let path = fixture.path("payload.cram");
        std::fs::write(&path, &payload).expect("payload written");
        let path = path.to_str().expect("UTF-8 path");

        let output = crate::common::run("samtools", &["view", "-c", "-T", reference, path]);

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "samtools failed: {stderr}");
        assert!(stderr.is_empty(), "samtools warned: {stderr}");

        let count: usize = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a count");
        assert_eq!(count, held.len(), "samtools and noodles count {query:?}");
    }
}

#[test]
fn test_cram_fixture_has_many_containers() {
    let fixture = CramFixture::new(&fixed_spec());
    let index = crai::fs::read(fixture.path(INDEX)).expect("CRAI");
    let offsets: BTreeSet<u64> = index.iter().map(|record| record.offset()).collect();

    assert_eq!(offsets.len(), fixture.sizes.len());
    assert!(
        fixture.sizes.len() > 10,
        "{} containers",
        fixture.sizes.len()
    );

    let unplaced = index
        .iter()
        .filter(|record| record.reference_sequence_id().is_none())
        .count();
    assert!(unplaced > 0, "no CRAI record of unplaced reads");
}
