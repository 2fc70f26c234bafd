//! The variants: VCF text drawn from the references, written as a bgzipped VCF with a TBI and
//! as a BCF with a CSI.

use std::{fs::File, io, path::Path};

use noodles::{
    bcf, bgzf, csi, tabix,
    vcf::{self, variant::io::Write as _},
};

use super::{
    ID, REFERENCES, SAMPLES,
    reference::Reference,
    rng::{Rng, substitute},
    with_extension,
};

/// The VCF text: the header, then variants about every 250 bp of each reference with data,
/// their reference alleles taken from the reference.
pub(super) fn generate_vcf(rng: &mut Rng, references: &[Reference]) -> String {
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
pub(super) fn write_variants(root: &Path, vcf_text: &str) -> io::Result<()> {
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
