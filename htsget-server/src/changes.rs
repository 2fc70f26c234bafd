//! Changes to local data folders as the kernel reports them (inotify), so a warm ticket over
//! local files needs no file-system call: where an id was found stays trusted until a folder
//! it lives in reports a change.
//!
//! The watch is added before the files are looked at and the count of changes read after, so a
//! change made after the look is never missed: it moves the count past the one the look was
//! stored with. Reading the count drains the kernel's queue with a non-blocking read, which never
//! waits on a disk. Where inotify is missing (other systems, the watch limit reached) nothing is
//! trusted and every ticket looks again, as `--revalidate 0` does.

use std::path::{Path, PathBuf};

/// The changes seen in watched folders.
#[derive(Debug)]
pub(crate) struct Changes {
    #[cfg(target_os = "linux")]
    inner: Option<linux::Watcher>,
}

/// A count of changes: where an id was found is trusted while the count stays the same.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct Count(u64);

impl Changes {
    /// A watcher, or one that trusts nothing if the kernel gives none.
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            inner: linux::Watcher::new()
                .inspect_err(|e| tracing::warn!(error = %e, "no inotify: local files are checked on every ticket"))
                .ok(),
        }
    }

    /// A watcher that trusts nothing (where time-based revalidation is used instead).
    pub(crate) fn off() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            inner: None,
        }
    }

    /// Watches each of `folders` for changes to its entries (and to itself); `false` if one
    /// cannot be watched. Blocks (the kernel resolves the paths): call it on the blocking pool.
    pub(crate) fn watch(&self, folders: &[PathBuf]) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(watcher) = &self.inner {
            return folders.iter().all(|folder| watcher.watch(folder));
        }
        let _ = folders;
        false
    }

    /// The count of changes so far, the kernel's queue drained (without waiting); `None` if
    /// changes cannot be known.
    pub(crate) fn count(&self) -> Option<Count> {
        #[cfg(target_os = "linux")]
        if let Some(watcher) = &self.inner {
            return watcher.count().map(Count);
        }
        None
    }
}

/// The folders whose changes could change what `path` under `root` names: each from `root`
/// down to the one holding it (a folder reached through a link is watched where the link leads,
/// and the link itself is an entry of the folder above).
pub(crate) fn folders(root: &Path, path: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<_> = path
        .ancestors()
        .skip(1)
        .take_while(|folder| folder.starts_with(root))
        .map(Path::to_owned)
        .collect();
    folders.reverse();
    folders
}

/// Whether `path` is a file of its folder, not a link to one elsewhere (whose changes its
/// folder would not report). Blocks: call it on the blocking pool.
pub(crate) fn is_plain_entry(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|metadata| !metadata.file_type().is_symlink())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::{
        collections::HashMap,
        io,
        path::{Path, PathBuf},
        sync::{
            Mutex,
            atomic::{AtomicU64, Ordering},
        },
    };

    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};

    /// What a watched folder reports: any entry created, removed, renamed, written or changed,
    /// and the folder itself removed or moved.
    fn mask() -> WatchMask {
        WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
    }

    #[derive(Debug)]
    pub(super) struct Watcher {
        /// The instance, locked while its queue is drained.
        inotify: Mutex<Inotify>,
        /// Adds watches without the queue's lock (adding resolves a path, which may block).
        watches: Watches,
        /// The folders watched, by watch.
        folders: Mutex<HashMap<WatchDescriptor, PathBuf>>,
        /// Changes seen so far.
        count: AtomicU64,
        /// The count is unknown: the queue could not be read.
        broken: std::sync::atomic::AtomicBool,
    }

    impl Watcher {
        pub(super) fn new() -> io::Result<Self> {
            let inotify = Inotify::init()?;
            Ok(Self {
                watches: inotify.watches(),
                inotify: Mutex::new(inotify),
                folders: Mutex::new(HashMap::new()),
                count: AtomicU64::new(0),
                broken: std::sync::atomic::AtomicBool::new(false),
            })
        }

        pub(super) fn watch(&self, folder: &Path) -> bool {
            if self
                .folders
                .lock()
                .is_ok_and(|folders| folders.values().any(|f| f == folder))
            {
                return true;
            }
            let mut watches = self.watches.clone();
            match watches.add(folder, mask()) {
                Ok(watch) => {
                    if let Ok(mut folders) = self.folders.lock() {
                        folders.insert(watch, folder.to_owned());
                    }
                    true
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a data folder cannot be watched");
                    false
                }
            }
        }

        pub(super) fn count(&self) -> Option<u64> {
            let mut inotify = self.inotify.lock().ok()?;
            let mut buffer = [0u8; 4096];
            loop {
                match inotify.read_events(&mut buffer) {
                    Ok(events) => {
                        let mut seen = 0;
                        for event in events {
                            seen += 1;
                            if event.mask.contains(EventMask::IGNORED)
                                && let Ok(mut folders) = self.folders.lock()
                            {
                                // The folder went away: watch it anew when it is asked for.
                                folders.remove(&event.wd);
                            }
                        }
                        if seen == 0 {
                            break;
                        }
                        self.count.fetch_add(seen, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        if !self.broken.swap(true, Ordering::Relaxed) {
                            tracing::warn!(error = %e, "inotify cannot be read: local files are checked on every ticket");
                        }
                        return None;
                    }
                }
            }
            (!self.broken.load(Ordering::Relaxed)).then(|| self.count.load(Ordering::Relaxed))
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn test_count_with_changes_in_a_watched_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().canonicalize().unwrap();
        let changes = Changes::new();
        assert!(changes.watch(std::slice::from_ref(&folder)));
        let before = changes.count().unwrap();
        assert_eq!(changes.count(), Some(before), "nothing changed");

        // Each kind of change moves the count, seen at the next read.
        let file = folder.join("x.bam");
        std::fs::write(&file, b"1").unwrap();
        let written = changes.count().unwrap();
        assert_ne!(written, before);

        let staged = folder.join("staged");
        std::fs::write(&staged, b"2").unwrap();
        let staged_count = changes.count().unwrap();
        std::fs::rename(&staged, &file).unwrap();
        let renamed = changes.count().unwrap();
        assert_ne!(renamed, staged_count);

        std::fs::remove_file(&file).unwrap();
        assert_ne!(changes.count().unwrap(), renamed);
    }

    #[test]
    fn test_count_with_changes_elsewhere_unmoved() {
        let (watched, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let changes = Changes::new();
        assert!(changes.watch(&[watched.path().to_owned()]));
        let before = changes.count();
        std::fs::write(other.path().join("x"), b"1").unwrap();
        assert_eq!(changes.count(), before);
        assert!(!changes.watch(&[other.path().join("missing")]));
        assert!(!Changes::off().watch(&[watched.path().to_owned()]));
        assert_eq!(Changes::off().count(), None);
    }

    #[test]
    fn test_folders_from_the_root_down() {
        let root = Path::new("/srv/data");
        assert_eq!(
            folders(root, &root.join("a/b/x.bam")),
            [root.to_owned(), root.join("a"), root.join("a/b")]
        );
        assert_eq!(folders(root, &root.join("x.bam")), [root.to_owned()]);
    }

    #[test]
    fn test_is_plain_entry_with_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("a")).unwrap();
        std::fs::write(root.join("a/x.bam"), b"").unwrap();
        std::os::unix::fs::symlink(root.join("a/x.bam"), root.join("y.bam")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("b")).unwrap();
        assert!(is_plain_entry(&root.join("a/x.bam")));
        // Through a linked folder: a file of the folder the link leads to, which is watched.
        assert!(is_plain_entry(&root.join("b/x.bam")));
        assert!(!is_plain_entry(&root.join("y.bam")));
        assert!(!is_plain_entry(&root.join("missing.bam")));
    }
}
