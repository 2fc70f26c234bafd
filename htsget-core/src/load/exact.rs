//! Exact payloads: the records that overlap a query's regions and no other, for callers that
//! must not hand out more than was asked (a grant restricted to a region).
//!
//! An index cuts a payload at chunk granularity: the records before a region's start in its
//! first chunks, the far-away single-block chunks of coarse bins, and the records after the
//! region's end up to a chunk's end come along. In a coordinate-sorted file only the records
//! that start before the region can fail the overlap test among those that start before its
//! end, so per region:
//!
//! - the **head**: the records in the region's chunks up to the first one starting at or past
//!   the region's start are decoded, and those overlapping the region kept (re-encoded inline);
//! - the **middle**: from that record to the first one starting at or past the region's end,
//!   every record overlaps; it is served as a BGZF span, its ends cut at those records. Its end
//!   is found by decoding from the smallest offset the index gives for the region's end
//!   window (every record before it starts before that window), not from the region's start;
//! - everything after is left out.
//!
//! Regions are merged per reference first; a record kept for one region is never repeated for
//! another. Overlap is samtools' and bcftools': a read covers its alignment (an unmapped read
//! placed at a position, and a read without a CIGAR, cover that one base); a variant covers
//! `POS` to its end (`END`, or the reference allele's length, as noodles reads it; BCF's
//! `rlen`).

mod cram;

use std::io;

pub use self::cram::ReferenceSequences;

use noodles::{bam, bcf, bgzf::VirtualPosition, sam, vcf};

use super::{invalid, io_error};
use crate::{
    Content, Error, Format, Plan, Section, Span,
    bgzf::{DecodedBlock, MAX_BLOCK_SIZE, encode},
    facts::{Aliases, BgzfFacts, FileFacts, Layout},
    query::{Class, Query},
    resolve::{Target, targets},
    resolve_with,
    storage::Object,
};

/// The longest record read, in bytes (a larger length field is a malformed file).
const MAX_RECORD: usize = 64 << 20;

/// The payload of `query` on the opened file `data` with exactly the records that overlap its
/// regions, as a plan: the header, the kept records of each region's head inline, each
/// region's middle as a [`Span::Bgzf`], the end-of-file marker. Reads the blocks of each
/// region's head and of the end of its middle (cache the plan per file version and query).
///
/// Header-only queries, whole-file queries and unplaced reads (`*`) are exact as
/// [`resolve_with`] gives them. CRAM is cut as [`exact_with`] does without reference
/// sequences: `Ok(None)` where a container would need re-encoding.
///
/// # Errors
///
/// As [`resolve_with`]; [`Error::InvalidData`] or [`Error::Io`] if the records cannot be read.
pub async fn exact(
    data: &dyn Object,
    facts: &FileFacts,
    query: &Query,
    aliases: &Aliases,
) -> Result<Option<Plan>, Error> {
    exact_with(data, facts, query, aliases, None).await
}

/// [`exact`], with the reference sequences CRAM records are re-encoded against. A CRAM
/// container whose slices all lie inside the regions (by the CRAI) is served whole; every other
/// selected container is decoded and its overlapping records re-encoded inline (noodles' CRAM
/// writer, CRAM 3.0) against the sequences `references` gives for the `M5` of the header's
/// `@SQ` lines. `Ok(None)` where such a container names a reference whose bases cannot be had:
/// the payload cannot be cut exactly.
///
/// # Errors
///
/// As [`exact`]; [`Error::InvalidData`] for a container that cannot be decoded or re-encoded.
pub async fn exact_with(
    data: &dyn Object,
    facts: &FileFacts,
    query: &Query,
    aliases: &Aliases,
    references: Option<&dyn ReferenceSequences>,
) -> Result<Option<Plan>, Error> {
    let plan = resolve_with(query, facts, aliases)?;
    if query.class() == Class::Header {
        return Ok(Some(plan));
    }
    let targets = targets(query, facts, aliases)?;
    if targets.contains(&Target::All) {
        return Ok(Some(plan));
    }
    let layout = match facts.layout() {
        Layout::Bgzf(layout) => layout,
        Layout::Cram(layout) => {
            let intervals = intervals(&targets);
            let regions = cram::Regions {
                intervals: &intervals,
                unplaced: targets.contains(&Target::Unplaced),
            };
            let Some(body) = cram::body(data, layout, &regions, references).await? else {
                return Ok(None);
            };
            return Ok(Some(assemble(&plan, &body)));
        }
    };

    let header = match facts.format() {
        Format::Vcf => Some(vcf_header(data, layout.header_end()).await?),
        _ => None,
    };
    let mut records = Records::new(data, facts.format(), header);
    let mut body = Plan::new();
    let mut cursor = layout.header_end();
    for (id, start, end) in intervals(&targets) {
        cursor = region(&mut records, layout, (id, start, end), cursor, &mut body).await?;
    }
    if targets.contains(&Target::Unplaced) {
        // Unplaced reads sit after every placed one; their span is exact as resolved.
        let from = layout.index().placed_end().unwrap_or(cursor).max(cursor);
        let end =
            VirtualPosition::try_from((layout.data_end(), 0)).map_err(|_| Error::InvalidData {
                what: "data file",
                source: io::Error::other("file too large for BGZF virtual positions"),
            })?;
        if let Some(span) = Span::bgzf(from, end) {
            body.push(Section::Body, Content::Span(span));
        }
    }

    Ok(Some(assemble(&plan, &body)))
}

/// The header parts of `plan`, then `body`, then `plan`'s end-of-file marker.
fn assemble(plan: &Plan, body: &Plan) -> Plan {
    let mut exact = Plan::new();
    for part in plan
        .parts()
        .iter()
        .filter(|p| p.section() == Section::Header)
    {
        exact.push(Section::Header, part.content().clone());
    }
    for part in body.parts() {
        exact.push(Section::Body, part.content().clone());
    }
    if let Some(eof) = plan.parts().last() {
        exact.push(eof.section(), eof.content().clone());
    }
    exact
}

/// The named regions of `targets`, merged per reference where they overlap or touch, sorted by
/// reference id then start (file order in a sorted file): `(id, start, end)`, 0-based, end
/// exclusive, `None` to the reference's end.
fn intervals(targets: &[Target]) -> Vec<(usize, u32, Option<u32>)> {
    let mut all: Vec<(usize, u32, Option<u32>)> = targets
        .iter()
        .filter_map(|target| match target {
            Target::Reference { id, interval } => {
                Some((*id, interval.start().unwrap_or(0), interval.end()))
            }
            _ => None,
        })
        .filter(|(_, start, end)| end.is_none_or(|end| *start < end))
        .collect();
    all.sort_unstable_by_key(|(id, start, _)| (*id, *start));
    let mut merged: Vec<(usize, u32, Option<u32>)> = Vec::with_capacity(all.len());
    for (id, start, end) in all {
        match merged.last_mut() {
            Some((last_id, _, last_end))
                if *last_id == id && last_end.is_none_or(|last| start <= last) =>
            {
                *last_end = match (*last_end, end) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push((id, start, end)),
        }
    }
    merged
}

/// Adds the records of reference `id` overlapping `start..end` that lie at or after `cursor`
/// (a record boundary) to `body`; gives the new cursor.
async fn region(
    records: &mut Records<'_>,
    layout: &BgzfFacts,
    (id, start, end): (usize, u32, Option<u32>),
    mut cursor: VirtualPosition,
    body: &mut Plan,
) -> Result<VirtualPosition, Error> {
    let index = layout.index();
    let data_end = VirtualPosition::try_from((layout.data_end(), 0)).unwrap_or(cursor);
    let chunks: Vec<_> = index
        .query(id, Some(start), end)
        .map_err(|source| invalid(source, "index"))?
        .into_iter()
        .map(|chunk| {
            (
                chunk.start().max(layout.header_end()),
                chunk.end().min(data_end),
            )
        })
        .filter(|(from, to)| from < to)
        .collect();
    let Some(&(_, limit)) = chunks.last() else {
        return Ok(cursor);
    };
    let (start, end) = (u64::from(start), end.map(u64::from));

    // The head: records starting before the region, kept where they reach into it.
    let mut kept = Vec::new();
    let mut first = None;
    'head: for &(from, to) in &chunks {
        if to <= cursor {
            continue;
        }
        records.seek(from.max(cursor)).await?;
        while !records.at_or_past(to).await? {
            let Some(record) = records.next().await? else {
                break;
            };
            if record.pos >= start {
                first = Some(record);
                break 'head;
            }
            if record.end > start && record.start >= cursor {
                kept.extend_from_slice(&record.bytes);
                cursor = record.stop;
            }
        }
    }
    if !kept.is_empty() {
        let blocks = encode(&kept).map_err(|e| invalid(e, "BGZF block"))?;
        body.push(Section::Body, Content::Inline(blocks));
    }

    // The middle: every record from the first at or past the start to the first at or past
    // the end.
    let Some(first) = first else {
        return Ok(cursor);
    };
    if end.is_some_and(|end| first.pos >= end) {
        return Ok(cursor);
    }
    let from = first.start.max(cursor);
    let mut stop = limit;
    if let Some(end) = end {
        let mut scan = from;
        let window = u32::try_from(end)
            .ok()
            .and_then(|e| index.min_offset(id, e));
        if let Some(offset) = window.filter(|offset| *offset > scan && *offset < limit) {
            scan = offset;
        }
        records.seek(scan).await?;
        while !records.at_or_past(limit).await? {
            let Some(record) = records.next().await? else {
                break;
            };
            if record.pos >= end {
                stop = record.start;
                break;
            }
        }
    }
    if let Some(span) = Span::bgzf(from, stop) {
        body.push(Section::Body, Content::Span(span));
        cursor = stop;
    }
    Ok(cursor)
}

/// The VCF header of `data`: the text before `header_end`.
async fn vcf_header(data: &dyn Object, header_end: VirtualPosition) -> Result<vcf::Header, Error> {
    let mut records = Records::new(data, Format::Vcf, None);
    records.seek(VirtualPosition::default()).await?;
    let mut text = Vec::new();
    while !records.at_or_past(header_end).await? {
        if !records.take_line(&mut text).await? {
            break;
        }
    }
    vcf::io::Reader::new(&text[..])
        .read_header()
        .map_err(|e| invalid(e, "VCF header"))
}

/// One record: where it starts and where it ends in the file, its bytes, and the 0-based
/// positions it covers (`pos..end`).
#[derive(Debug)]
struct Record {
    start: VirtualPosition,
    stop: VirtualPosition,
    bytes: Vec<u8>,
    pos: u64,
    end: u64,
}

/// The records of a BGZF file, read in order from a virtual position.
struct Records<'a> {
    data: &'a dyn Object,
    format: Format,
    header: Option<vcf::Header>,
    /// The block in hand: its offset and contents.
    block: Option<(u64, DecodedBlock)>,
    /// Where in it the next byte is.
    at: usize,
}

impl<'a> Records<'a> {
    fn new(data: &'a dyn Object, format: Format, header: Option<vcf::Header>) -> Self {
        Self {
            data,
            format,
            header,
            block: None,
            at: 0,
        }
    }

    /// Moves to `position` (a record boundary).
    async fn seek(&mut self, position: VirtualPosition) -> Result<(), Error> {
        let offset = position.compressed();
        if self.block.as_ref().is_none_or(|(at, _)| *at != offset) {
            self.load(offset).await?;
        }
        self.at = usize::from(position.uncompressed());
        Ok(())
    }

    async fn load(&mut self, offset: u64) -> Result<(), Error> {
        let raw = self
            .data
            .read(offset, MAX_BLOCK_SIZE)
            .await
            .map_err(|e| io_error(e, "data file"))?;
        let block = if raw.is_empty() {
            None
        } else {
            Some(DecodedBlock::decode(&raw).map_err(|e| invalid(e, "BGZF block"))?)
        };
        self.block = Some((offset, block.unwrap_or_else(DecodedBlock::empty)));
        self.at = 0;
        Ok(())
    }

    /// Steps past exhausted blocks; `false` at the end of the file.
    async fn fill(&mut self) -> Result<bool, Error> {
        loop {
            let Some((offset, block)) = &self.block else {
                return Ok(false);
            };
            if self.at < block.data().len() {
                return Ok(true);
            }
            // Past the object's end (an empty end-of-file block is stepped over).
            if block.size() == 0 {
                return Ok(false);
            }
            let next = offset + block.size();
            if next >= self.data.size() {
                return Ok(false);
            }
            self.load(next).await?;
        }
    }

    /// The position of the next record (past exhausted blocks), or the end of the file.
    async fn next_start(&mut self) -> Result<Option<VirtualPosition>, Error> {
        if !self.fill().await? {
            return Ok(None);
        }
        Ok(self.position())
    }

    /// Whether the next record starts at or past `end` (or there is none).
    async fn at_or_past(&mut self, end: VirtualPosition) -> Result<bool, Error> {
        if self.position().is_some_and(|p| p >= end) {
            return Ok(true);
        }
        Ok(self.next_start().await?.is_none_or(|p| p >= end))
    }

    fn position(&self) -> Option<VirtualPosition> {
        let (offset, _) = self.block.as_ref()?;
        let at = u16::try_from(self.at).ok()?;
        VirtualPosition::try_from((*offset, at)).ok()
    }

    /// Appends `n` bytes to `out`, across blocks; `false` if the file ends first.
    async fn take(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<bool, Error> {
        while n > 0 {
            if !self.fill().await? {
                return Ok(false);
            }
            let Some((_, block)) = &self.block else {
                return Ok(false);
            };
            let available = &block.data()[self.at..];
            let taken = available.len().min(n);
            out.extend_from_slice(&available[..taken]);
            self.at += taken;
            n -= taken;
        }
        Ok(true)
    }

    /// Appends the bytes up to and including the next newline to `out`; `false` if none is
    /// left.
    async fn take_line(&mut self, out: &mut Vec<u8>) -> Result<bool, Error> {
        let mut any = false;
        loop {
            if !self.fill().await? {
                return Ok(any);
            }
            let Some((_, block)) = &self.block else {
                return Ok(any);
            };
            let available = &block.data()[self.at..];
            any = true;
            match available.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&available[..=i]);
                    self.at += i + 1;
                    return Ok(true);
                }
                None => {
                    out.extend_from_slice(available);
                    self.at += available.len();
                }
            }
            if out.len() > MAX_RECORD {
                return Err(too_long());
            }
        }
    }

    /// The next record, or `None` at the end of the file.
    async fn next(&mut self) -> Result<Option<Record>, Error> {
        let Some(start) = self.next_start().await? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        let whole = match self.format {
            Format::Bam => self.framed(4, &mut bytes).await?,
            Format::Bcf => self.framed(8, &mut bytes).await?,
            _ => self.take_line(&mut bytes).await?,
        };
        if !whole {
            return Err(invalid(
                io::Error::new(io::ErrorKind::UnexpectedEof, "a record is cut short"),
                "data file",
            ));
        }
        let stop = self.position().unwrap_or(start);
        let (pos, end) =
            extent(self.format, &bytes, self.header.as_ref()).map_err(|e| invalid(e, "record"))?;
        Ok(Some(Record {
            start,
            stop,
            bytes,
            pos,
            end,
        }))
    }

    /// A record framed by `prefix` bytes of little-endian `u32` lengths (BAM: one, the block
    /// size; BCF: two, the shared and individual lengths).
    async fn framed(&mut self, prefix: usize, bytes: &mut Vec<u8>) -> Result<bool, Error> {
        if !self.take(prefix, bytes).await? {
            return Ok(false);
        }
        let len: usize = bytes
            .chunks_exact(4)
            .map(|n| u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize)
            .sum();
        if len > MAX_RECORD {
            return Err(too_long());
        }
        self.take(len, bytes).await
    }
}

fn too_long() -> Error {
    invalid(
        io::Error::new(io::ErrorKind::InvalidData, "a record longer than allowed"),
        "data file",
    )
}

/// The 0-based positions `pos..end` a record covers, as samtools and bcftools test overlap;
/// a record without a position covers nothing at `u64::MAX`.
fn extent(format: Format, bytes: &[u8], header: Option<&vcf::Header>) -> io::Result<(u64, u64)> {
    let unplaced = (u64::MAX, u64::MAX);
    let zero_based = |start: noodles::core::Position| usize::from(start) as u64 - 1;
    match format {
        Format::Bam => {
            let mut record = bam::Record::default();
            bam::io::Reader::from(bytes).read_record(&mut record)?;
            let Some(start) = record.alignment_start().transpose()? else {
                return Ok(unplaced);
            };
            let pos = zero_based(start);
            let span = if record.flags().is_unmapped() {
                0
            } else {
                sam::alignment::Record::alignment_span(&record)
                    .transpose()?
                    .unwrap_or(0)
            };
            Ok((pos, pos + span.max(1) as u64))
        }
        Format::Bcf => {
            let mut record = bcf::Record::default();
            bcf::io::Reader::from(bytes).read_record(&mut record)?;
            let Some(start) = record.variant_start().transpose()? else {
                return Ok(unplaced);
            };
            let end = record.end()?;
            Ok((zero_based(start), usize::from(end) as u64))
        }
        _ => {
            let header = header.ok_or_else(|| io::Error::other("no VCF header"))?;
            let mut record = vcf::Record::default();
            vcf::io::Reader::new(bytes).read_record(&mut record)?;
            let Some(start) = record.variant_start().transpose()? else {
                return Ok(unplaced);
            };
            let end = vcf::variant::Record::variant_end(&record, header)?;
            Ok((zero_based(start), usize::from(end) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Interval;

    fn reference(id: usize, start: Option<u32>, end: Option<u32>) -> Target {
        Target::Reference {
            id,
            interval: Interval::new(start, end).unwrap(),
        }
    }

    #[test]
    fn test_intervals_merge_overlapping_and_touching_regions() {
        let targets = [
            reference(1, Some(50), Some(60)),
            reference(0, Some(30), Some(40)),
            reference(0, Some(10), Some(20)),
            reference(0, Some(20), Some(25)),
            reference(0, Some(35), None),
            reference(1, Some(5), Some(5)),
            Target::Nothing,
        ];
        assert_eq!(
            intervals(&targets),
            [(0, 10, Some(25)), (0, 30, None), (1, 50, Some(60))]
        );
    }
}
