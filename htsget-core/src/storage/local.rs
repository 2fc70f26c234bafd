//! Files under a local directory, with the filesystem's containment rules.

use std::{
    collections::HashMap,
    fs::{self, File},
    io,
    path::{Component, Path, PathBuf},
    sync::{Arc, RwLock},
    time::UNIX_EPOCH,
};

use super::{BoxFuture, Identity, Metadata, Object, Storage, blocking};

/// How many checked paths [`LocalStorage`] remembers before it starts afresh.
const CHECKED_PATHS: usize = 4096;

/// Files under a local directory.
///
/// Only regular files are served, and only those that lie under the root once symbolic links
/// are resolved (unless [`LocalStorage::follow_symlinks`] allows links out of it). That check
/// walks the path, so its answer is remembered per path and file identity: a path is checked
/// again whenever the file it reaches changes (a replaced file, a re-pointed link).
///
/// Metadata calls ([`Storage::head`], [`Storage::open`]) run on the caller's thread (a `stat`
/// and an `open`); reads, which may wait on a disk, run on tokio's blocking pool inside a
/// tokio runtime (feature `tokio`).
#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: Arc<Path>,
    follow_symlinks: bool,
    checked: Arc<RwLock<HashMap<PathBuf, (FileId, bool)>>>,
}

impl LocalStorage {
    /// Storage of the files under `root` (made canonical where it exists).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            root: root.canonicalize().unwrap_or(root).into(),
            follow_symlinks: false,
            checked: Arc::default(),
        }
    }

    /// Whether symbolic links may lead outside the root (default: no).
    pub fn follow_symlinks(mut self, follow: bool) -> Self {
        self.follow_symlinks = follow;
        self
    }

    /// The root directory, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key` under the root. Keys that are empty, absolute or step outside the root
    /// (`..`, `.`) are refused.
    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && !key.contains('\0')
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));

        if safe {
            let mut path = PathBuf::with_capacity(
                self.root.as_os_str().len() + 1 + relative.as_os_str().len(),
            );
            path.push(&self.root);
            path.push(relative);
            Ok(path)
        } else {
            Err(not_found())
        }
    }

    /// The metadata of the regular file at `path`, which must lie inside the root.
    fn check(&self, path: PathBuf) -> io::Result<(PathBuf, FileId, Metadata)> {
        let metadata = path.metadata()?;
        if !metadata.is_file() {
            return Err(not_found());
        }

        let id = FileId::of(&metadata);
        let seen = self.checked.read().ok().and_then(|c| c.get(&path).copied());
        let inside = match seen {
            Some((seen, inside)) if seen == id => inside,
            _ => {
                let inside = self.follow_symlinks || path.canonicalize()?.starts_with(&self.root);
                if let Ok(mut checked) = self.checked.write() {
                    if checked.len() >= CHECKED_PATHS {
                        checked.clear();
                    }
                    checked.insert(path.clone(), (id, inside));
                }
                inside
            }
        };

        if inside {
            Ok((path, id, Metadata::new(id.size, id.identity())))
        } else {
            Err(not_found())
        }
    }
}

impl Storage for LocalStorage {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        // File system calls block: they run where they cannot stall an async worker.
        let (this, path) = (self.clone(), self.path(key));
        Box::pin(blocking(move || Ok(this.check(path?)?.2)))
    }

    fn heads<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Vec<io::Result<Metadata>>> {
        let paths: Vec<_> = keys.iter().map(|key| self.path(key)).collect();
        let this = self.clone();
        Box::pin(async move {
            let checked = blocking(move || {
                Ok(paths
                    .into_iter()
                    .map(|path| Ok(this.check(path?)?.2))
                    .collect::<Vec<_>>())
            })
            .await;
            checked.unwrap_or_else(|e| {
                let kind = e.kind();
                keys.iter()
                    .map(|_| Err(io::Error::new(kind, "blocking pool")))
                    .collect()
            })
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        let (this, path) = (self.clone(), self.path(key));
        Box::pin(blocking(move || {
            // Checked before opening: opening a FIFO or a device could block or never end.
            let (path, id, metadata) = this.check(path?)?;
            let file = File::open(path)?;

            if FileId::of(&file.metadata()?) != id {
                // Replaced between the check and the open.
                return Err(not_found());
            }

            let object: Arc<dyn Object> = Arc::new(LocalObject {
                file: Arc::new(file),
                metadata,
            });
            Ok(object)
        }))
    }
}

/// An open local file.
#[derive(Debug)]
struct LocalObject {
    file: Arc<File>,
    metadata: Metadata,
}

impl Object for LocalObject {
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn read_at(&self, offset: u64, mut buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let file = Arc::clone(&self.file);
        Box::pin(blocking(move || {
            let filled = read_full_at(&file, &mut buf, offset)?;
            buf.truncate(filled);
            Ok(buf)
        }))
    }
}

/// Reads into all of `buf` at `offset`, or up to the end of the file; the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;

    while filled < buf.len() {
        match positional_read(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }

    Ok(filled)
}

#[cfg(unix)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such object")
}

/// A file's identity: device, inode, size and modification time — what changes when the file
/// is replaced or a link is re-pointed.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
struct FileId {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: u128,
}

impl FileId {
    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);

        let modified_ns = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());

        Self {
            device,
            inode,
            size: metadata.len(),
            modified_ns,
        }
    }

    fn identity(self) -> Identity {
        let Self {
            device,
            inode,
            size,
            modified_ns,
        } = self;
        Identity::new(format!("{device}:{inode}:{size}:{modified_ns}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::read_all;
    use crate::storage::test_run as run;

    #[test]
    fn test_read_with_short_tail() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), b"0123456789").unwrap();
        let storage = LocalStorage::new(dir.path());

        run(async {
            let object = storage.open("x").await.unwrap();
            assert_eq!(object.size(), 10);
            assert_eq!(object.read(8, 5).await.unwrap(), b"89");
            assert_eq!(object.read(20, 5).await.unwrap(), b"");
            assert_eq!(read_all(&*object).await.unwrap(), b"0123456789");
            assert_eq!(
                storage.head("nope").await.unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
        });
    }

    #[test]
    fn test_open_with_unsafe_keys() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        let storage = LocalStorage::new(dir.path().join("d"));
        fs::write(dir.path().join("secret"), b"s").unwrap();

        run(async {
            for key in [
                "",
                "../secret",
                "/etc/passwd",
                "a/../../secret",
                "./x",
                "a\0b",
            ] {
                let error = storage.open(key).await.unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::NotFound, "{key:?}");
            }
            // A directory is not an object.
            fs::create_dir(dir.path().join("d/sub")).unwrap();
            assert!(storage.head("sub").await.is_err());
        });
    }

    #[cfg(unix)]
    #[test]
    fn test_head_with_symlink_out_of_root() {
        let base = tempfile::tempdir().unwrap();
        let (root, outside) = (base.path().join("root"), base.path().join("outside"));
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("s.bam"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("s.bam"), root.join("s.bam")).unwrap();
        let strict = LocalStorage::new(&root);
        let lenient = LocalStorage::new(&root).follow_symlinks(true);

        run(async {
            assert!(strict.head("s.bam").await.is_err());
            assert!(
                strict.open("s.bam").await.is_err(),
                "the cached answer holds"
            );
            assert!(lenient.open("s.bam").await.is_ok());

            // Re-pointing the link at a file inside the root is noticed.
            fs::write(root.join("in.bam"), b"y").unwrap();
            fs::remove_file(root.join("s.bam")).unwrap();
            std::os::unix::fs::symlink(root.join("in.bam"), root.join("s.bam")).unwrap();
            assert!(strict.head("s.bam").await.is_ok());
        });
    }

    #[test]
    fn test_head_with_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        fs::write(dir.path().join("x"), b"one").unwrap();

        run(async {
            let before = storage.head("x").await.unwrap();
            fs::write(dir.path().join("x.new"), b"three").unwrap();
            fs::rename(dir.path().join("x.new"), dir.path().join("x")).unwrap();
            let after = storage.head("x").await.unwrap();
            assert_ne!(before.identity(), after.identity());
            assert_eq!(after.size(), 5);
        });
    }
}
