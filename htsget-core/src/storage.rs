//! Where file bytes come from: a narrow seam so other stores can stand in for local files.

use std::{
    fs::File,
    io,
    path::{Component, Path, PathBuf},
};

/// Random-access reads of named objects (files, or objects of a store).
///
/// Keys are `/`-separated relative names such as `bam/sample.bam`. Implementations must never
/// read outside their own root.
pub trait Storage {
    /// The size of the object in bytes.
    fn size(&self, key: &str) -> io::Result<u64>;

    /// Reads up to `len` bytes at `offset`; fewer only at the end of the object.
    fn read(&self, key: &str, offset: u64, len: usize) -> io::Result<Vec<u8>>;

    /// Reads the whole object.
    fn read_all(&self, key: &str) -> io::Result<Vec<u8>> {
        let size = self.size(key)?;
        let len = usize::try_from(size).map_err(io::Error::other)?;
        self.read(key, 0, len)
    }
}

/// Files under a local directory.
#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Storage of the files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key` under the root. Keys that are absolute or step outside the root
    /// (`..`) are refused with [`io::ErrorKind::NotFound`].
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::LocalStorage;
    /// let storage = LocalStorage::new("/data");
    /// assert!(storage.path("bam/x.bam").is_ok());
    /// assert!(storage.path("../etc/passwd").is_err());
    /// assert!(storage.path("/etc/passwd").is_err());
    /// ```
    pub fn path(&self, key: &str) -> io::Result<PathBuf> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && !key.contains('\0')
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));

        if safe {
            Ok(self.root.join(relative))
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "no such object"))
        }
    }

    fn open(&self, key: &str) -> io::Result<File> {
        File::open(self.path(key)?)
    }
}

impl Storage for LocalStorage {
    fn size(&self, key: &str) -> io::Result<u64> {
        let metadata = self.open(key)?.metadata()?;

        if metadata.is_file() {
            Ok(metadata.len())
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "not a file"))
        }
    }

    fn read(&self, key: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let file = self.open(key)?;
        read_at(&file, offset, len)
    }
}

fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let size = file.metadata()?.len();
    let available = usize::try_from(size.saturating_sub(offset)).unwrap_or(usize::MAX);
    let mut buf = vec![0; len.min(available)];
    let mut filled = 0;

    while filled < buf.len() {
        match positional_read(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }

    buf.truncate(filled);
    Ok(buf)
}

#[cfg(unix)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_read_with_short_tail() {
        let dir = std::env::temp_dir().join(format!("htsget-storage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x"), b"0123456789").unwrap();
        let storage = LocalStorage::new(&dir);
        assert_eq!(storage.size("x").unwrap(), 10);
        assert_eq!(storage.read("x", 8, 5).unwrap(), b"89");
        assert_eq!(storage.read("x", 20, 5).unwrap(), b"");
        assert_eq!(storage.read_all("x").unwrap(), b"0123456789");
        assert_eq!(
            storage.size("nope").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
