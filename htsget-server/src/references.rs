//! CRAM reference sequences by MD5: the FASTA files under `--reference` and the local data
//! roots, catalogued by the MD5 digest of each sequence's normalized bases (what `M5` of an
//! `@SQ` line names), read when an exact CRAM payload must re-encode records against them.
//!
//! The catalogue is made on first use (every FASTA file read once), and the bases of the
//! sequences used are kept in a cache bounded by memory (a sequence larger than the whole cache
//! is read again for each cut). Symbolic links are not followed, nor opened, so nothing
//! outside the given folders is read.

use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufReader},
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use htsget_core::load::ReferenceSequences;
use md5::{Digest, Md5};
use noodles::fasta;
use quick_cache::sync::Cache;

/// File names read as FASTA (uncompressed).
const EXTENSIONS: [&str; 4] = ["fa", "fasta", "fna", "fas"];

/// How deep the folders are searched.
const MAX_DEPTH: usize = 8;

/// Where a sequence is: its FASTA file and name there.
#[derive(Clone, Debug)]
struct Place {
    path: PathBuf,
    name: Vec<u8>,
}

/// The reference sequences under some folders (or files), by MD5.
#[derive(Debug)]
pub struct Catalogue {
    paths: Vec<PathBuf>,
    places: OnceLock<HashMap<String, Place>>,
    bases: Cache<String, Arc<[u8]>, BasesWeighter>,
}

#[derive(Clone, Debug)]
struct BasesWeighter;

impl quick_cache::Weighter<String, Arc<[u8]>> for BasesWeighter {
    fn weight(&self, _: &String, bases: &Arc<[u8]>) -> u64 {
        bases.len() as u64 + 64
    }
}

impl Catalogue {
    /// The catalogue of the FASTA files at `paths` (files, or folders searched), keeping at
    /// most `capacity` bytes of bases in memory.
    pub fn new(paths: Vec<PathBuf>, capacity: u64) -> Self {
        Self {
            paths,
            places: OnceLock::new(),
            // Few items: one shard, so a sequence as large as the whole capacity fits.
            bases: Cache::with_weighter(16, capacity.max(1 << 20), BasesWeighter),
        }
    }

    /// Every sequence's place, by MD5; made once.
    fn places(&self) -> &HashMap<String, Place> {
        self.places.get_or_init(|| {
            let mut places = HashMap::new();
            for path in &self.paths {
                for file in fasta_files(path) {
                    match catalogue(&file) {
                        Ok(found) => {
                            for (md5, name) in found {
                                places.entry(md5).or_insert(Place {
                                    path: file.clone(),
                                    name,
                                });
                            }
                        }
                        Err(e) => tracing::warn!(
                            file = %file.display(),
                            error = %e,
                            "a FASTA file could not be read for the reference catalogue"
                        ),
                    }
                }
            }
            tracing::info!(sequences = places.len(), "reference catalogue made");
            places
        })
    }
}

impl ReferenceSequences for Catalogue {
    fn bases(&self, md5: &str) -> io::Result<Option<Arc<[u8]>>> {
        if let Some(bases) = self.bases.get(md5) {
            return Ok(Some(bases));
        }
        let Some(place) = self.places().get(md5).cloned() else {
            return Ok(None);
        };
        let Some(bases) = read_sequence(&place)? else {
            return Ok(None);
        };
        // The file may have changed since it was catalogued: only the named digest is served.
        if hex(&Md5::digest(&bases)) != md5 {
            return Ok(None);
        }
        let bases: Arc<[u8]> = bases.into();
        self.bases.insert(md5.to_owned(), Arc::clone(&bases));
        Ok(Some(bases))
    }
}

/// The FASTA files at `path`: the file itself, or those in the folder and its subfolders,
/// symbolic links not followed.
fn fasta_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![(path.to_path_buf(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&folder) else {
            continue;
        };
        if meta.is_file() {
            if is_fasta(&folder) {
                files.push(folder);
            }
            continue;
        }
        if !meta.is_dir() || depth > MAX_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                folders.push((entry.path(), depth + 1));
            } else if kind.is_file() && is_fasta(&entry.path()) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn is_fasta(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Opens `path` only if it is a regular file, not a symbolic link, and is still the file
/// looked at when opened (a path swapped for a link in between is refused).
fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt as _;
    let before = std::fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let file = File::open(path)?;
    let after = file.metadata()?;
    if !after.file_type().is_file() || (after.dev(), after.ino()) != (before.dev(), before.ino()) {
        return Err(io::Error::other("the file changed while it was opened"));
    }
    Ok(file)
}

/// The MD5 and name of every sequence in the FASTA file `path`.
fn catalogue(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut reader = fasta::io::Reader::new(BufReader::new(open_regular(path)?));
    let mut found = Vec::new();
    for record in reader.records() {
        let record = record?;
        let bases = normalized(record.sequence().as_ref());
        found.push((hex(&Md5::digest(&bases)), record.name().to_vec()));
    }
    Ok(found)
}

/// The normalized bases of the sequence at `place`, `None` where the file no longer holds it.
fn read_sequence(place: &Place) -> io::Result<Option<Vec<u8>>> {
    let mut reader = fasta::io::Reader::new(BufReader::new(open_regular(&place.path)?));
    for record in reader.records() {
        let record = record?;
        if record.name() == place.name.as_slice() {
            return Ok(Some(normalized(record.sequence().as_ref())));
        }
    }
    Ok(None)
}

/// Bases as `M5` digests them: upper case, printable characters only.
fn normalized(bases: &[u8]) -> Vec<u8> {
    bases
        .iter()
        .filter(|b| b.is_ascii_graphic())
        .map(u8::to_ascii_uppercase)
        .collect()
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_catalogue_finds_sequences_by_md5_and_not_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("refs");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(inside.join("a.fa"), ">one\nACGT\nacgt\n>two desc\nNNNN\n").unwrap();
        std::fs::write(inside.join("notes.txt"), ">three\nTTTT\n").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("b.fa"), ">four\nGGGG\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), inside.join("link")).unwrap();

        let catalogue = Catalogue::new(vec![dir.path().to_path_buf()], 1 << 20);
        let one = hex(&Md5::digest(b"ACGTACGT"));
        assert_eq!(
            catalogue.bases(&one).unwrap().as_deref(),
            Some(&b"ACGTACGT"[..])
        );
        let two = hex(&Md5::digest(b"NNNN"));
        assert!(catalogue.bases(&two).unwrap().is_some());
        assert!(
            catalogue
                .bases(&hex(&Md5::digest(b"TTTT")))
                .unwrap()
                .is_none()
        );
        assert!(
            catalogue
                .bases(&hex(&Md5::digest(b"GGGG")))
                .unwrap()
                .is_none()
        );

        // A sequence nearly as large as the cache is kept.
        let big = vec![b'A'; 900 << 10];
        std::fs::write(
            inside.join("big.fa"),
            [&b">big\n"[..], &big, b"\n"].concat(),
        )
        .unwrap();
        let cached = Catalogue::new(vec![dir.path().to_path_buf()], 1 << 20);
        let md5 = hex(&Md5::digest(&big));
        assert_eq!(
            cached.bases(&md5).unwrap().map(|b| b.len()),
            Some(big.len())
        );
        assert!(cached.bases.get(&md5).is_some(), "not kept");

        // A file changed since it was catalogued serves nothing under the old digest.
        std::fs::write(inside.join("a.fa"), ">one\nTTTT\n").unwrap();
        let fresh = Catalogue::new(vec![dir.path().to_path_buf()], 1 << 20);
        assert!(fresh.bases(&one).unwrap().is_none());
        let stale = Catalogue::new(vec![dir.path().to_path_buf()], 1 << 20);
        stale.places();
        std::fs::write(inside.join("a.fa"), ">one\nGGGGGGGG\n").unwrap();
        assert!(stale.bases(&hex(&Md5::digest(b"TTTT"))).unwrap().is_none());
    }
}
