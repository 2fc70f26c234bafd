//! Resolution: from a query and a file's facts to the spans of the file that answer it.
//!
//! Everything here is pure: no I/O, no async. [`resolve()`] gives a [`Selection`]; the I/O
//! layer reads the few blocks it cuts inside and calls [`Selection::layout`] for the [`Plan`].
//!
//! [`Plan`]: crate::Plan

mod bgzf;
mod block;
mod cram;
mod selection;

pub use self::{
    block::{BGZF_EOF, DecodedBlock, MAX_BLOCK_SIZE, encode},
    selection::{BoundaryBlocks, Selection, Span, cut},
};

pub(crate) use self::selection::cut_blocks;

use crate::{
    Class, Error, Query,
    facts::{FileFacts, Layout, ReferenceLookup},
    query::{Interval, ReferenceName},
};

/// Resolves `query` against a file's `facts`.
///
/// The selection holds the header span, the body spans (merged, in file order) and the
/// end-of-file marker. A `class=header` query selects the header only; an empty result selects
/// the header and the end-of-file marker.
///
/// # Errors
///
/// [`Error::ReferenceNotFound`] for a reference name the file does not know,
/// [`Error::UnsupportedFormat`] if the query's format is not the file's, and
/// [`Error::InvalidInput`] for unplaced reads (`*`) on a variant file.
pub fn resolve(query: &Query, facts: &FileFacts) -> Result<Selection, Error> {
    if query.format() != facts.format() {
        return Err(Error::UnsupportedFormat {
            format: query.format().to_string(),
        });
    }

    let targets = match (query.class(), query.regions()) {
        (Class::Header, _) => Vec::new(),
        (Class::Full, None) => vec![Target::All],
        (Class::Full, Some(regions)) => regions
            .iter()
            .map(|region| target(facts, region.reference_name(), region.interval()))
            .collect::<Result<_, _>>()?,
    };

    match facts.layout() {
        Layout::Bgzf(layout) => bgzf::resolve(facts.format(), layout, &targets),
        Layout::Cram(layout) => Ok(cram::resolve(layout, &targets)),
    }
}

/// One region, with its reference resolved to an index id.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Target {
    /// Every record.
    All,
    /// The unplaced unmapped records.
    Unplaced,
    /// Records of reference `id` overlapping the interval.
    Reference { id: usize, interval: Interval },
    /// A reference the header declares but the index has no data for.
    Nothing,
}

fn target(
    facts: &FileFacts,
    reference_name: &ReferenceName,
    interval: &Interval,
) -> Result<Target, Error> {
    match reference_name {
        ReferenceName::Unplaced if facts.format().is_reads() => Ok(Target::Unplaced),
        ReferenceName::Unplaced => Err(Error::invalid_input(
            "referenceName \"*\" is only meaningful for reads",
        )),
        ReferenceName::Name(name) => match facts.references().lookup(name) {
            ReferenceLookup::Unknown => Err(Error::ReferenceNotFound { name: name.clone() }),
            ReferenceLookup::NoData => Ok(Target::Nothing),
            ReferenceLookup::Id(id) => Ok(Target::Reference {
                id,
                interval: *interval,
            }),
        },
    }
}
