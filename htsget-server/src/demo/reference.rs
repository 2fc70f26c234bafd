//! The reference sequences the reads and variants are drawn from, and the FASTA they are
//! written to.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

use noodles::fasta;

use super::{REFERENCES, rng::Rng, with_extension};

/// A reference sequence.
pub(super) struct Reference {
    /// Its name, e.g. `chr1`.
    pub(super) name: &'static str,
    /// Its bases (`ACGT`).
    pub(super) bases: Vec<u8>,
    /// Whether reads and variants are drawn from it.
    pub(super) has_data: bool,
}

/// Draws the bases of every reference of [`REFERENCES`].
pub(super) fn generate_references(rng: &mut Rng) -> Vec<Reference> {
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
pub(super) fn write_fasta(path: &Path, references: &[Reference]) -> io::Result<()> {
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
