//! Header facts, parsed from a prefix of the data file.
//!
//! Each parser returns [`io::ErrorKind::UnexpectedEof`] when the prefix is too short to hold the
//! whole header, so the caller can read more and try again.

use std::io::{self, Read};

use noodles::{bam, bcf, bgzf, cram, vcf};

use crate::facts::References;

/// Reference names and where the header ends, for a BGZF file.
#[derive(Debug)]
pub(super) struct BgzfHeader {
    pub(super) references: References,
    pub(super) end: bgzf::VirtualPosition,
}

fn need_more() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "header extends past the prefix",
    )
}

/// BAM: names from the binary reference list, as htslib reads them (the SAM text is skipped).
pub(super) fn bam(prefix: &[u8]) -> io::Result<BgzfHeader> {
    let mut reader = bam::io::Reader::new(prefix);

    let references = {
        let mut header_reader = reader.header_reader();

        if &header_reader.read_magic_number()? != b"BAM\x01" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not a BAM file"));
        }

        header_reader.raw_sam_header_reader()?.discard_to_end()?;

        let list = header_reader.read_reference_sequences()?;
        References::from_ordered(list.keys().map(|name| name.to_string()))
    };

    let end = reader.get_ref().virtual_position();
    Ok(BgzfHeader { references, end })
}

/// VCF.gz: the header's contigs, in header order, all without index ids (the caller maps them
/// through the index's name table).
pub(super) fn vcf(prefix: &[u8]) -> io::Result<(vcf::Header, bgzf::VirtualPosition)> {
    let mut reader = vcf::io::Reader::new(bgzf::io::Reader::new(prefix));

    let mut text = String::new();
    reader.header_reader().read_to_string(&mut text)?;

    // Only a header that ends with a complete #CHROM line is whole.
    let last_line = text
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .unwrap_or("");
    if !text.ends_with('\n') || !last_line.starts_with("#CHROM") {
        return Err(need_more());
    }

    let header = text
        .parse::<vcf::Header>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;

    let end = reader.get_ref().virtual_position();
    Ok((header, end))
}

/// BCF: the header, whose contig dictionary (honouring IDX) gives the index ids.
pub(super) fn bcf(prefix: &[u8]) -> io::Result<BgzfHeader> {
    let mut reader = bcf::io::Reader::new(prefix);
    let header = reader.read_header()?;

    let contigs = header.string_maps().contigs();
    let mut references = References::new();

    for name in header.contigs().keys() {
        references.insert(name.clone(), contigs.get_index_of(name));
    }

    let end = reader.get_ref().virtual_position();
    Ok(BgzfHeader { references, end })
}

/// CRAM: names from the SAM header's @SQ lines.
pub(super) fn cram(prefix: &[u8]) -> io::Result<(References, u8)> {
    let mut reader = cram::io::Reader::new(prefix);
    let definition = reader.read_file_definition()?;
    let header = reader.read_file_header()?;

    let names = header
        .reference_sequences()
        .keys()
        .map(|name| name.to_string());

    Ok((
        References::from_ordered(names),
        definition.version().major(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgzf::{BGZF_EOF, encode};

    #[test]
    fn test_vcf_with_truncated_prefix() {
        let text = b"##fileformat=VCFv4.3\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t1\t.\tA\tC\t.\t.\t.\n";
        let file = [encode(text).unwrap(), BGZF_EOF.to_vec()].concat();
        let (_, end) = vcf(&file).unwrap();
        assert_eq!(end.compressed(), 0);
        let records = b"1\t1\t.\tA\tC\t.\t.\t.\n".len();
        assert_eq!(usize::from(end.uncompressed()), text.len() - records);

        let header_only = encode(&text[..30]).unwrap();
        assert_eq!(
            vcf(&header_only).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn test_bam_with_garbage() {
        let file = [encode(b"BAM\x02xxxx").unwrap(), BGZF_EOF.to_vec()].concat();
        assert_eq!(bam(&file).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
