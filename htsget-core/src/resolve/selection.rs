//! What a query selects, before boundary blocks are read: spans of the file.

use std::collections::HashMap;

use noodles::bgzf::VirtualPosition;

use super::block::{DecodedBlock, encode};
use crate::{
    Error, Format,
    plan::{BgzfSpan, BlockClass, ByteRange, Plan, Source},
};

/// A stretch of a file, start inclusive and end exclusive.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Span {
    /// From one BGZF virtual position to another. Either end may fall inside a block; the
    /// partial block is then re-encoded so the payload cuts exactly at record boundaries.
    Bgzf {
        /// The first byte (inclusive).
        start: VirtualPosition,
        /// One past the last byte (exclusive).
        end: VirtualPosition,
    },
    /// Whole bytes of the file (CRAM containers).
    Bytes(ByteRange),
}

/// The blocks of a file that a [`Selection`] cuts inside, decoded, by compressed offset.
pub type BoundaryBlocks = HashMap<u64, DecodedBlock>;

/// What a query selects from a file: the header span, the body spans in file order, and the
/// end-of-file marker.
///
/// Made by [`crate::resolve()`] from facts alone; turned into a [`Plan`] by
/// [`Selection::layout`] once the blocks it cuts inside ([`Selection::boundary_blocks`]) have
/// been read.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Selection {
    format: Format,
    header: Span,
    body: Vec<Span>,
    eof: Vec<u8>,
}

impl Selection {
    pub(crate) fn new(format: Format, header: Span, body: Vec<Span>, eof: Vec<u8>) -> Self {
        Self {
            format,
            header,
            body,
            eof,
        }
    }

    /// The format of the file.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The header span.
    pub fn header(&self) -> &Span {
        &self.header
    }

    /// The body spans, merged, in file order.
    pub fn body(&self) -> &[Span] {
        &self.body
    }

    /// The end-of-file marker that ends the payload.
    pub fn eof(&self) -> &[u8] {
        &self.eof
    }

    /// The compressed offsets of the BGZF blocks that the spans start or end inside, sorted
    /// and without duplicates. Read and decode these, then call [`Selection::layout`].
    pub fn boundary_blocks(&self) -> Vec<u64> {
        let mut offsets: Vec<u64> = self
            .spans()
            .flat_map(|(_, span)| match *span {
                Span::Bgzf { start, end } => cut_blocks(start, end),
                Span::Bytes(_) => Vec::new(),
            })
            .collect();

        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }

    /// The plan: file ranges for whole blocks and containers, re-encoded data for the parts of
    /// boundary blocks that belong to a span, then the end-of-file marker.
    ///
    /// `blocks` must hold every offset [`Selection::boundary_blocks`] lists.
    pub fn layout(&self, blocks: &BoundaryBlocks) -> Result<Plan, Error> {
        let mut plan = Plan::new();

        for (class, span) in self.spans() {
            match *span {
                Span::Bytes(range) => plan.push(class, Source::Range(range)),
                Span::Bgzf { start, end } => {
                    for source in cut(start, end, blocks)? {
                        plan.push(class, source);
                    }
                }
            }
        }

        plan.push(BlockClass::Body, Source::Inline(self.eof.clone()));

        Ok(plan)
    }

    /// The plan without reading anything: spans that start and end on block boundaries become
    /// file ranges, the others [`Source::Bgzf`] spans whose cut blocks are re-encoded when
    /// fetched ([`crate::load::span_parts`]). This keeps ticket making free of I/O.
    pub fn layout_deferred(&self) -> Plan {
        let mut plan = Plan::new();

        for (class, span) in self.spans() {
            match *span {
                Span::Bytes(range) => plan.push(class, Source::Range(range)),
                Span::Bgzf { start, end } if start >= end => {}
                Span::Bgzf { start, end }
                    if start.uncompressed() == 0 && end.uncompressed() == 0 =>
                {
                    plan.push(
                        class,
                        Source::Range(ByteRange::new(start.compressed(), end.compressed())),
                    );
                }
                Span::Bgzf { start, end } => {
                    plan.push(class, Source::Bgzf(BgzfSpan::new(start, end)))
                }
            }
        }

        plan.push(BlockClass::Body, Source::Inline(self.eof.clone()));
        plan
    }

    fn spans(&self) -> impl Iterator<Item = (BlockClass, &Span)> {
        std::iter::once((BlockClass::Header, &self.header))
            .chain(self.body.iter().map(|span| (BlockClass::Body, span)))
    }
}

/// The bytes of the BGZF span `start..end`: the part of its first block from `start` on and
/// the part of its last block up to `end`, re-encoded, around a file range of the whole blocks
/// between. `blocks` must hold the blocks that `start` and `end` fall inside (those with a
/// non-zero uncompressed offset).
///
/// # Examples
///
/// ```
/// use htsget_core::{Source, resolve::{cut, encode, BoundaryBlocks, DecodedBlock}};
/// use noodles::bgzf::VirtualPosition;
///
/// let block = encode(b"HEADERrecord1record2")?;
/// let blocks: BoundaryBlocks = [(0, DecodedBlock::decode(&block)?)].into();
/// let start = VirtualPosition::try_from((0, 6))?;
/// let end = VirtualPosition::try_from((0, 13))?;
/// let pieces = cut(start, end, &blocks)?;
/// let Source::Inline(bytes) = &pieces[0] else { unreachable!() };
/// assert_eq!(DecodedBlock::decode(bytes)?.data(), b"record1");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn cut(
    start: VirtualPosition,
    end: VirtualPosition,
    blocks: &BoundaryBlocks,
) -> Result<Vec<Source>, Error> {
    let mut pieces = Vec::with_capacity(3);

    if start >= end {
        return Ok(pieces);
    }

    let block = |offset: u64| {
        blocks.get(&offset).ok_or_else(|| Error::InvalidData {
            what: "BGZF block",
            source: std::io::Error::other(format!("boundary block {offset} was not read")),
        })
    };

    let inline = |data: &[u8]| -> Result<Source, Error> {
        encode(data)
            .map(Source::Inline)
            .map_err(|source| Error::InvalidData {
                what: "BGZF block",
                source,
            })
    };

    let (sc, su) = (start.compressed(), usize::from(start.uncompressed()));
    let (ec, eu) = (end.compressed(), usize::from(end.uncompressed()));

    if sc == ec {
        pieces.push(inline(slice(block(sc)?, su, eu)?)?);
        return Ok(pieces);
    }

    let range_start = if su == 0 {
        sc
    } else {
        let first = block(sc)?;
        pieces.push(inline(slice(first, su, usize::MAX)?)?);
        sc + first.size()
    };

    if range_start < ec {
        pieces.push(Source::Range(ByteRange::new(range_start, ec)));
    }

    if eu > 0 {
        let last = block(ec)?;
        if eu >= last.data().len() {
            pieces.push(Source::Range(ByteRange::new(ec, ec + last.size())));
        } else {
            pieces.push(inline(slice(last, 0, eu)?)?);
        }
    }

    Ok(pieces)
}

/// The compressed offsets of the blocks that `start..end` cuts inside.
pub(crate) fn cut_blocks(start: VirtualPosition, end: VirtualPosition) -> Vec<u64> {
    if start >= end {
        return Vec::new();
    }
    let mut offsets: Vec<u64> = [start, end]
        .into_iter()
        .filter(|p| p.uncompressed() > 0)
        .map(|p| p.compressed())
        .collect();
    offsets.dedup();
    offsets
}

fn slice(block: &DecodedBlock, from: usize, to: usize) -> Result<&[u8], Error> {
    let data = block.data();
    data.get(from..to.min(data.len()))
        .ok_or_else(|| invalid_position(from, data.len()))
}

fn invalid_position(position: usize, len: usize) -> Error {
    Error::InvalidData {
        what: "index",
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("virtual position {position} is past the end of its {len}-byte block"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{BGZF_EOF, DecodedBlock};

    fn vp(c: u64, u: u16) -> VirtualPosition {
        VirtualPosition::try_from((c, u)).unwrap()
    }

    fn decode_all(plan: &Plan, file: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for block in plan.blocks() {
            match block.source() {
                Source::Range(r) => {
                    bytes.extend_from_slice(&file[r.start() as usize..r.end() as usize])
                }
                Source::Inline(d) => bytes.extend_from_slice(d),
                Source::Bgzf(_) => unreachable!("layout makes no deferred span"),
            }
        }
        let mut reader = noodles::bgzf::io::Reader::new(&bytes[..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut out).unwrap();
        out
    }

    #[test]
    fn test_layout_with_spans_cutting_inside_blocks() {
        // Three blocks: "header|r1" "r2r3" "r4".
        let b0 = encode(b"HHHHr1").unwrap();
        let b1 = encode(b"r2r3").unwrap();
        let b2 = encode(b"r4").unwrap();
        let file = [b0.clone(), b1.clone(), b2.clone(), BGZF_EOF.to_vec()].concat();
        let (o1, o2) = (b0.len() as u64, (b0.len() + b1.len()) as u64);

        let selection = Selection::new(
            Format::Bam,
            Span::Bgzf {
                start: vp(0, 0),
                end: vp(0, 4),
            },
            vec![Span::Bgzf {
                start: vp(o1, 2),
                end: vp(o2, 2),
            }],
            BGZF_EOF.to_vec(),
        );
        assert_eq!(selection.boundary_blocks(), vec![0, o1, o2]);

        let blocks: BoundaryBlocks = selection
            .boundary_blocks()
            .into_iter()
            .map(|o| (o, DecodedBlock::decode(&file[o as usize..]).unwrap()))
            .collect();
        let plan = selection.layout(&blocks).unwrap();
        assert_eq!(decode_all(&plan, &file), b"HHHHr3r4");
    }

    #[test]
    fn test_layout_with_span_inside_one_block() {
        let b0 = encode(b"HHr1r2r3").unwrap();
        let file = [b0, BGZF_EOF.to_vec()].concat();
        let selection = Selection::new(
            Format::Bam,
            Span::Bgzf {
                start: vp(0, 0),
                end: vp(0, 2),
            },
            vec![Span::Bgzf {
                start: vp(0, 4),
                end: vp(0, 6),
            }],
            BGZF_EOF.to_vec(),
        );
        let blocks: BoundaryBlocks = [(0, DecodedBlock::decode(&file).unwrap())].into();
        let plan = selection.layout(&blocks).unwrap();
        assert_eq!(decode_all(&plan, &file), b"HHr2");
    }

    #[test]
    fn test_layout_with_missing_boundary_block() {
        let selection = Selection::new(
            Format::Bam,
            Span::Bgzf {
                start: vp(0, 0),
                end: vp(0, 2),
            },
            Vec::new(),
            BGZF_EOF.to_vec(),
        );
        assert!(selection.layout(&BoundaryBlocks::new()).is_err());
    }
}
