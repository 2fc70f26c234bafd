//! Files for the test roots: garbage bytes, copies, writes and symbolic links.

use std::{fs, path::Path};

/// Deterministic bytes that parse as nothing: no gzip, BAM, BAI or CRAM magic.
pub(super) fn garbage(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) as u8) ^ 0x5a)
        .collect()
}

pub(super) fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap_or_else(|e| panic!("{} -> {}: {e}", from.display(), to.display()));
}

pub(super) fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

pub(super) fn symlink(target: &str, link: &Path) {
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}
