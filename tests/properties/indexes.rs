//! Indexes over generated records: BAI and CSI built by noodles from the records' extents, with
//! the CSI's `loffset`s set as its spec says, and any index read back from disk.

use std::path::Path;

use noodles::{
    bam::bai,
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
