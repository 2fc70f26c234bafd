//! Ids and data URLs to files under the data root: the one place where path safety lives.
//!
//! An id is untrusted. It may contain `/` (`bam/NA12878`), but no empty, `.` or `..` segment,
//! no backslash, no NUL or control character, and at most [`MAX_ID_LEN`] bytes. The file it
//! names must, after resolving symbolic links, lie under the data root (unless the operator
//! allows links out of it).

use std::{
    io,
    path::{Path, PathBuf},
    time::SystemTime,
};

use htsget_core::{Error, Format};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 1024;

/// A data file and its index, as storage keys relative to the data root, with the identity
/// that keys the facts cache (a replaced file gets a new identity).
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Located {
    /// The data file's key, e.g. `bam/NA12878.bam`.
    pub data: String,
    /// The index file's key, e.g. `bam/NA12878.bam.bai`.
    pub index: String,
    /// The format.
    pub format: Format,
    /// Size and modification time of the data and index files.
    pub identity: (u64, Option<SystemTime>, u64, Option<SystemTime>),
}

/// Index extensions to try, in order, for each format.
fn index_extensions(format: Format) -> &'static [&'static str] {
    match format {
        Format::Bam => &["bai", "csi"],
        Format::Cram => &["crai"],
        Format::Vcf => &["tbi", "csi"],
        Format::Bcf => &["csi"],
    }
}

/// Checks an id's form. Errors are NotFound: a malformed id names nothing.
pub fn validate(id: &str) -> Result<(), Error> {
    let bad = id.is_empty()
        || id.len() > MAX_ID_LEN
        || id.starts_with('/')
        || id.chars().any(|c| c == '\\' || c.is_control())
        || id.split('/').any(|s| s.is_empty() || s == "." || s == "..");

    if bad { Err(not_found(id)) } else { Ok(()) }
}

fn not_found(id: &str) -> Error {
    let shown: String = id.chars().take(100).filter(|c| !c.is_control()).collect();
    Error::NotFound {
        what: format!("id {shown:?}"),
    }
}

/// The files behind `id` in `format`.
pub fn locate(
    root: &Path,
    id: &str,
    format: Format,
    follow_symlinks: bool,
) -> Result<Located, Error> {
    validate(id)?;

    let data = format!("{id}.{}", format.extension());
    let (data_size, data_time) = inside(root, &data, follow_symlinks).map_err(|_| not_found(id))?;

    for extension in index_extensions(format) {
        let index = format!("{data}.{extension}");
        if let Ok((index_size, index_time)) = inside(root, &index, follow_symlinks) {
            return Ok(Located {
                data,
                index,
                format,
                identity: (data_size, data_time, index_size, index_time),
            });
        }
    }

    Err(Error::NotFound {
        what: format!("index of {format} for that id"),
    })
}

/// The key of a data URL's file, if it is a data file a ticket can reference.
pub fn data_file(root: &Path, key: &str, follow_symlinks: bool) -> Result<(String, u64), Error> {
    validate(key)?;

    let is_data = [Format::Bam, Format::Cram, Format::Vcf, Format::Bcf]
        .iter()
        .any(|f| key.ends_with(&format!(".{}", f.extension())));

    if !is_data {
        return Err(not_found(key));
    }

    let (size, _) = inside(root, key, follow_symlinks).map_err(|_| not_found(key))?;
    Ok((key.to_owned(), size))
}

/// The size and modification time of the regular file `key` under `root`, which must be
/// inside the root once symbolic links are resolved (unless `follow_symlinks`).
fn inside(root: &Path, key: &str, follow_symlinks: bool) -> io::Result<(u64, Option<SystemTime>)> {
    let path = root.join(key);
    let real = path.canonicalize()?;

    if !follow_symlinks && !real.starts_with(root) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "outside the data root",
        ));
    }

    let metadata = real.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "not a file"));
    }

    Ok((metadata.len(), metadata.modified().ok()))
}

/// The data root, canonical, so that containment checks compare like with like.
pub fn canonical_root(root: &Path) -> io::Result<PathBuf> {
    root.canonicalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_validate_with_attacks() {
        for id in [
            "",
            "..",
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\..\\b",
            "a\0b",
            "a\nb",
        ] {
            assert!(validate(id).is_err(), "{id:?}");
        }
        assert!(validate(&"a".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(validate("bam/NA12878").is_ok());
        assert!(validate("x..y").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn test_locate_with_symlink_out_of_root() {
        let base = std::env::temp_dir().join(format!("htsget-ids-{}", std::process::id()));
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("s.bam"), b"x").unwrap();
        std::fs::write(outside.join("s.bam.bai"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("s.bam"), root.join("s.bam")).unwrap();
        std::os::unix::fs::symlink(outside.join("s.bam.bai"), root.join("s.bam.bai")).unwrap();
        let root = canonical_root(&root).unwrap();

        assert!(locate(&root, "s", Format::Bam, false).is_err());
        assert!(locate(&root, "s", Format::Bam, true).is_ok());
        assert!(data_file(&root, "s.bam", false).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
