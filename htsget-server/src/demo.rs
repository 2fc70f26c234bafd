//! The built-in demo dataset: a small, deterministic set of BAM, CRAM, VCF and BCF files (with
//! their indexes and the reference FASTA the reads were drawn from), written by noodles into a
//! temporary directory at startup so the server can run without any data of its own.
//!
//! The references are `chr1` (60 kb) and `chr2` (40 kb), which hold the reads and variants, and
//! `chr3` (20 kb), which holds none, to show a query on a reference with no data. Reads are
//! 100 bp pairs drawn from the reference with a few substitutions, an occasional small indel,
//! varied mapping and base qualities; a few have an unmapped mate placed at
//! their position, and some unplaced unmapped reads come last. The variants are SNVs and small
//! indels, their reference alleles taken from the reference, genotyped for two samples.
//!
//! Everything comes from a fixed-seed generator, so every run writes the same records.
//!
//! noodles' CRAM writer always stores reads as differences from the reference (its compression
//! header says the external reference is required), so `sample.cram` decodes only with
//! `ref.fa`: clients need e.g. `samtools view -T ref.fa`. The CRAM is cut into containers of
//! [`CRAM_CONTAINER_RECORDS`] reads, none holding two references, so a query returns a part of
//! the file.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    num::NonZero,
    path::{Path, PathBuf},
};

use noodles::{
    bam, bcf, bgzf,
    core::Position,
    cram, csi,
    fasta::{
        self,
        record::{Definition, Sequence},
    },
    sam::{
        self,
        alignment::{
            RecordBuf,
            io::Write as _,
            record::{
                Flags, MappingQuality,
                cigar::{Op, op::Kind},
            },
        },
        header::record::value::{
            Map,
            map::{
                self, ReadGroup, ReferenceSequence,
                header::{sort_order::COORDINATE, tag::SORT_ORDER},
                read_group::tag::SAMPLE,
            },
        },
    },
    tabix,
    vcf::{self, variant::io::Write as _},
};
use tempfile::TempDir;

/// The id every demo file answers to: `/reads/sample` (BAM, CRAM) and `/variants/sample` (VCF,
/// BCF).
pub const ID: &str = "sample";

/// The reads a CRAM container holds at most.
pub const CRAM_CONTAINER_RECORDS: usize = 500;

/// The references: name, length, and whether reads and variants are drawn from it.
const REFERENCES: [(&str, usize, bool); 3] = [
    ("chr1", 60_000, true),
    ("chr2", 40_000, true),
    ("chr3", 20_000, false),
];

/// The generator's seed.
const SEED: u64 = 0x5eed_da7a_2024_0001;

/// The length of every read.
const READ_LEN: usize = 100;

/// The unplaced unmapped reads written after all placed ones.
const UNPLACED_READS: usize = 20;

/// The samples genotyped in the VCF and BCF.
const SAMPLES: [&str; 2] = ["NA00001", "NA00002"];

/// The read group of the header. The reads carry no `RG` tag: noodles' CRAM writer keeps the
/// tag among a read's fields as well as storing it as the read group, so htslib would print it
/// twice.
const READ_GROUP: &str = "rg1";

/// The demo files in a temporary directory, which is removed on drop.
#[derive(Debug)]
pub struct Dataset {
    dir: TempDir,
}

impl Dataset {
    /// Writes the demo files into a new temporary directory.
    pub fn generate() -> io::Result<Dataset> {
        let dir = tempfile::Builder::new().prefix("htsget-demo-").tempdir()?;
        write_all(dir.path())?;
        Ok(Dataset { dir })
    }

    /// The directory holding the files (use it as the data root).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Writes every demo file into `root`.
fn write_all(root: &Path) -> io::Result<()> {
    let mut rng = Rng::new(SEED);
    let references = generate_references(&mut rng);

    write_fasta(&root.join("ref.fa"), &references)?;

    let header = sam_header();
    let reads = generate_reads(&mut rng, &references);
    write_bam(&root.join(format!("{ID}.bam")), &header, &reads)?;
    write_cram(
        &root.join(format!("{ID}.cram")),
        &header,
        &reads,
        &references,
    )?;

    let vcf_text = generate_vcf(&mut rng, &references);
    write_variants(root, &vcf_text)
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `1 / n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn base(&mut self) -> u8 {
        b"ACGT"[self.below(4)]
    }
}

/// A reference sequence.
struct Reference {
    name: &'static str,
    bases: Vec<u8>,
    has_data: bool,
}

fn generate_references(rng: &mut Rng) -> Vec<Reference> {
    REFERENCES
        .iter()
        .map(|&(name, len, has_data)| Reference {
            name,
            bases: (0..len).map(|_| rng.base()).collect(),
            has_data,
        })
        .collect()
}

/// Writes the reference FASTA (60 bases a line) and its `.fai`.
fn write_fasta(path: &Path, references: &[Reference]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);

    for reference in references {
        writeln!(out, ">{}", reference.name)?;
        for line in reference.bases.chunks(60) {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
    }

    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let index = fasta::fs::index(path)?;
    fasta::fai::fs::write(with_extension(path, "fai"), &index)
}

/// `path` with `.ext` appended.
fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn position(zero_based: usize) -> Position {
    Position::new(zero_based + 1).expect("a 0-based position plus one is nonzero")
}

fn sam_header() -> sam::Header {
    let sorted = Map::<map::Header>::builder()
        .insert(SORT_ORDER, COORDINATE)
        .build()
        .expect("valid header line");
    let read_group = Map::<ReadGroup>::builder()
        .insert(SAMPLE, ID)
        .build()
        .expect("valid read group");

    REFERENCES
        .iter()
        .fold(
            sam::Header::builder().set_header(sorted),
            |builder, &(name, len, _)| {
                let len = NonZero::new(len).expect("nonzero reference length");
                builder.add_reference_sequence(name, Map::<ReferenceSequence>::new(len))
            },
        )
        .add_read_group(READ_GROUP, read_group)
        .build()
}

/// A read's alignment: matches with at most one small indel.
enum Shape {
    /// `100M`.
    Matched,
    /// `aM nD bM`.
    Deletion { at: usize, len: usize },
    /// `aM nI bM`.
    Insertion { at: usize, len: usize },
}

impl Shape {
    fn random(rng: &mut Rng) -> Self {
        match rng.below(40) {
            0 => Self::Deletion {
                at: rng.between(20, 80),
                len: rng.between(1, 3),
            },
            1 => Self::Insertion {
                at: rng.between(20, 80),
                len: rng.between(1, 3),
            },
            _ => Self::Matched,
        }
    }

    /// The reference bases the read spans.
    fn span(&self) -> usize {
        match *self {
            Self::Matched => READ_LEN,
            Self::Deletion { len, .. } => READ_LEN + len,
            Self::Insertion { len, .. } => READ_LEN - len,
        }
    }

    fn cigar(&self) -> Vec<Op> {
        match *self {
            Self::Matched => vec![Op::new(Kind::Match, READ_LEN)],
            Self::Deletion { at, len } => vec![
                Op::new(Kind::Match, at),
                Op::new(Kind::Deletion, len),
                Op::new(Kind::Match, READ_LEN - at),
            ],
            Self::Insertion { at, len } => vec![
                Op::new(Kind::Match, at),
                Op::new(Kind::Insertion, len),
                Op::new(Kind::Match, READ_LEN - at - len),
            ],
        }
    }

    /// The read's bases for an alignment at `start`, before sequencing errors.
    fn bases(&self, rng: &mut Rng, reference: &[u8], start: usize) -> Vec<u8> {
        match *self {
            Self::Matched => reference[start..start + READ_LEN].to_vec(),
            Self::Deletion { at, len } => {
                let mut bases = reference[start..start + at].to_vec();
                bases.extend_from_slice(&reference[start + at + len..start + READ_LEN + len]);
                bases
            }
            Self::Insertion { at, len } => {
                let mut bases = reference[start..start + at].to_vec();
                bases.extend((0..len).map(|_| rng.base()));
                bases.extend_from_slice(&reference[start + at..start + READ_LEN - len]);
                bases
            }
        }
    }
}

/// One end of a template as it is drawn, before it becomes a record.
struct Mate {
    start: usize,
    shape: Shape,
    reverse: bool,
}

/// Draws the reads of every reference with data (coordinate-sorted), then the unplaced ones.
fn generate_reads(rng: &mut Rng, references: &[Reference]) -> Vec<RecordBuf> {
    let mut reads = Vec::new();
    let mut template = 0;

    for (id, reference) in references.iter().enumerate() {
        if !reference.has_data {
            continue;
        }

        let mut placed = Vec::new();
        let mut start = rng.between(0, 60);

        // Templates every ~80 bp, two reads each: a read starts every ~40 bp.
        while start + 600 < reference.bases.len() {
            template += 1;
            placed.extend(template_reads(rng, id, &reference.bases, start, template));
            start += rng.between(60, 100);
        }

        placed.sort_by_key(|read| read.alignment_start());
        reads.extend(placed);
    }

    reads.extend((0..UNPLACED_READS).map(|i| unplaced_read(rng, i)));
    reads
}

/// The two reads of template `n`, its first at `start`; one in 25 has an unmapped mate.
fn template_reads(
    rng: &mut Rng,
    reference_id: usize,
    reference: &[u8],
    start: usize,
    n: usize,
) -> Vec<RecordBuf> {
    let name = format!("read{n:05}");
    let first = Mate {
        start,
        shape: Shape::random(rng),
        reverse: false,
    };

    if rng.one_in(25) {
        let mapped = mapped_read(rng, &name, reference_id, reference, &first, None)
            .set_flags(Flags::SEGMENTED | Flags::FIRST_SEGMENT | Flags::MATE_UNMAPPED)
            .set_mate_reference_sequence_id(reference_id)
            .set_mate_alignment_start(position(start))
            .build();
        let unmapped = unmapped_mate(rng, &name, reference_id, start);
        return vec![mapped, unmapped];
    }

    let insert = rng.between(250, 450);
    let second = Mate {
        start: start + insert - READ_LEN,
        shape: Shape::random(rng),
        reverse: true,
    };
    let end = second.start + second.shape.span();
    let template_length = (end - start) as i32;

    let pair = Flags::SEGMENTED | Flags::PROPERLY_SEGMENTED;
    let r1 = mapped_read(rng, &name, reference_id, reference, &first, Some(&second))
        .set_flags(pair | Flags::FIRST_SEGMENT | Flags::MATE_REVERSE_COMPLEMENTED)
        .set_template_length(template_length)
        .build();
    let r2 = mapped_read(rng, &name, reference_id, reference, &second, Some(&first))
        .set_flags(pair | Flags::LAST_SEGMENT | Flags::REVERSE_COMPLEMENTED)
        .set_template_length(-template_length)
        .build();

    vec![r1, r2]
}

/// A mapped read (flags and template length left to the caller), with about one sequencing
/// error in 100 bases.
fn mapped_read(
    rng: &mut Rng,
    name: &str,
    reference_id: usize,
    reference: &[u8],
    read: &Mate,
    mate: Option<&Mate>,
) -> sam::alignment::record_buf::Builder {
    let mut bases = read.shape.bases(rng, reference, read.start);
    for base in &mut bases {
        if rng.one_in(100) {
            *base = substitute(rng, *base);
        }
    }

    let mapping_quality = if rng.one_in(20) {
        rng.below(30) as u8
    } else {
        60
    };

    let mut builder = RecordBuf::builder()
        .set_name(name)
        .set_reference_sequence_id(reference_id)
        .set_alignment_start(position(read.start))
        .set_mapping_quality(MappingQuality::new(mapping_quality).expect("not 255"))
        .set_cigar(read.shape.cigar().into_iter().collect())
        .set_quality_scores(quality_scores(rng, bases.len(), read.reverse).into())
        .set_sequence(bases.into());

    if let Some(mate) = mate {
        builder = builder
            .set_mate_reference_sequence_id(reference_id)
            .set_mate_alignment_start(position(mate.start));
    }

    builder
}

/// A base other than `base`.
fn substitute(rng: &mut Rng, base: u8) -> u8 {
    let others: Vec<u8> = b"ACGT".iter().copied().filter(|&b| b != base).collect();
    others[rng.below(others.len())]
}

/// Base qualities falling from ~38 to ~25 along the read (in sequencing order).
fn quality_scores(rng: &mut Rng, len: usize, reverse: bool) -> Vec<u8> {
    let mut scores: Vec<u8> = (0..len)
        .map(|i| (38 - (i * 13 / len) as u8).saturating_sub(rng.below(6) as u8))
        .collect();
    if reverse {
        scores.reverse();
    }
    scores
}

/// The unmapped second read of template `name`, placed at its mate's `start`.
fn unmapped_mate(rng: &mut Rng, name: &str, reference_id: usize, start: usize) -> RecordBuf {
    let bases: Vec<u8> = (0..READ_LEN).map(|_| rng.base()).collect();
    RecordBuf::builder()
        .set_name(name)
        .set_flags(Flags::SEGMENTED | Flags::LAST_SEGMENT | Flags::UNMAPPED)
        .set_mapping_quality(MappingQuality::MIN)
        .set_reference_sequence_id(reference_id)
        .set_alignment_start(position(start))
        .set_mate_reference_sequence_id(reference_id)
        .set_mate_alignment_start(position(start))
        .set_quality_scores(quality_scores(rng, READ_LEN, false).into())
        .set_sequence(bases.into())
        .build()
}

/// An unplaced unmapped read (no reference, no position, no mate).
fn unplaced_read(rng: &mut Rng, n: usize) -> RecordBuf {
    let bases: Vec<u8> = (0..READ_LEN).map(|_| rng.base()).collect();
    RecordBuf::builder()
        .set_name(format!("unplaced{n:03}"))
        .set_flags(Flags::UNMAPPED)
        .set_mapping_quality(MappingQuality::MIN)
        .set_quality_scores(quality_scores(rng, READ_LEN, false).into())
        .set_sequence(bases.into())
        .build()
}

/// Writes the BAM file and its BAI (built by noodles).
fn write_bam(path: &Path, header: &sam::Header, reads: &[RecordBuf]) -> io::Result<()> {
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

/// The reference repository the CRAM writer draws reference bases from.
fn repository(references: &[Reference]) -> fasta::Repository {
    let records: Vec<fasta::Record> = references
        .iter()
        .map(|reference| {
            let definition = Definition::new(reference.name, None);
            fasta::Record::new(definition, Sequence::from(reference.bases.clone()))
        })
        .collect();
    fasta::Repository::new(records)
}

fn cram_writer<W: Write>(repository: &fasta::Repository, out: W) -> cram::io::Writer<W> {
    cram::io::writer::Builder::default()
        .set_reference_sequence_repository(repository.clone())
        .build_from_writer(out)
}

/// Writes the CRAM file and its CRAI (built by noodles).
///
/// noodles' writer fills a container with 10 240 reads and offers no knob for fewer, so each
/// container is written by a writer of its own into memory, stripped of the end-of-file
/// container that writer appends, and copied out; the file then gets one end-of-file container.
/// A container never holds reads of two references (noodles' indexer cannot index such a slice
/// without the reference).
fn write_cram(
    path: &Path,
    header: &sam::Header,
    reads: &[RecordBuf],
    references: &[Reference],
) -> io::Result<()> {
    let repository = repository(references);
    let eof = cram_eof(&repository, header)?;

    let mut out = BufWriter::new(File::create(path)?);
    cram_writer(&repository, &mut out).write_header(header)?;

    for container in cram_containers(reads) {
        let mut writer = cram_writer(&repository, Vec::new());
        for read in container {
            writer.write_alignment_record(header, read)?;
        }
        writer.try_finish(header)?;

        let bytes = writer.into_inner();
        let body = bytes
            .strip_suffix(eof.as_slice())
            .ok_or_else(|| io::Error::other("a CRAM container writer did not end with EOF"))?;
        out.write_all(body)?;
    }

    out.write_all(&eof)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let index = cram::fs::index(path)?;
    cram::crai::fs::write(with_extension(path, "crai"), &index)
}

/// The end-of-file container noodles' CRAM writer appends (what a writer with no reads writes).
fn cram_eof(repository: &fasta::Repository, header: &sam::Header) -> io::Result<Vec<u8>> {
    let mut writer = cram_writer(repository, Vec::new());
    writer.try_finish(header)?;
    Ok(writer.into_inner())
}

/// `reads` cut into runs of one reference (or unplaced) of at most
/// [`CRAM_CONTAINER_RECORDS`] reads each.
fn cram_containers(reads: &[RecordBuf]) -> Vec<&[RecordBuf]> {
    reads
        .chunk_by(|a, b| a.reference_sequence_id() == b.reference_sequence_id())
        .flat_map(|run| run.chunks(CRAM_CONTAINER_RECORDS))
        .collect()
}

/// The VCF text: the header, then variants about every 250 bp of each reference with data,
/// their reference alleles taken from the reference.
fn generate_vcf(rng: &mut Rng, references: &[Reference]) -> String {
    let mut text = String::from("##fileformat=VCFv4.3\n");
    text.push_str("##FILTER=<ID=PASS,Description=\"All filters passed\">\n");
    text.push_str("##FILTER=<ID=q10,Description=\"Quality below 10\">\n");
    text.push_str("##reference=ref.fa\n");
    for &(name, len, _) in &REFERENCES {
        text.push_str(&format!("##contig=<ID={name},length={len}>\n"));
    }
    text.push_str("##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Total depth\">\n");
    text.push_str("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n");
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for sample in SAMPLES {
        text.push('\t');
        text.push_str(sample);
    }
    text.push('\n');

    let mut n = 0;
    for reference in references.iter().filter(|r| r.has_data) {
        let mut at = rng.between(100, 300);
        while at + 10 < reference.bases.len() {
            n += 1;
            text.push_str(&variant_line(rng, reference, at, n));
            at += rng.between(100, 400);
        }
    }

    text
}

/// One VCF data line for a variant at 0-based `at`: an SNV, an insertion or a deletion.
fn variant_line(rng: &mut Rng, reference: &Reference, at: usize, n: usize) -> String {
    let bases = &reference.bases;
    let (ref_allele, alt_allele) = match rng.below(10) {
        0 => {
            let inserted: Vec<u8> = (0..rng.between(1, 5)).map(|_| rng.base()).collect();
            (vec![bases[at]], [&[bases[at]][..], &inserted].concat())
        }
        1 => {
            let len = rng.between(1, 5);
            (bases[at..=at + len].to_vec(), vec![bases[at]])
        }
        _ => (vec![bases[at]], vec![substitute(rng, bases[at])]),
    };

    let quality = rng.between(5, 99);
    let filter = if quality < 10 { "q10" } else { "PASS" };
    let depth = rng.between(8, 60);
    let genotypes: Vec<&str> = SAMPLES
        .iter()
        .map(|_| ["0/1", "0/1", "1/1", "0/0", "0|1", "1|0"][rng.below(6)])
        .collect();

    format!(
        "{}\t{}\tvar{n:04}\t{}\t{}\t{quality}\t{filter}\tDP={depth}\tGT\t{}\n",
        reference.name,
        at + 1,
        String::from_utf8_lossy(&ref_allele),
        String::from_utf8_lossy(&alt_allele),
        genotypes.join("\t"),
    )
}

/// Parses `vcf_text` with noodles and writes its records as the bgzipped VCF with a TBI and as
/// the BCF with a CSI, all built by noodles.
fn write_variants(root: &Path, vcf_text: &str) -> io::Result<()> {
    let mut reader = vcf::io::Reader::new(vcf_text.as_bytes());
    let header = reader.read_header()?;
    let records = reader
        .record_bufs(&header)
        .collect::<io::Result<Vec<_>>>()?;

    let vcf_path = root.join(format!("{ID}.vcf.gz"));
    let mut vcf_writer = vcf::io::Writer::new(bgzf::io::Writer::new(File::create(&vcf_path)?));
    vcf_writer.write_header(&header)?;
    for record in &records {
        vcf_writer.write_variant_record(&header, record)?;
    }
    vcf_writer.into_inner().finish()?.sync_all()?;
    match vcf::fs::index(&vcf_path)? {
        vcf::Index::Tabix(index) => tabix::fs::write(with_extension(&vcf_path, "tbi"), &index)?,
        vcf::Index::Csi(_) => return Err(io::Error::other("noodles built a CSI, not a TBI")),
    }

    let bcf_path = root.join(format!("{ID}.bcf"));
    let mut bcf_writer = bcf::io::Writer::new(File::create(&bcf_path)?);
    bcf_writer.write_header(&header)?;
    for record in &records {
        bcf_writer.write_variant_record(&header, record)?;
    }
    bcf_writer.try_finish()?;
    bcf_writer.into_inner().into_inner().sync_all()?;
    let index = bcf::fs::index(&bcf_path)?;
    csi::fs::write(with_extension(&bcf_path, "csi"), &index)
}

#[cfg(test)]
mod tests {
    use std::{process::Command, time::Instant};

    use noodles::core::Region;

    use super::*;

    /// Every file the dataset holds.
    const FILES: [&str; 10] = [
        "sample.bam",
        "sample.bam.bai",
        "sample.cram",
        "sample.cram.crai",
        "sample.vcf.gz",
        "sample.vcf.gz.tbi",
        "sample.bcf",
        "sample.bcf.csi",
        "ref.fa",
        "ref.fa.fai",
    ];

    /// The records of each alignment file: all, unplaced, on `chr3`.
    #[derive(Debug, PartialEq)]
    struct ReadCounts {
        total: usize,
        unplaced: usize,
        on_chr3: usize,
    }

    impl ReadCounts {
        /// Counts from each record's "is it unplaced?" and the `chr3` query's count.
        fn new(unplaced: &[bool], on_chr3: usize) -> Self {
            Self {
                total: unplaced.len(),
                unplaced: unplaced.iter().filter(|&&u| u).count(),
                on_chr3,
            }
        }
    }

    fn chr3() -> Region {
        "chr3".parse().expect("region")
    }

    fn bam_counts(root: &Path) -> ReadCounts {
        let path = root.join("sample.bam");
        let mut reader = bam::io::indexed_reader::Builder::default()
            .build_from_path(&path)
            .expect("BAM and BAI open");
        let header = reader.read_header().expect("BAM header");
        let unplaced = reader
            .records()
            .map(|result| {
                result
                    .expect("BAM record")
                    .reference_sequence_id()
                    .is_none()
            })
            .collect::<Vec<_>>();
        let on_chr3 = reader
            .query(&header, &chr3())
            .expect("BAM query")
            .records()
            .count();
        ReadCounts::new(&unplaced, on_chr3)
    }

    fn cram_counts(root: &Path) -> ReadCounts {
        let reference = fasta::io::indexed_reader::Builder::default()
            .build_from_path(root.join("ref.fa"))
            .expect("FASTA and FAI open");
        let repository =
            fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(reference));
        let mut reader = cram::io::indexed_reader::Builder::default()
            .set_reference_sequence_repository(repository)
            .build_from_path(root.join("sample.cram"))
            .expect("CRAM and CRAI open");
        let header = reader.read_header().expect("CRAM header");
        let unplaced = reader
            .records(&header)
            .map(|result| {
                result
                    .expect("CRAM record")
                    .reference_sequence_id()
                    .is_none()
            })
            .collect::<Vec<_>>();
        let on_chr3 = reader
            .query(&header, &chr3())
            .expect("CRAM query")
            .records()
            .count();
        ReadCounts::new(&unplaced, on_chr3)
    }

    /// The variants of the VCF: all, and those a `chr2` query through the TBI returns. The TBI
    /// names only references with variants, so it must not know `chr3`.
    fn vcf_counts(root: &Path) -> (usize, usize) {
        let mut reader = vcf::io::indexed_reader::Builder::default()
            .build_from_path(root.join("sample.vcf.gz"))
            .expect("VCF and TBI open");
        let header = reader.read_header().expect("VCF header");
        let mut total = 0;
        for result in reader.records() {
            result.expect("VCF record");
            total += 1;
        }
        let chr3: Region = "chr3".parse().expect("region");
        assert!(reader.query(&header, &chr3).is_err(), "the TBI names chr3");
        let region: Region = "chr2".parse().expect("region");
        let on_chr2 = reader
            .query(&header, &region)
            .expect("VCF query")
            .records()
            .count();
        (total, on_chr2)
    }

    /// The variants of the BCF: all, and those a `chr2` query through the CSI returns.
    fn bcf_counts(root: &Path) -> (usize, usize) {
        let mut reader = bcf::io::indexed_reader::Builder::default()
            .build_from_path(root.join("sample.bcf"))
            .expect("BCF and CSI open");
        let header = reader.read_header().expect("BCF header");
        let mut total = 0;
        for result in reader.records() {
            let record = result.expect("BCF record");
            record
                .variant_start()
                .expect("a start")
                .expect("valid start");
            total += 1;
        }
        let region: Region = "chr2".parse().expect("region");
        let on_chr2 = reader
            .query(&header, &region)
            .expect("BCF query")
            .records()
            .count();
        (total, on_chr2)
    }

    /// Checks that the reference FASTA holds the three references at their lengths.
    fn check_fasta(root: &Path) {
        let index = fasta::fai::fs::read(root.join("ref.fa.fai")).expect("FAI");
        let lengths: Vec<(String, u64)> = index
            .as_ref()
            .iter()
            .map(|record| (record.name().to_string(), record.length()))
            .collect();
        let expected: Vec<(String, u64)> = REFERENCES
            .iter()
            .map(|&(name, len, _)| (name.to_string(), len as u64))
            .collect();
        assert_eq!(lengths, expected);
    }

    /// The stdout and stderr of `program args` (which must succeed), or `None` if `program` is
    /// not installed.
    fn output(program: &str, args: &[&str], root: &Path) -> Option<(String, String)> {
        let output = match Command::new(program)
            .args(args)
            .current_dir(root)
            .env("REF_PATH", "/nonexistent")
            .env("REF_CACHE", "/nonexistent")
            .output()
        {
            Ok(output) => output,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => panic!("{program} failed to start: {e}"),
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{program} {args:?}: {stderr}");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
        Some((stdout, stderr))
    }

    /// The stdout of `program args`, which must succeed with an empty stderr, or `None` if
    /// `program` is not installed.
    fn run(program: &str, args: &[&str], root: &Path) -> Option<String> {
        let (stdout, stderr) = output(program, args, root)?;
        assert!(
            stderr.is_empty(),
            "{program} {args:?} wrote to stderr: {stderr}"
        );
        Some(stdout)
    }

    fn count_lines(output: &str) -> usize {
        output.lines().count()
    }

    fn parse_count(output: &str) -> usize {
        output.trim().parse().expect("a count")
    }

    /// Checks the files with samtools and bcftools, if installed: they read every file without a
    /// word on stderr and count what noodles counts.
    fn check_with_htslib_tools(root: &Path, reads: usize, variants: usize) {
        let Some(bam) = run("samtools", &["view", "-c", "sample.bam"], root) else {
            println!("samtools not installed: skipping the samtools checks");
            return;
        };
        assert_eq!(parse_count(&bam), reads);
        let bam_chr1 = run("samtools", &["view", "-c", "sample.bam", "chr1"], root);
        let cram = run(
            "samtools",
            &["view", "-c", "-T", "ref.fa", "sample.cram"],
            root,
        );
        assert_eq!(cram.map(|s| parse_count(&s)), Some(reads));
        let cram_chr1 = run(
            "samtools",
            &["view", "-c", "-T", "ref.fa", "sample.cram", "chr1"],
            root,
        );
        assert_eq!(cram_chr1, bam_chr1);
        let bam_sam = run("samtools", &["view", "sample.bam"], root);
        let cram_sam = run(
            "samtools",
            &[
                "view",
                "--input-fmt-option",
                "decode_md=0",
                "-T",
                "ref.fa",
                "sample.cram",
            ],
            root,
        );
        assert!(
            bam_sam == cram_sam,
            "the BAM and the CRAM hold different reads"
        );

        let Some(vcf) = run("bcftools", &["view", "-H", "sample.vcf.gz"], root) else {
            println!("bcftools not installed: skipping the bcftools checks");
            return;
        };
        assert_eq!(count_lines(&vcf), variants);
        let bcf = run("bcftools", &["view", "-H", "sample.bcf"], root).expect("bcftools");
        assert_eq!(bcf, vcf);
        let chr2 = run("bcftools", &["view", "-H", "sample.bcf", "chr2"], root);
        let chr2_vcf = run("bcftools", &["view", "-H", "sample.vcf.gz", "chr2"], root);
        assert_eq!(chr2, chr2_vcf);
        // Fails on a REF allele the reference does not hold; prints its tally to stderr.
        let check = output(
            "bcftools",
            &[
                "norm",
                "--check-ref",
                "e",
                "-f",
                "ref.fa",
                "-Ou",
                "-o",
                "/dev/null",
                "sample.bcf",
            ],
            root,
        );
        assert!(check.is_some());

        // Without the reference, htslib cannot decode the CRAM.
        let (program, args) = ("samtools", ["view", "-c", "sample.cram"]);
        let status = Command::new(program)
            .args(args)
            .current_dir(root)
            .env("REF_PATH", "/nonexistent")
            .env("REF_CACHE", "/nonexistent")
            .output()
            .expect("samtools runs")
            .status;
        assert!(!status.success(), "the CRAM decoded without its reference");
    }

    #[test]
    fn test_generate_with_every_file_parsing() {
        let started = Instant::now();
        let dataset = Dataset::generate().expect("the dataset is written");
        println!("generated in {:?}", started.elapsed());
        let root = dataset.root();

        for name in FILES {
            let len = std::fs::metadata(root.join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .len();
            println!("{name}: {len} bytes");
            assert!(len > 0, "{name} is empty");
        }

        check_fasta(root);

        let bam = bam_counts(root);
        println!("reads: {bam:?}");
        assert!(bam.total > 2_000, "{bam:?}");
        assert_eq!(bam.unplaced, UNPLACED_READS);
        assert_eq!(bam.on_chr3, 0);
        assert_eq!(cram_counts(root), bam);

        let (variants, vcf_chr2) = vcf_counts(root);
        let (bcf_variants, bcf_chr2) = bcf_counts(root);
        println!("variants: {variants}, on chr2: {bcf_chr2}");
        assert!((200..1_000).contains(&variants), "{variants} variants");
        assert_eq!((bcf_variants, bcf_chr2), (variants, vcf_chr2));
        assert!(bcf_chr2 > 0 && bcf_chr2 < variants);

        check_with_htslib_tools(root, bam.total, variants);
    }

    /// The records of the CRAM, decoded with the reference.
    fn cram_records(root: &Path) -> Vec<RecordBuf> {
        let records = fasta::io::reader::Builder
            .build_from_path(root.join("ref.fa"))
            .expect("FASTA opens")
            .records()
            .collect::<io::Result<Vec<_>>>()
            .expect("FASTA records");
        let mut reader = cram::io::reader::Builder::default()
            .set_reference_sequence_repository(fasta::Repository::new(records))
            .build_from_path(root.join("sample.cram"))
            .expect("CRAM opens");
        let header = reader.read_header().expect("CRAM header");
        reader
            .records(&header)
            .map(|result| {
                let record = result.expect("CRAM record");
                RecordBuf::try_from_alignment_record(&header, &record).expect("CRAM record")
            })
            .collect()
    }

    #[test]
    fn test_generate_with_same_records_each_time() {
        let first = Dataset::generate().expect("the dataset is written");
        let second = Dataset::generate().expect("the dataset is written");
        assert_ne!(first.root(), second.root());
        // noodles' CRAM writer orders some blocks by hash-map iteration, so only the CRAM's
        // records are compared.
        assert_eq!(cram_records(first.root()), cram_records(second.root()));
        for name in FILES.iter().filter(|name| !name.contains(".cram")) {
            let a = std::fs::read(first.root().join(name)).expect("read");
            let b = std::fs::read(second.root().join(name)).expect("read");
            assert!(a == b, "{name} differs between runs");
        }
    }

    #[test]
    fn test_generate_with_directory_removed_on_drop() {
        let dataset = Dataset::generate().expect("the dataset is written");
        let root = dataset.root().to_path_buf();
        assert!(root.join("sample.bam").exists());
        drop(dataset);
        assert!(!root.exists());
    }
}
