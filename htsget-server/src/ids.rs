//! Ids and data keys: their grammar, and where the files of an id are found.
//!
//! An id is untrusted. It may contain `/` (`bam/NA12878`), but no empty, `.` or `..` segment,
//! no backslash, no NUL or control character, and at most [`MAX_ID_LEN`] bytes. What a key may
//! reach is the storage's business: [`htsget_core::storage::LocalStorage`] serves only regular files
//! inside its root.

use std::io;

use htsget_core::{
    Error, Format,
    storage::{Metadata, Storage},
};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 1024;

/// The formats, in the order data keys are matched against their extensions.
const FORMATS: [Format; 4] = [Format::Bam, Format::Cram, Format::Vcf, Format::Bcf];

/// A data file and its index, as storage keys, with what storage knows of each (their
/// identities key the facts cache: a replaced file gets a new one).
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Located {
    /// The data file's key, e.g. `bam/NA12878.bam`.
    pub data: String,
    /// The index file's key, e.g. `bam/NA12878.bam.bai`.
    pub index: String,
    /// The format.
    pub format: Format,
    /// The data file's size and identity.
    pub data_metadata: Metadata,
    /// The index file's size and identity.
    pub index_metadata: Metadata,
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
///
/// # Examples
///
/// ```
/// use htsget_server::ids::validate;
/// assert!(validate("bam/NA12878").is_ok());
/// assert!(validate("../etc/passwd").is_err());
/// ```
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

/// The files behind `id` in `format`: `{id}.{extension}` and the first index beside it.
pub async fn locate<S>(storage: &S, id: &str, format: Format) -> Result<Located, Error>
where
    S: Storage + ?Sized,
{
    validate(id)?;

    let data = with_extension(id, format.extension());
    // The data file and its usual index asked at once, then any other index, in order: the
    // first index found wins.
    let base = data.clone();
    let mut indexes = index_extensions(format)
        .iter()
        .map(move |extension| with_extension(&base, extension));
    let first = indexes.next().unwrap_or_default();
    let keys = [data, first];
    let mut heads = storage.heads(&keys).await.into_iter();
    let not_asked = || Err(io::ErrorKind::NotFound.into());
    let data_metadata = heads
        .next()
        .unwrap_or_else(not_asked)
        .map_err(|e| missing(e, "data file", || not_found(id)))?;
    let [data, first] = keys;

    let mut candidate = Some((first, heads.next().unwrap_or_else(not_asked)));
    while let Some((index, head)) = candidate.take() {
        match head {
            Ok(index_metadata) => {
                return Ok(Located {
                    data,
                    index,
                    format,
                    data_metadata,
                    index_metadata,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(missing(e, "index", || not_found(id))),
        }
        if let Some(next) = indexes.next() {
            let head = storage.head(&next).await;
            candidate = Some((next, head));
        }
    }

    Err(Error::NotFound {
        what: format!("index of {format} for that id"),
    })
}

/// A storage error of `what`: a missing object is `absent()` (ids never learn why), a store
/// that failed is an I/O error (the server answers 502/503).
fn missing(error: io::Error, what: &'static str, absent: impl FnOnce() -> Error) -> Error {
    if htsget_core::storage::Fault::of(&error).is_some() {
        Error::Io {
            what,
            source: error,
        }
    } else if error.kind() == io::ErrorKind::InvalidData {
        // There, but unreadable: an encrypted file this server's key does not open.
        Error::InvalidData {
            what,
            source: error,
        }
    } else {
        absent()
    }
}

/// `base.extension`, in one allocation.
fn with_extension(base: &str, extension: &str) -> String {
    let mut key = String::with_capacity(base.len() + 1 + extension.len());
    key.push_str(base);
    key.push('.');
    key.push_str(extension);
    key
}

/// Checks that a data URL's `key` names a data file a ticket can reference (a data file's
/// extension; indexes and anything else are not served).
pub fn data_key(key: &str) -> Result<&str, Error> {
    validate(key)?;

    // A data file, or its Crypt4GH form (ciphertext: pass-through tickets point at it).
    let data = key.strip_suffix(".c4gh").unwrap_or(key);
    let is_data = FORMATS.iter().any(|f| {
        data.strip_suffix(f.extension())
            .is_some_and(|stem| stem.ends_with('.'))
    }) || is_reference(key);

    if is_data {
        Ok(key)
    } else {
        Err(not_found(key))
    }
}

/// The reference sequence files the viewer may point igv.js at: FASTA (`.fa`, `.fasta`) and
/// its `.fai` index.
pub const REFERENCE_SUFFIXES: [&str; 4] = [".fa", ".fasta", ".fa.fai", ".fasta.fai"];

/// Whether `key` names a reference sequence file (a FASTA or its `.fai`).
pub fn is_reference(key: &str) -> bool {
    REFERENCE_SUFFIXES
        .iter()
        .any(|suffix| key.len() > suffix.len() && key.ends_with(suffix))
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

    #[test]
    fn test_data_key_with_indexes_and_data() {
        assert!(data_key("bam/x.bam").is_ok());
        assert!(data_key("v/x.vcf.gz").is_ok());
        assert!(data_key("bam/x.bam.bai").is_err());
        assert!(data_key("x.txt").is_err());
        assert!(data_key("../x.bam").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn test_locate_with_symlink_out_of_root() {
        let base = tempfile::tempdir().unwrap();
        let (root, outside) = (base.path().join("root"), base.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("s.bam"), b"x").unwrap();
        std::fs::write(outside.join("s.bam.bai"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("s.bam"), root.join("s.bam")).unwrap();
        std::os::unix::fs::symlink(outside.join("s.bam.bai"), root.join("s.bam.bai")).unwrap();
        let strict = htsget_core::storage::LocalStorage::new(&root);
        let lenient = htsget_core::storage::LocalStorage::new(&root).follow_symlinks(true);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert!(locate(&strict, "s", Format::Bam).await.is_err());
            assert!(locate(&lenient, "s", Format::Bam).await.is_ok());
        });
    }
}
