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
    /// The identities of the data and index files.
    pub identity: (FileId, FileId),
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

/// A file's identity: device, inode, size and modification time — what changes when the file
/// is replaced or a link is re-pointed.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct FileId {
    device: u64,
    inode: u64,
    size: u64,
    modified: Option<SystemTime>,
}

impl FileId {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn of(metadata: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);

        Self {
            device,
            inode,
            size: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

/// Maps ids and data keys to files under the root, remembering which paths were checked to
/// lie inside it: a path is checked again (links resolved) whenever the file it reaches
/// changes, so the check costs one `stat` per request instead of a walk of the whole path.
#[derive(Debug)]
pub struct Resolver {
    root: PathBuf,
    follow_symlinks: bool,
    checked: quick_cache::sync::Cache<PathBuf, (FileId, bool)>,
}

impl Resolver {
    /// A resolver for the canonical `root`.
    pub fn new(root: PathBuf, follow_symlinks: bool) -> Self {
        Self {
            root,
            follow_symlinks,
            checked: quick_cache::sync::Cache::new(4096),
        }
    }

    /// The canonical data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files behind `id` in `format`.
    pub fn locate(&self, id: &str, format: Format) -> Result<Located, Error> {
        validate(id)?;

        let data = format!("{id}.{}", format.extension());
        let data_id = self.inside(&data).map_err(|_| not_found(id))?;

        for extension in index_extensions(format) {
            let index = format!("{data}.{extension}");
            if let Ok(index_id) = self.inside(&index) {
                return Ok(Located {
                    data,
                    index,
                    format,
                    identity: (data_id, index_id),
                });
            }
        }

        Err(Error::NotFound {
            what: format!("index of {format} for that id"),
        })
    }

    /// The key and size of a data URL's file, if it is a data file a ticket can reference.
    pub fn data_file(&self, key: &str) -> Result<(String, u64), Error> {
        validate(key)?;

        let is_data = [Format::Bam, Format::Cram, Format::Vcf, Format::Bcf]
            .iter()
            .any(|f| key.ends_with(&format!(".{}", f.extension())));

        if !is_data {
            return Err(not_found(key));
        }

        let id = self.inside(key).map_err(|_| not_found(key))?;
        Ok((key.to_owned(), id.size))
    }

    /// The identity of the regular file `key` under the root, which must lie inside the root
    /// once symbolic links are resolved (unless links out of it are allowed).
    fn inside(&self, key: &str) -> io::Result<FileId> {
        let path = self.root.join(key);
        let metadata = path.metadata()?;

        if !metadata.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a file"));
        }

        let id = FileId::of(&metadata);
        let ok = match self.checked.get(&path) {
            Some((seen, ok)) if seen == id => ok,
            _ => {
                let ok = self.follow_symlinks || path.canonicalize()?.starts_with(&self.root);
                self.checked.insert(path, (id, ok));
                ok
            }
        };

        if ok {
            Ok(id)
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "outside the data root",
            ))
        }
    }
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
        let strict = Resolver::new(root.clone(), false);
        let lenient = Resolver::new(root.clone(), true);

        assert!(strict.locate("s", Format::Bam).is_err());
        assert!(
            strict.locate("s", Format::Bam).is_err(),
            "the cached answer holds"
        );
        assert!(lenient.locate("s", Format::Bam).is_ok());
        assert!(strict.data_file("s.bam").is_err());

        // Re-pointing the link at a file inside the root is noticed.
        std::fs::write(root.join("in.bam"), b"y").unwrap();
        std::fs::remove_file(root.join("s.bam")).unwrap();
        std::os::unix::fs::symlink(root.join("in.bam"), root.join("s.bam")).unwrap();
        assert!(strict.data_file("s.bam").is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
