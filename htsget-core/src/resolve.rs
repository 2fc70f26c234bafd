//! Resolution: from a query and a file's facts to the plan that answers it.
//!
//! Everything here is pure: no I/O, no async. [`resolve()`] gives the [`Plan`] the server
//! puts in tickets; [`crate::load::inline`] turns its cut BGZF spans into inline bytes for
//! callers that want no deferred spans.

mod bgzf;
mod cram;

use crate::{
    Content, Error, Plan, Reason, Section, Span,
    facts::{Aliases, FileFacts, Layout, ReferenceLookup},
    query::{Class, Interval, Query, ReferenceName},
};

/// Resolves `query` against a file's `facts`, without any I/O.
///
/// The plan holds the header span, the body spans (merged, in file order) and the end-of-file
/// marker, inline. A BGZF span whose ends fall inside blocks is a [`Span::Bgzf`]: its cut
/// blocks are re-encoded when it is fetched, so the payload starts and ends exactly at record
/// boundaries. A `class=header` query gives the header and the end-of-file marker, both of
/// the header section; an empty result gives the header and the end-of-file marker.
///
/// # Errors
///
/// [`Error::ReferenceNotFound`] for a reference name the file does not know,
/// [`Error::UnsupportedFormat`] if the query's format is not the file's, and
/// [`Error::InvalidInput`] for unplaced reads (`*`) on a variant file.
pub fn resolve(query: &Query, facts: &FileFacts) -> Result<Plan, Error> {
    resolve_with(query, facts, &Aliases::none())
}

/// [`resolve()`], with a `referenceName` the file does not have answered as its one equivalent
/// the file has under `aliases` (`chr11` as `11`, `chrM` as `MT`; see
/// [`References::find`](crate::facts::References::find)). Names the file has are never aliased;
/// the payload is the file's own bytes.
///
/// # Errors
///
/// As [`resolve()`]; [`Error::InvalidInput`] ([`Reason::AmbiguousReference`]) for a name that
/// stands for two of the file's names.
pub fn resolve_with(query: &Query, facts: &FileFacts, aliases: &Aliases) -> Result<Plan, Error> {
    if query.format() != facts.format() {
        return Err(Error::UnsupportedFormat {
            format: query.format().to_string(),
        });
    }

    let targets = targets(query, facts, aliases)?;

    let selected = match facts.layout() {
        Layout::Bgzf(layout) => bgzf::resolve(layout, &targets)?,
        Layout::Cram(layout) => cram::resolve(layout, &targets),
    };

    let tail = match query.class() {
        Class::Header => Section::Header,
        Class::Full => Section::Body,
    };

    let mut plan = Plan::new();
    if let Some(header) = selected.header {
        plan.push(Section::Header, Content::Span(header));
    }
    for span in selected.body {
        plan.push(Section::Body, Content::Span(span));
    }
    plan.push(tail, Content::Inline(selected.eof.to_vec()));
    Ok(plan)
}

/// What a format's resolver selects: the header span, the body spans in file order, and the
/// end-of-file marker.
struct Selected<'a> {
    header: Option<Span>,
    body: Vec<Span>,
    eof: &'a [u8],
}

/// The regions of `query` resolved against `facts` (none for the header class).
pub(crate) fn targets(
    query: &Query,
    facts: &FileFacts,
    aliases: &Aliases,
) -> Result<Vec<Target>, Error> {
    match (query.class(), query.regions()) {
        (Class::Header, _) => Ok(Vec::new()),
        (Class::Full, None) => Ok(vec![Target::All]),
        (Class::Full, Some(regions)) => regions
            .iter()
            .map(|region| target(facts, aliases, region.reference_name(), region.interval()))
            .collect(),
    }
}

/// One region, with its reference resolved to an index id.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Target {
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
    aliases: &Aliases,
    reference_name: &ReferenceName,
    interval: &Interval,
) -> Result<Target, Error> {
    match reference_name {
        ReferenceName::Unplaced if facts.format().is_reads() => Ok(Target::Unplaced),
        ReferenceName::Unplaced => Err(Error::invalid_input(
            Reason::ReadsOnly,
            "referenceName \"*\" is only meaningful for reads",
        )),
        ReferenceName::Name(name) => match facts
            .references()
            .lookup(facts.references().find(name, aliases)?)
        {
            ReferenceLookup::Unknown => Err(Error::ReferenceNotFound { name: name.clone() }),
            ReferenceLookup::NoData => Ok(Target::Nothing),
            ReferenceLookup::Id(id) => Ok(Target::Reference {
                id,
                interval: *interval,
            }),
        },
    }
}
