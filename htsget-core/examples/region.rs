//! Cut a region out of a local indexed file, as another Rust service embedding htsget-core
//! would: load the file's facts, resolve the query, and write the payload.
//!
//! ```text
//! cargo run -p htsget-core --example region -- DIR FILE INDEX FORMAT REFERENCE [START END] > out
//! cargo run -p htsget-core --example region -- ../shared/data bam/htsnexus_test_NA12878.bam \
//!     bam/htsnexus_test_NA12878.bam.bai BAM 11 4999999 5050000 > region.bam
//! ```
//!
//! The plan (header and body blocks) is printed on standard error.

use std::io::{self, Write};

use htsget_core::{
    Content, Span, load,
    query::{Query, Region},
    resolve,
    storage::{LocalStorage, Storage},
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, file, index, format, reference, rest @ ..] = args.as_slice() else {
        return Err("usage: region DIR FILE INDEX FORMAT REFERENCE [START END]".into());
    };
    let (start, end) = match rest {
        [start, end] => (Some(start.parse()?), Some(end.parse()?)),
        _ => (None, None),
    };

    let storage = LocalStorage::new(dir);
    let format = format.parse()?;

    // Facts are read once per file; a long-running service caches them.
    let facts = load::facts(&storage, format, file, index).await?;

    // Resolution is pure: no I/O happens here. The plan is what a ticket lists.
    let query =
        Query::new(format.endpoint(), format).with_region(Region::new(reference, start, end)?);
    let plan = resolve(&query, &facts)?;

    for part in plan.parts() {
        let section = part.section().as_str();
        match part.content() {
            Content::Span(Span::Bytes(range)) => eprintln!("{section:6} {range}"),
            Content::Span(Span::Bgzf(span)) => eprintln!(
                "{section:6} BGZF span {}-{} (cut blocks re-encoded when fetched)",
                u64::from(span.start()),
                u64::from(span.end())
            ),
            Content::Inline(data) => eprintln!("{section:6} inline, {} bytes", data.len()),
        }
    }
    eprintln!("total {} bytes", plan.len());

    // Fetching it: the BGZF spans' cut blocks are read and re-encoded on the way.
    let data = storage.open(file).await?;
    let mut out = io::stdout().lock();
    load::write_payload(&*data, &plan, &mut out).await?;
    out.flush()?;
    Ok(())
}
