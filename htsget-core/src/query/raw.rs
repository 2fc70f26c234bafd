//! The one form GET and POST requests take before validation, and the one function that
//! validates it: every rule about formats, classes, regions, fields and tags lives here once.

use super::{Class, Field, Fields, Region, Tags};
use crate::{Endpoint, Error, Reason, query::Query};

/// A request's htsget parameters, with their syntax checked (integers are integers, lists are
/// lists) but none of htsget's rules.
#[derive(Debug, Default)]
pub(super) struct RawQuery {
    pub(super) format: Option<String>,
    pub(super) class: Option<String>,
    /// The names of the given parameters that select records, as the request spells them,
    /// in the order `class=header` reports them.
    pub(super) selectors: Vec<&'static str>,
    pub(super) regions: Option<Vec<RawRegion>>,
    pub(super) fields: Option<Vec<String>>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) notags: Option<Vec<String>>,
    /// Whether `start == end` is an empty range (GET) rather than an invalid one (POST).
    pub(super) empty_ranges: bool,
    /// How `class=header` is written in messages: `class=header` or `class "header"`.
    pub(super) header_class: &'static str,
}

/// One region as given. Its parts hold their syntax errors, reported in validation order.
#[derive(Debug)]
pub(super) struct RawRegion {
    /// Where the region was given, for messages (`regions[3]`); `None` for GET.
    pub(super) label: Option<String>,
    pub(super) reference_name: Result<String, Error>,
    pub(super) start: Result<Option<u32>, Error>,
    pub(super) end: Result<Option<u32>, Error>,
}

impl RawQuery {
    /// Validates the request against htsget's rules for `endpoint`.
    pub(super) fn validate(self, endpoint: Endpoint) -> Result<Query, Error> {
        let format = match &self.format {
            Some(format) => endpoint.parse_format(format)?,
            None => endpoint.default_format(),
        };

        let mut query = Query::new(endpoint, format);

        if let Some(class) = &self.class {
            let class = parse_class(class)?;

            if class == Class::Header
                && let Some(name) = self.selectors.first()
            {
                return Err(Error::invalid_input(
                    Reason::NotWithHeaderClass,
                    format!("`{name}` cannot be given with {}", self.header_class),
                ));
            }

            query = query.with_class(class);
        }

        if let Some(regions) = self.regions {
            if regions.is_empty() {
                return Err(Error::invalid_input(
                    Reason::EmptyRegions,
                    "regions must hold at least one region (leave it out for the whole file)",
                ));
            }

            let regions = regions
                .into_iter()
                .map(|region| region.validate(endpoint, self.empty_ranges))
                .collect::<Result<_, _>>()?;
            query = query.with_regions(regions);
        }

        if let Some(fields) = self.fields {
            reads_only(endpoint, "`fields`")?;
            let fields = fields
                .iter()
                .map(|name| name.parse())
                .collect::<Result<Vec<Field>, _>>()?;
            query = query.with_fields(Fields::new(fields)?);
        }

        if self.tags.is_some() || self.notags.is_some() {
            query = query.with_tags(Tags::new(self.tags, self.notags.unwrap_or_default())?);
        }

        Ok(query)
    }
}

impl RawRegion {
    fn validate(self, endpoint: Endpoint, empty_ranges: bool) -> Result<Region, Error> {
        let label = self.label;
        let labelled = |e: Error| match (&label, e) {
            (Some(label), Error::InvalidInput { reason, message }) => {
                Error::invalid_input(reason, format!("invalid {label}: {message}"))
            }
            (_, e) => e,
        };

        let name = self.reference_name.map_err(labelled)?;
        let (start, end) = (self.start.map_err(labelled)?, self.end.map_err(labelled)?);
        let region = Region::new(name, start, end).map_err(labelled)?;

        if !empty_ranges
            && let (Some(start), Some(end)) = (start, end)
            && start >= end
        {
            return Err(Error::InvalidRange { start, end });
        }

        if region.reference_name().is_unplaced() {
            reads_only(endpoint, "referenceName `*`")?;
        }

        Ok(region)
    }
}

/// The names whose flag is set, in order: which of a request's parameters are given.
pub(super) fn given<const N: usize>(names: [(&'static str, bool); N]) -> Vec<&'static str> {
    names
        .into_iter()
        .filter_map(|(name, is_given)| is_given.then_some(name))
        .collect()
}

/// Parses a `class` value: only `header` is defined.
fn parse_class(value: &str) -> Result<Class, Error> {
    match value {
        "header" => Ok(Class::Header),
        _ => Err(Error::invalid_input(
            Reason::UnknownClass,
            format!("invalid class `{value}`: the only class is `header`"),
        )),
    }
}

/// Fails with [`Error::InvalidInput`] unless `endpoint` is the reads endpoint.
fn reads_only(endpoint: Endpoint, what: &str) -> Result<(), Error> {
    match endpoint {
        Endpoint::Reads => Ok(()),
        Endpoint::Variants => Err(Error::invalid_input(
            Reason::ReadsOnly,
            format!("{what} is only defined on the reads endpoint"),
        )),
    }
}
