//! The validated query model: what an htsget request asks for.
//!
//! A [`Query`] is built from a GET query string ([`Query::from_get`]), a POST body
//! ([`Query::from_post`]) or in code ([`Query::new`] and its `with_*` methods). Every
//! constructor validates, so a `Query` in hand is always one the specification allows.
//!
//! Coordinates are htsget's: 0-based, `start` inclusive, `end` exclusive.

mod fields;
mod get;
mod post;
mod raw;
mod region;

pub use self::{
    fields::{Field, Fields, Tags},
    region::{Interval, ReferenceName, Region},
};

use crate::{Endpoint, Format};

/// The query parameters htsget defines for GET requests (a POST must carry none of them on its
/// URL).
pub const GET_PARAMETERS: [&str; 8] = [
    "format",
    "class",
    "referenceName",
    "start",
    "end",
    "fields",
    "tags",
    "notags",
];

/// Which part of the file a query asks for.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum Class {
    /// The header and the selected records (no `class` parameter).
    #[default]
    Full,
    /// The header only (`class=header`).
    Header,
}

/// A validated htsget query.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Query {
    endpoint: Endpoint,
    format: Format,
    class: Class,
    regions: Option<Vec<Region>>,
    fields: Fields,
    tags: Tags,
}

impl Query {
    /// A query for the whole file in `format` (which must belong to `endpoint`'s formats;
    /// use [`Endpoint::parse_format`] on untrusted input).
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, Format, query::Query};
    /// let query = Query::new(Endpoint::Reads, Format::Bam);
    /// assert!(query.regions().is_none());
    /// ```
    pub fn new(endpoint: Endpoint, format: Format) -> Self {
        Self {
            endpoint,
            format,
            class: Class::Full,
            regions: None,
            fields: Fields::default(),
            tags: Tags::default(),
        }
    }

    /// This query restricted to `regions` (records from all of them, in file order, each once).
    ///
    /// An empty list means the whole file.
    pub fn with_regions(mut self, regions: Vec<Region>) -> Self {
        self.regions = if regions.is_empty() {
            None
        } else {
            Some(regions)
        };
        self
    }

    /// This query restricted to one region.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, Format, query::{Query, Region}};
    /// let query = Query::new(Endpoint::Reads, Format::Bam)
    ///     .with_region(Region::new("chr1", Some(999), Some(2000))?);
    /// assert_eq!(query.regions().map(|r| r.len()), Some(1));
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn with_region(self, region: Region) -> Self {
        self.with_regions(vec![region])
    }

    /// This query asking for the header only.
    pub fn with_class(mut self, class: Class) -> Self {
        self.class = class;
        self
    }

    /// This query with a `fields` selection.
    pub fn with_fields(mut self, fields: Fields) -> Self {
        self.fields = fields;
        self
    }

    /// This query with a `tags`/`notags` selection.
    pub fn with_tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }

    /// The endpoint asked.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The format asked (the endpoint's default if none was given).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the header alone or the header and records are asked.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The regions asked; `None` means the whole file.
    pub fn regions(&self) -> Option<&[Region]> {
        self.regions.as_deref()
    }

    /// The fields asked (reads only). The payload may hold more.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The tags asked (reads only). The payload may hold more.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }
}
