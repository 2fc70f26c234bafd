//! Property tests: BAM, VCF.gz and BCF files written with noodles from random parameters, with
//! random BGZF block layouts and indexes built by noodles, cut through the core for random
//! regions. Every payload must decode to the end, end with the BGZF end-of-file block, hold its
//! records once each in file order, and hold every record that overlaps a region, both by the
//! ground truth known from generation and by noodles' own indexed query.
//!
//! Strategies generate parameters only; files are built from them deterministically, so a
//! failing case shrinks to a small file.

pub(crate) mod generate;
mod reads;
mod variants;

use std::{
    collections::BTreeSet,
    io::{self, Write},
    path::Path,
};

use htsget_core::{Format, LocalStorage, Query, Storage, load, query::Region, resolve};

use crate::common::block_on;
use noodles::{
    bam::bai,
    bgzf::{
        self, VirtualPosition,
        io::writer::{Builder, CompressionLevel},
    },
    core::Position,
    csi::{
        self, BinningIndex,
        binning_index::{
            Index, Indexer, ReferenceSequence as _,
            index::{
                ReferenceSequence,
                reference_sequence::{
                    self,
                    bin::Chunk,
                    index::{BinnedIndex, LinearIndex},
                },
            },
        },
    },
    tabix,
};
use proptest::prelude::*;

/// The configuration of every property: 24 cases, as each writes files, unless
/// `PROPTEST_CASES` says otherwise; a failure shrinks for long, and its seed is saved beside
/// the test's source (`*.proptest-regressions`).
pub(crate) fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        24
    };

    ProptestConfig {
        cases,
        max_shrink_iters: 4_096,
        ..default
    }
}

/// The BGZF end-of-file block every payload ends with.
const BGZF_EOF: &[u8] = &htsget_core::BGZF_EOF;

/// How far past a reference's end regions may reach.
const PAST_END: u32 = 2_000;

/// How a file is cut into BGZF blocks: the compression level, the sizes of the first blocks,
/// then the size of every later one (`None`: as large as the writer makes them). Sizes are of
/// uncompressed data, cut wherever they fall, inside records or lines, as bgzip cuts.
#[derive(Clone, Debug)]
pub(crate) struct BlockLayout {
    pub(crate) level: u8,
    pub(crate) first: Vec<u32>,
    pub(crate) then: Option<u32>,
}

pub(crate) fn block_layout() -> impl Strategy<Value = BlockLayout> {
    let size = prop_oneof![1u32..64, 64u32..4_096, 4_096u32..70_000];

    (
        0u8..=9,
        prop::collection::vec(size, 0..16),
        prop::option::of(prop_oneof![200u32..2_000, 2_000u32..70_000]),
    )
        .prop_map(|(level, first, then)| BlockLayout { level, first, then })
}

/// A BGZF writer that also ends blocks where a [`BlockLayout`] says.
pub(crate) struct Blocked<W: Write> {
    inner: bgzf::io::Writer<W>,
    first: std::vec::IntoIter<u32>,
    then: Option<u32>,
    /// Bytes left before the current block ends; `None` when it ends only when full.
    left: Option<usize>,
}

impl<W: Write> Blocked<W> {
    pub(crate) fn new(inner: W, layout: &BlockLayout) -> Self {
        let level = CompressionLevel::new(layout.level).expect("compression level");
        let mut blocked = Self {
            inner: Builder::default()
                .set_compression_level(level)
                .build_from_writer(inner),
            first: layout.first.clone().into_iter(),
            then: layout.then,
            left: None,
        };
        blocked.left = blocked.next_size();
        blocked
    }

    fn next_size(&mut self) -> Option<usize> {
        self.first.next().or(self.then).map(|n| n as usize)
    }

    pub(crate) fn virtual_position(&self) -> VirtualPosition {
        self.inner.virtual_position()
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        self.inner.finish()
    }
}

impl<W: Write> Write for Blocked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.left.map_or(buf.len(), |left| left.min(buf.len()));
        self.inner.write_all(&buf[..n])?;

        if let Some(left) = &mut self.left {
            *left -= n;
            if *left == 0 {
                self.inner.flush()?;
                self.left = self.next_size();
            }
        }

        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

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

/// The largest position an index with these parameters can address.
pub(crate) fn max_position(min_shift: u8, depth: u8) -> usize {
    1 << (u32::from(min_shift) + 3 * u32::from(depth))
}

/// The depth of a CSI with `min_shift`: the fewest levels that cover `longest`, plus `extra`.
pub(crate) fn csi_depth(min_shift: u8, extra: u8, longest: u32) -> u8 {
    let fewest = (1u8..)
        .find(|&depth| max_position(min_shift, depth) >= longest as usize)
        .expect("a depth");
    fewest + extra
}

/// A record as an index sees it: its reference (`None` when unplaced), its 0-based, half-open
/// span (not empty when placed), whether it is mapped, and its start and end in the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extent {
    pub(crate) reference: Option<usize>,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) mapped: bool,
    pub(crate) chunk: Chunk,
}

/// A BAI over `extents`, built by noodles.
pub(crate) fn bai(extents: &[Extent], reference_count: usize) -> bai::Index {
    build_index(Indexer::<LinearIndex>::default(), extents, reference_count)
}

/// A CSI over `extents`, built by noodles, with its `loffset`s set as the CSI spec says.
pub(crate) fn csi(extents: &[Extent], min_shift: u8, depth: u8, count: usize) -> csi::Index {
    let indexer = Indexer::<BinnedIndex>::new(min_shift, depth).expect("CSI parameters");
    with_spec_loffsets(build_index(indexer, extents, count), extents)
}

fn build_index<I>(mut indexer: Indexer<I>, extents: &[Extent], count: usize) -> Index<I>
where
    I: reference_sequence::Index + Default,
{
    for extent in extents {
        let position = |n: u32| Position::new(n as usize).expect("position");
        let context = extent.reference.map(|id| {
            let (start, end) = (position(extent.start + 1), position(extent.end));
            (id, start, end, extent.mapped)
        });
        indexer
            .add_record(context, extent.chunk)
            .expect("indexable record");
    }

    indexer.build(count)
}

/// Sets each bin's `loffset` to the start of the first record that overlaps the bin, as the
/// CSI spec says. noodles 0.119's indexer gets two cases wrong: it takes the first record
/// binned in the bin or below it, so a long record binned higher up is skipped by queries that
/// start in a later window of the bin (noodles' and bcftools' queries then miss it); and it
/// never sets bin 0's, which is then written as 0, the start of the file (noodles' unmapped
/// query then seeks into the header when bin 0 is the last reference's only bin).
fn with_spec_loffsets(index: csi::Index, extents: &[Extent]) -> csi::Index {
    let (min_shift, depth) = (index.min_shift(), index.depth());

    let references = index
        .reference_sequences()
        .iter()
        .enumerate()
        .map(|(id, reference)| {
            let loffsets: BinnedIndex = reference
                .bins()
                .keys()
                .map(|&bin| {
                    let (from, to) = bin_interval(bin, min_shift, depth);
                    let first = extents
                        .iter()
                        .find(|e| {
                            e.reference == Some(id)
                                && u64::from(e.start) < to
                                && u64::from(e.end) > from
                        })
                        .expect("a record overlaps every bin that has chunks");
                    (bin, first.chunk.start())
                })
                .collect();

            ReferenceSequence::new(
                reference.bins().clone(),
                loffsets,
                reference.metadata().cloned(),
            )
        })
        .collect();

    Index::builder()
        .set_min_shift(min_shift)
        .set_depth(depth)
        .set_reference_sequences(references)
        .set_unplaced_unmapped_record_count(index.unplaced_unmapped_record_count().unwrap_or(0))
        .build()
}

/// The 0-based, half-open interval a bin covers.
fn bin_interval(bin: usize, min_shift: u8, depth: u8) -> (u64, u64) {
    let first = |level: u8| ((1usize << (3 * u32::from(level))) - 1) / 7;
    let level = (0..=depth)
        .rev()
        .find(|&level| bin >= first(level))
        .expect("a level");
    let width = 1u64 << (u32::from(min_shift) + 3 * u32::from(depth - level));
    let from = (bin - first(level)) as u64 * width;
    (from, from + width)
}

/// Reads a BAI, CSI or tabix index, told by the file's extension.
pub(crate) fn read_index(path: &Path) -> Result<Box<dyn BinningIndex>, String> {
    let index: Box<dyn BinningIndex> = match path.extension().and_then(|e| e.to_str()) {
        Some("bai") => Box::new(bai::fs::read(path).map_err(|e| e.to_string())?),
        Some("csi") => Box::new(csi::fs::read(path).map_err(|e| e.to_string())?),
        Some("tbi") => Box::new(tabix::fs::read(path).map_err(|e| e.to_string())?),
        _ => return Err(format!("no index reader for {}", path.display())),
    };
    Ok(index)
}

/// The payload the core serves for `regions` of `data` through `index`.
pub(crate) fn cut(
    storage: &LocalStorage,
    format: Format,
    data: &str,
    index: &str,
    regions: Vec<Region>,
) -> Result<Vec<u8>, String> {
    let facts =
        block_on(load::facts(storage, format, data, index)).map_err(|e| format!("facts: {e}"))?;
    let query = Query::new(format.endpoint(), format).with_regions(regions);
    let selection = resolve(&query, &facts).map_err(|e| format!("resolve: {e}"))?;
    let object = block_on(storage.open(data)).map_err(|e| format!("open: {e}"))?;
    let plan = block_on(load::inline(&*object, &selection)).map_err(|e| format!("plan: {e}"))?;

    let mut payload = Vec::new();
    block_on(load::write_payload(&*object, &plan, &mut payload))
        .map_err(|e| format!("payload: {e}"))?;

    if payload.ends_with(BGZF_EOF) {
        Ok(payload)
    } else {
        Err("payload does not end with the BGZF end-of-file block".into())
    }
}

/// Checks the records of a payload (their indexes in the file, in payload order) against the
/// records the regions overlap by generation (`truth`) and by noodles' indexed query.
pub(crate) fn check_records(
    payload: &[usize],
    truth: &BTreeSet<usize>,
    noodles: &BTreeSet<usize>,
) -> Result<(), String> {
    if truth != noodles {
        return Err(format!(
            "the test's ground truth and noodles disagree: truth {truth:?}, noodles {noodles:?}"
        ));
    }

    if let Some(pair) = payload.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "payload records out of file order or repeated: record {} then {}",
            pair[0], pair[1]
        ));
    }

    let held: BTreeSet<usize> = payload.iter().copied().collect();
    let missing: Vec<usize> = truth.difference(&held).copied().collect();

    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("records missing from the payload: {missing:?}"))
    }
}

/// The index of a record from its name or ID, `{prefix}{n}`.
pub(crate) fn ordinal(name: &str, prefix: char) -> Result<usize, String> {
    name.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unexpected record name {name:?}"))
}

/// Bases for a sequence of `len`, varied by `seed`.
pub(crate) fn bases(len: usize, seed: usize) -> Vec<u8> {
    b"ACGT"
        .iter()
        .cycle()
        .skip(seed % 4)
        .take(len)
        .copied()
        .collect()
}
