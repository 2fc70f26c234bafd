//! BGZF blocks: reading one, writing bytes as new blocks, and cutting spans out of them.

mod cut;

pub(crate) use self::cut::{Blocks, cut};
pub(crate) use crate::eof::BGZF_EOF;

use std::io::{self, BufRead, Write};

use noodles::bgzf;

/// The largest a BGZF block can be, compressed (BSIZE is 16 bits).
pub(crate) const MAX_BLOCK_SIZE: usize = 1 << 16;

/// One BGZF block, decompressed.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct DecodedBlock {
    size: u64,
    data: Vec<u8>,
}

impl DecodedBlock {
    /// Decodes the BGZF block at the start of `src`. Bytes after the block are ignored, so
    /// `src` may be a read of [`MAX_BLOCK_SIZE`] bytes at the block's offset.
    pub(crate) fn decode(src: &[u8]) -> io::Result<Self> {
        // A reader skips empty blocks rather than reporting them: answer those first.
        if src.starts_with(&BGZF_EOF) {
            return Ok(Self {
                size: BGZF_EOF.len() as u64,
                data: Vec::new(),
            });
        }

        let mut reader = bgzf::io::Reader::new(src);
        let data = reader.fill_buf()?.to_vec();
        reader.consume(data.len());

        if data.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "empty BGZF block of unexpected form",
            ));
        }

        // An exhausted block reports the next block's offset: the block's size.
        let size = reader.virtual_position().compressed();
        Ok(Self { size, data })
    }

    /// No block: what lies past the end of a file (size 0, no data).
    pub(crate) fn empty() -> Self {
        Self {
            size: 0,
            data: Vec::new(),
        }
    }

    /// The block's compressed size in bytes, header and trailer included.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The block's decompressed data.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }
}

/// Compresses `data` into BGZF blocks (as many as it needs), without an end-of-file block.
///
/// Uses the fastest deflate level: these pieces are made per query, and level 1 costs a third
/// of the default's time for a few percent more bytes.
pub(crate) fn encode(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut writer = bgzf::io::writer::Builder::default()
        .set_compression_level(bgzf::io::writer::CompressionLevel::FAST)
        .build_from_writer(Vec::new());
    writer.write_all(data)?;
    writer.flush()?;
    let blocks = writer.get_ref().clone();
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_decode_with_eof_and_encoded_block() {
        let block = DecodedBlock::decode(&BGZF_EOF).unwrap();
        assert_eq!(block.size(), 28);
        assert!(block.data().is_empty());
        let bytes = encode(b"ACGT").unwrap();
        assert_eq!(DecodedBlock::decode(&bytes).unwrap().data(), b"ACGT");
    }

    #[test]
    fn test_encode_with_empty_data() {
        assert!(encode(b"").unwrap().is_empty());
    }

    #[test]
    fn test_decode_with_trailing_bytes() {
        let mut src = encode(b"hello").unwrap();
        let size = src.len() as u64;
        src.extend_from_slice(&BGZF_EOF);
        let block = DecodedBlock::decode(&src).unwrap();
        assert_eq!(block.size(), size);
        assert_eq!(block.data(), b"hello");
    }

    #[test]
    fn test_decode_with_truncated_block() {
        let src = encode(b"hello").unwrap();
        assert!(DecodedBlock::decode(&src[..src.len() - 1]).is_err());
    }
}
