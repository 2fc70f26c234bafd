//! The demo dataset's files as written: noodles reads every one (and its index), and
//! samtools and bcftools, where installed, read them without a word on stderr and count what
//! noodles counts.

use std::{io, path::Path, process::Command, time::Instant};

use htsget_server::demo::{Dataset, FILES, REFERENCES, UNPLACED_READS};
use noodles::{bam, bcf, core::Region, cram, fasta, vcf};

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
