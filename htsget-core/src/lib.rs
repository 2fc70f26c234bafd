//! **htsget-core** resolves [GA4GH htsget 1.3] queries on BAM, CRAM, VCF.gz and BCF files to
//! the exact byte ranges that answer them, and builds the ticket that lists those ranges.
//!
//! It is a library for servers and for services that answer htsget queries themselves. It has
//! no HTTP server, CLI or cloud SDK in its dependency tree, and its resolver does no I/O.
//!
//! # How a query is answered
//!
//! 1. **Query**: [`Query::from_get`] or [`Query::from_post`] validate a request into a
//!    [`Query`]; invalid input is an [`Error`] whose [`Error::kind`] is the spec's error name.
//! 2. **Facts**: [`load::facts`] reads, through a [`Storage`], what resolution needs to know
//!    about a file — its parsed index (BAI, CSI, TBI or CRAI), where its header ends, where its
//!    records end, and its reference names — into [`facts::FileFacts`]. A server caches these.
//! 3. **Resolve**: [`resolve()`] turns a query and the facts into a [`resolve::Selection`]:
//!    the header span, the merged body spans in file order, and the end-of-file marker. It is
//!    pure and synchronous.
//! 4. **Plan**: [`load::plan`] reads the few BGZF blocks the selection cuts inside and lays out
//!    the [`Plan`]: whole blocks as file ranges, the parts of boundary blocks re-encoded inline,
//!    so that the payload cuts exactly at record boundaries, then the EOF marker.
//! 5. **Ticket**: [`Ticket::new`] turns the plan into the JSON ticket; file ranges become URLs
//!    with a `Range` header, inline blocks become `data:;base64,` URLs.
//!
//! # Example
//!
//! Cutting a region out of a local BAM file (the runnable version is
//! `examples/region.rs`):
//!
//! ```no_run
//! use htsget_core::{Endpoint, Format, LocalStorage, Query, load, query::Region, resolve};
//!
//! let storage = LocalStorage::new("data");
//! let facts = load::facts(&storage, Format::Bam, "sample.bam", "sample.bam.bai")?;
//!
//! let query = Query::new(Endpoint::Reads, Format::Bam)
//!     .with_region(Region::new("chr1", Some(999_999), Some(2_000_000))?);
//! let selection = resolve(&query, &facts)?;
//! let plan = load::plan(&storage, "sample.bam", &selection)?;
//!
//! let mut out = std::fs::File::create("region.bam")?;
//! load::write_payload(&storage, "sample.bam", &plan, &mut out)?;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
//!
//! Validating a GET request:
//!
//! ```
//! use htsget_core::{Endpoint, ErrorKind, Query};
//!
//! let query = Query::from_get(Endpoint::Variants, [("referenceName", "chr20"), ("format", "bcf")])?;
//! assert_eq!(query.format().as_str(), "BCF");
//!
//! let error = Query::from_get(Endpoint::Reads, [("referenceName", "1"), ("start", "20"), ("end", "10")])
//!     .unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidRange);
//! # Ok::<_, htsget_core::Error>(())
//! ```
//!
//! # Coordinates
//!
//! Query coordinates are htsget's: 0-based, start inclusive, end exclusive. [`ByteRange`] ends
//! are exclusive too; only the HTTP `Range` header form (`bytes=a-b`) is inclusive.
//!
//! [GA4GH htsget 1.3]: https://samtools.github.io/hts-specs/htsget.html

mod error;
pub mod facts;
mod format;
pub mod load;
mod plan;
pub mod query;
pub mod resolve;
mod storage;
mod ticket;

pub use self::{
    error::{Error, ErrorKind},
    format::{Endpoint, Format},
    plan::{BgzfSpan, Block, BlockClass, ByteRange, Plan, Source},
    query::{Class, Query},
    resolve::resolve,
    storage::{LocalStorage, Storage},
    ticket::{MAX_URL_RANGE, Ticket, TicketUrl},
};
