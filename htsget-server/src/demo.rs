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
//!
//! The module is compiled with the `demo` cargo feature (on by default).

mod bam;
mod cram;
mod reads;
mod reference;
mod rng;
mod shape;
mod variants;

use std::{
    io,
    path::{Path, PathBuf},
};

use tempfile::TempDir;

use self::{
    bam::write_bam,
    cram::write_cram,
    reads::{generate_reads, sam_header},
    reference::{generate_references, write_fasta},
    rng::Rng,
    variants::{generate_vcf, write_variants},
};

/// Every file the dataset holds, by name under its root.
pub const FILES: [&str; 10] = [
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

/// The id every demo file answers to: `/reads/sample` (BAM, CRAM) and `/variants/sample` (VCF,
/// BCF).
pub const ID: &str = "sample";

/// The reads a CRAM container holds at most.
pub const CRAM_CONTAINER_RECORDS: usize = 500;

/// The references: name, length, and whether reads and variants are drawn from it.
pub const REFERENCES: [(&str, usize, bool); 3] = [
    ("chr1", 60_000, true),
    ("chr2", 40_000, true),
    ("chr3", 20_000, false),
];

/// The generator's seed.
const SEED: u64 = 0x5eed_da7a_2024_0001;

/// The length of every read.
const READ_LEN: usize = 100;

/// The unplaced unmapped reads written after all placed ones.
pub const UNPLACED_READS: usize = 20;

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

/// `path` with `.ext` appended.
fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use std::{io, path::Path};

    use noodles::{cram, fasta, sam::alignment::RecordBuf};

    use super::{Dataset, FILES};

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
