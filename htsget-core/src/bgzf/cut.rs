//! Cutting a BGZF span out of its blocks, so a payload starts and ends exactly at record
//! boundaries.

use std::collections::HashMap;

use super::{DecodedBlock, encode};
use crate::{BgzfSpan, ByteRange, Error, Served};

/// Decoded BGZF blocks of a file, by compressed offset.
pub(crate) type Blocks = HashMap<u64, DecodedBlock>;

/// The bytes of `span`: the part of its first block from its start on and the part of its last
/// block up to its end, re-encoded, around a byte range of the whole blocks between. `blocks`
/// must hold the blocks [`BgzfSpan::cut_blocks`] names.
pub(crate) fn cut(span: &BgzfSpan, blocks: &Blocks) -> Result<Vec<Served>, Error> {
    let (start, end) = (span.start(), span.end());
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

    let inline = |data: &[u8]| -> Result<Served, Error> {
        encode(data)
            .map(Served::Inline)
            .map_err(|source| Error::InvalidData {
                what: "BGZF block",
                source,
            })
    };
    let bytes = |start, end| Served::Bytes(ByteRange::new(start, end));

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
        pieces.push(bytes(range_start, ec));
    }

    if eu > 0 {
        let last = block(ec)?;
        if eu >= last.data().len() {
            pieces.push(bytes(ec, ec + last.size()));
        } else {
            pieces.push(inline(slice(last, 0, eu)?)?);
        }
    }

    Ok(pieces)
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
    use noodles::bgzf::VirtualPosition;

    use super::*;
    use crate::bgzf::BGZF_EOF;

    fn vp(c: u64, u: u16) -> VirtualPosition {
        VirtualPosition::try_from((c, u)).unwrap()
    }

    /// Decodes what `pieces` of `file` hold.
    fn decode_all(pieces: &[Served], file: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for piece in pieces {
            match piece {
                Served::Bytes(r) => {
                    bytes.extend_from_slice(&file[r.start() as usize..r.end() as usize])
                }
                Served::Inline(d) => bytes.extend_from_slice(d),
            }
        }
        let mut reader = noodles::bgzf::io::Reader::new(&bytes[..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut out).unwrap();
        out
    }

    fn blocks_of(file: &[u8], offsets: &[u64]) -> Blocks {
        offsets
            .iter()
            .map(|&o| (o, DecodedBlock::decode(&file[o as usize..]).unwrap()))
            .collect()
    }

    #[test]
    fn test_cut_with_span_inside_one_block() {
        let block = encode(b"HEADERrecord1record2").unwrap();
        let span = BgzfSpan::new(vp(0, 6), vp(0, 13));
        let pieces = cut(&span, &blocks_of(&block, &[0])).unwrap();
        assert_eq!(decode_all(&pieces, &block), b"record1");
    }

    #[test]
    fn test_cut_with_ends_inside_blocks() {
        // Three blocks: "HHHHr1" "r2r3" "r4".
        let b0 = encode(b"HHHHr1").unwrap();
        let b1 = encode(b"r2r3").unwrap();
        let b2 = encode(b"r4").unwrap();
        let file = [b0.clone(), b1.clone(), b2, BGZF_EOF.to_vec()].concat();
        let (o1, o2) = (b0.len() as u64, (b0.len() + b1.len()) as u64);

        let span = BgzfSpan::new(vp(o1, 2), vp(o2, 2));
        assert_eq!(span.cut_blocks(), vec![o1, o2]);
        let pieces = cut(&span, &blocks_of(&file, &span.cut_blocks())).unwrap();
        assert_eq!(decode_all(&pieces, &file), b"r3r4");

        let header = BgzfSpan::new(vp(0, 0), vp(0, 4));
        let pieces = cut(&header, &blocks_of(&file, &header.cut_blocks())).unwrap();
        assert_eq!(decode_all(&pieces, &file), b"HHHH");
    }

    #[test]
    fn test_cut_with_missing_block() {
        let span = BgzfSpan::new(vp(0, 0), vp(0, 2));
        assert!(cut(&span, &Blocks::new()).is_err());
    }
}
