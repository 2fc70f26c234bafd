//! BGZF block layouts: where a generated file's blocks end, and the writer that ends them there.

use std::io::{self, Write};

use noodles::bgzf::{
    self, VirtualPosition,
    io::writer::{Builder, CompressionLevel},
};
use proptest::prelude::*;

/// How a file is cut into BGZF blocks: the compression level, the sizes of the first blocks,
/// then the size of every later one (`None`: as large as the writer makes them). Sizes are of
/// uncompressed data, cut wherever they fall, inside records or lines, as bgzip cuts.
#[derive(Clone, Debug)]
pub(crate) struct BlockLayout {
    pub(crate) level: u8,
    pub(crate) first: Vec<u32>,
    pub(crate) then: Option<u32>,
}

pub(crate) fn block_layout() -> impl Strategy<Value = BlockLayout> {
    let size = prop_oneof![1u32..64, 64u32..4_096, 4_096u32..70_000];

    (
        0u8..=9,
        prop::collection::vec(size, 0..16),
        prop::option::of(prop_oneof![200u32..2_000, 2_000u32..70_000]),
    )
        .prop_map(|(level, first, then)| BlockLayout { level, first, then })
}

/// A BGZF writer that also ends blocks where a [`BlockLayout`] says.
pub(crate) struct Blocked<W: Write> {
    inner: bgzf::io::Writer<W>,
    first: std::vec::IntoIter<u32>,
    then: Option<u32>,
    /// Bytes left before the current block ends; `None` when it ends only when full.
    left: Option<usize>,
}

impl<W: Write> Blocked<W> {
    pub(crate) fn new(inner: W, layout: &BlockLayout) -> Self {
        let level = CompressionLevel::new(layout.level).expect("compression level");
        let mut blocked = Self {
            inner: Builder::default()
                .set_compression_level(level)
                .build_from_writer(inner),
            first: layout.first.clone().into_iter(),
            then: layout.then,
            left: None,
        };
        blocked.left = blocked.next_size();
        blocked
    }

    fn next_size(&mut self) -> Option<usize> {
        self.first.next().or(self.then).map(|n| n as usize)
    }

    pub(crate) fn virtual_position(&self) -> VirtualPosition {
        self.inner.virtual_position()
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        self.inner.finish()
    }
}

impl<W: Write> Write for Blocked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.left.map_or(buf.len(), |left| left.min(buf.len()));
        self.inner.write_all(&buf[..n])?;

        if let Some(left) = &mut self.left {
            *left -= n;
            if *left == 0 {
                self.inner.flush()?;
                self.left = self.next_size();
            }
        }

        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
