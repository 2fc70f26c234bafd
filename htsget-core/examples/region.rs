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

use htsget_core::{LocalStorage, Query, Source, load, query::Region, resolve};

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let facts = load::facts(&storage, format, file, index)?;

    // Resolution is pure: no I/O happens here.
    let query =
        Query::new(format.endpoint(), format).with_region(Region::new(reference, start, end)?);
    let selection = resolve(&query, &facts)?;

    // Reading the few blocks the selection cuts inside gives the plan.
    let plan = load::plan(&storage, file, &selection)?;

    for block in plan.blocks() {
        match block.source() {
            Source::Range(range) => eprintln!("{:6} {range}", block.class().as_str()),
            Source::Inline(data) => {
                eprintln!("{:6} inline, {} bytes", block.class().as_str(), data.len())
            }
            Source::Bgzf(span) => {
                eprintln!("{:6} BGZF span {}", block.class().as_str(), span.to_param())
            }
        }
    }
    eprintln!("total {} bytes", plan.len());

    let mut out = io::stdout().lock();
    load::write_payload(&storage, file, &plan, &mut out)?;
    out.flush()?;
    Ok(())
}
