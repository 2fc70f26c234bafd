//! What the resolver needs to know about a file, gathered once and reused for every query.
//!
//! [`FileFacts`] holds the parsed index, where the header ends, where the records end, and the
//! reference names. It is built by the I/O layer ([`crate::load`]) or by hand, and is cheap to
//! share: a server caches one per file.

mod aliases;
mod index;
mod references;

pub use self::{
    aliases::{Aliases, AmbiguousAlias},
    index::{BinningIndex, IndexKind},
    references::{ReferenceLookup, References},
};

use noodles::{bgzf, cram::crai};

use crate::Format;

/// The facts about one BGZF-compressed file (BAM, VCF.gz, BCF).
#[derive(Debug)]
pub struct BgzfFacts {
    index: BinningIndex,
    header_end: bgzf::VirtualPosition,
    data_end: u64,
}

impl BgzfFacts {
    /// Facts from a parsed index, the virtual position just after the header (the first
    /// record's position), and the compressed offset where record data ends (the file size
    /// less a trailing BGZF end-of-file block, if any).
    pub fn new(index: BinningIndex, header_end: bgzf::VirtualPosition, data_end: u64) -> Self {
        Self {
            index,
            header_end,
            data_end,
        }
    }

    /// The parsed index.
    pub fn index(&self) -> &BinningIndex {
        &self.index
    }

    /// The virtual position just after the header.
    pub fn header_end(&self) -> bgzf::VirtualPosition {
        self.header_end
    }

    /// The compressed offset where record data ends (exclusive).
    pub fn data_end(&self) -> u64 {
        self.data_end
    }
}

/// The facts about one CRAM file.
#[derive(Debug)]
pub struct CramFacts {
    index: crai::Index,
    header_end: u64,
    data_end: u64,
    eof: Vec<u8>,
}

impl CramFacts {
    /// Facts from a parsed CRAI index, the byte offset of the first data container, the byte
    /// offset where data containers end (the EOF container's offset, or the file size), and the
    /// EOF container to append to every payload.
    pub fn new(index: crai::Index, header_end: u64, data_end: u64, eof: Vec<u8>) -> Self {
        Self {
            index,
            header_end,
            data_end,
            eof,
        }
    }

    /// The CRAI records.
    pub fn index(&self) -> &crai::Index {
        &self.index
    }

    /// The byte offset of the first data container.
    pub fn header_end(&self) -> u64 {
        self.header_end
    }

    /// The byte offset where data containers end (exclusive).
    pub fn data_end(&self) -> u64 {
        self.data_end
    }

    /// The EOF container for this file's CRAM version.
    pub fn eof(&self) -> &[u8] {
        &self.eof
    }
}

/// How a file is laid out: BGZF blocks or CRAM containers.
#[derive(Debug)]
pub enum Layout {
    /// BAM, VCF.gz or BCF.
    Bgzf(BgzfFacts),
    /// CRAM.
    Cram(CramFacts),
}

/// Everything the resolver needs to know about one file.
#[derive(Debug)]
pub struct FileFacts {
    format: Format,
    size: u64,
    references: References,
    layout: Layout,
}

impl FileFacts {
    /// Facts for a file of `format` and `size` bytes.
    pub fn new(format: Format, size: u64, references: References, layout: Layout) -> Self {
        Self {
            format,
            size,
            references,
            layout,
        }
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The reference names the file knows.
    pub fn references(&self) -> &References {
        &self.references
    }

    /// The container layout and index.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}
