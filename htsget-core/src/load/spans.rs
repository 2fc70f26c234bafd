//! Making the bytes of BGZF spans: reading the blocks they cut inside and re-encoding the parts
//! that belong to them.

use std::io;

use super::{invalid, io_error};
use crate::{
    BgzfSpan, Content, Error, Plan, Served, Span,
    bgzf::{self, Blocks, DecodedBlock, MAX_BLOCK_SIZE},
    storage::Object,
};

/// The bytes of `span` of the opened BGZF file `data`, as contents: re-encoded parts of its cut
/// blocks ([`Served::Inline`]) around a byte range of the whole blocks between them. Reads at
/// most the two cut blocks; the byte range is left for the caller to stream.
///
/// # Errors
///
/// [`Error::InvalidData`] if the span does not lie in the file or cuts a block that does not
/// decode (a span from a client may be anything).
pub async fn span_contents(data: &dyn Object, span: &BgzfSpan) -> Result<Vec<Served>, Error> {
    let size = data.size();
    let past_end = || {
        invalid(
            io::Error::new(io::ErrorKind::InvalidInput, "span past the end of the file"),
            "span",
        )
    };

    if span.end().compressed() > size {
        return Err(past_end());
    }

    let mut blocks = Blocks::new();
    read_blocks(data, &span.cut_blocks(), &mut blocks).await?;
    let contents = bgzf::cut(span, &blocks)?;

    let beyond = contents
        .iter()
        .any(|c| matches!(c, Served::Bytes(range) if range.end() > size));
    if beyond {
        Err(past_end())
    } else {
        Ok(contents)
    }
}

/// `plan` with every [`Span::Bgzf`] made into its bytes: whole blocks as byte ranges, the parts
/// of cut blocks re-encoded inline. Reads each cut block of the opened file `data` once.
///
/// This is the layout for callers that want no deferred spans (an embedder writing a payload
/// itself); the server puts [`crate::resolve()`]'s plan in tickets as it is.
///
/// # Errors
///
/// As [`span_contents`].
pub async fn inline(data: &dyn Object, plan: &Plan) -> Result<Plan, Error> {
    let mut offsets: Vec<u64> = plan
        .parts()
        .iter()
        .flat_map(|part| match part.content() {
            Content::Span(Span::Bgzf(span)) => span.cut_blocks(),
            _ => Vec::new(),
        })
        .collect();
    offsets.sort_unstable();
    offsets.dedup();

    let mut blocks = Blocks::new();
    read_blocks(data, &offsets, &mut blocks).await?;

    let mut inlined = Plan::new();
    for part in plan.parts() {
        match part.content() {
            Content::Span(Span::Bgzf(span)) => {
                for served in bgzf::cut(span, &blocks)? {
                    inlined.push(part.section(), served.into());
                }
            }
            content => inlined.push(part.section(), content.clone()),
        }
    }

    Ok(inlined)
}

/// Reads and decodes the BGZF blocks of `data` at `offsets` into `blocks`.
async fn read_blocks(data: &dyn Object, offsets: &[u64], blocks: &mut Blocks) -> Result<(), Error> {
    for &offset in offsets {
        let raw = data
            .read(offset, MAX_BLOCK_SIZE)
            .await
            .map_err(|e| io_error(e, "data file"))?;
        let block = DecodedBlock::decode(&raw).map_err(|e| invalid(e, "BGZF block"))?;
        blocks.insert(offset, block);
    }
    Ok(())
}
