//! Writing a plan's payload: what a client does with a ticket, for embedders without a server.

use std::io;

use super::{io_error, span_contents};
use crate::{Content, Error, Plan, Served, Span, storage::Object};

/// The largest read [`write_payload`] makes at once.
pub const PAYLOAD_CHUNK: usize = 1 << 20;

/// Writes the payload of `plan` (spans of the opened file `data`, and inline parts, in order)
/// to `out`, reading at most [`PAYLOAD_CHUNK`] bytes at a time. Returns the bytes written.
///
/// # Errors
///
/// [`Error::Io`] if `data` is shorter than the plan or a read or write fails, and as
/// [`span_contents`] for BGZF spans.
pub async fn write_payload<W>(data: &dyn Object, plan: &Plan, out: &mut W) -> Result<u64, Error>
where
    W: io::Write,
{
    let mut written = 0;

    for part in plan.parts() {
        match part.content() {
            Content::Span(Span::Bgzf(span)) => {
                for served in span_contents(data, span).await? {
                    written += write_served(data, &served, out).await?;
                }
            }
            Content::Span(Span::Bytes(range)) => {
                written += write_served(data, &Served::Bytes(*range), out).await?;
            }
            Content::Inline(bytes) => {
                out.write_all(bytes).map_err(|e| io_error(e, "output"))?;
                written += bytes.len() as u64;
            }
        }
    }

    Ok(written)
}

/// Writes inline bytes or a byte range of `data`.
async fn write_served<W>(data: &dyn Object, served: &Served, out: &mut W) -> Result<u64, Error>
where
    W: io::Write,
{
    match served {
        Served::Inline(bytes) => {
            out.write_all(bytes).map_err(|e| io_error(e, "output"))?;
            Ok(bytes.len() as u64)
        }
        Served::Bytes(range) => {
            let mut offset = range.start();

            while offset < range.end() {
                let len = (range.end() - offset).min(PAYLOAD_CHUNK as u64) as usize;
                let bytes = data
                    .read(offset, len)
                    .await
                    .map_err(|e| io_error(e, "data file"))?;

                if bytes.len() != len {
                    return Err(Error::Io {
                        what: "data file",
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file is shorter than its plan",
                        ),
                    });
                }

                out.write_all(&bytes).map_err(|e| io_error(e, "output"))?;
                offset += len as u64;
            }

            Ok(range.len())
        }
    }
}
