//! The BAM file and its BAI.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

use noodles::{
    bam,
    sam::{
        self,
        alignment::{RecordBuf, io::Write as _},
    },
};

use super::with_extension;

/// Writes the BAM file and its BAI (built by noodles).
pub(super) fn write_bam(path: &Path, header: &sam::Header, reads: &[RecordBuf]) -> io::Result<()> {
    let mut writer = bam::io::Writer::new(BufWriter::new(File::create(path)?));
    writer.write_header(header)?;
    for read in reads {
        writer.write_alignment_record(header, read)?;
    }
    writer.try_finish()?;
    writer.into_inner().into_inner().flush()?;

    match bam::fs::index(path)? {
        bam::Index::Bai(index) => bam::bai::fs::write(with_extension(path, "bai"), &index),
        bam::Index::Csi(_) => Err(io::Error::other("noodles built a CSI, not a BAI")),
    }
}
