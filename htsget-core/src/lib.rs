//! **htsget-core** resolves [GA4GH htsget 1.3] queries on BAM, CRAM, VCF.gz and BCF files to
//! the exact byte ranges that answer them, and builds the ticket that lists those ranges.
//!
//! It is a library for servers and for services that answer htsget queries themselves. It has
//! no HTTP server, CLI or cloud SDK in its dependency tree, and its resolver does no I/O.
//!
//! # How a query is answered
//!
//! 1. **Query**: [`query::Query::from_get`] or [`query::Query::from_post`] validate a request into a
//!    [`query::Query`]; invalid input is an [`Error`] whose [`Error::kind`] is the spec's error name
//!    and whose [`Error::reason`] names the rule broken.
//! 2. **Facts**: [`load::facts`] reads, through a [`storage::Storage`], what resolution needs to know
//!    about a file — its parsed index (BAI, CSI, TBI or CRAI), where its header ends, where its
//!    records end, and its reference names — into [`facts::FileFacts`]. A server caches these
//!    by the objects' [`storage::Identity`].
//! 3. **Resolve**: [`resolve()`] turns a query and the facts into a [`Plan`]: the header, the
//!    merged body [`Span`]s in file order, and the end-of-file marker. It is pure: no I/O, no
//!    async. BGZF spans that start or end inside a block stay [`Span::Bgzf`], so making a
//!    ticket reads nothing.
//! 4. **Ticket**: [`Ticket::new`] lists the plan as URLs: byte ranges with a `Range` header,
//!    BGZF spans as `?span=START-END` URLs (a [`BgzfSpan`] written and parsed as text), inline parts as `data:;base64,` URIs.
//! 5. **Data**: whoever serves the URLs opens the file once ([`storage::Storage::open`]) and streams
//!    byte ranges from the handle; a `?span=` URL is answered by [`load::span_contents`]: the
//!    parts of its two cut blocks re-encoded, around the whole blocks between. The payload thus
//!    cuts exactly at record boundaries.
//!
//! [`load::exact`] plans a payload with exactly the records that overlap the query's regions,
//! for callers that must not hand out more than was asked; [`load::exact_with`] cuts CRAM too,
//! re-encoding the records of partly covered containers against the reference sequences a
//! [`load::ReferenceSequences`] gives by `M5`.
//!
//! [`load::inline`] makes a plan with the cut blocks already re-encoded inline, for callers
//! that want no deferred spans; [`load::write_payload`] writes any plan's payload.
//!
//! # Example
//!
//! Cutting a region out of a local BAM file (the runnable version is `examples/region.rs`):
//!
//! ```no_run
//! use htsget_core::{Endpoint, Format, load, query::{Query, Region}, resolve, storage::{LocalStorage, Storage}};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let storage = LocalStorage::new("data");
//! let facts = load::facts(&storage, Format::Bam, "sample.bam", "sample.bam.bai").await?;
//!
//! let query = Query::new(Endpoint::Reads, Format::Bam)
//!     .with_region(Region::new("chr1", Some(999_999), Some(2_000_000))?);
//! let plan = resolve(&query, &facts)?;
//!
//! let data = storage.open("sample.bam").await?;
//! let mut out = std::fs::File::create("region.bam")?;
//! load::write_payload(&*data, &plan, &mut out).await?;
//! # Ok(()) }
//! ```
//!
//! Validating a GET request:
//!
//! ```
//! use htsget_core::{Endpoint, ErrorKind, query::Query};
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

mod bgzf;
#[cfg(feature = "crypt4gh")]
pub mod crypt4gh;
mod eof;
mod error;
pub mod facts;
mod format;
pub mod load;
mod plan;
pub mod query;
mod resolve;
mod span;
pub mod storage;
mod ticket;

pub use self::{
    eof::{BGZF_EOF, CRAM_EOF},
    error::{Error, ErrorKind, Reason},
    format::{Endpoint, Format},
    plan::{Content, Part, Plan, Section, Served},
    resolve::{resolve, resolve_with},
    span::{BgzfSpan, ByteRange, ParseBgzfSpanError, Span},
    ticket::{Location, MAX_URL_RANGE, Ticket, TicketUrl},
};
