//! Several data roots at once, each under an id prefix: local folders and buckets side by side,
//! behind one [`Storage`].

use std::{io, sync::Arc, time::Duration};

use htsget_core::{
    ByteRange,
    storage::{BoxFuture, Metadata, Object, Presigned, Storage},
};

use crate::config::UrlMode;

/// One data root: the storage behind an id prefix, and where its tickets send clients.
#[derive(Debug)]
pub struct Root {
    /// The id prefix (`archive` serves ids `archive/...`); empty for the root of the rest.
    pub prefix: String,
    /// Its objects.
    pub storage: Arc<dyn Storage>,
    /// Where its ticket URLs point.
    pub urls: UrlMode,
    /// Its directory, for a local root (readiness checks it); `None` for a store.
    pub dir: Option<std::path::PathBuf>,
    /// Whether its Crypt4GH tickets pass stored segments through.
    pub passthrough: bool,
}

/// The data roots, longest prefix first; a key goes to the first whose prefix it starts with
/// (as whole `/`-separated segments), with the prefix taken off.
#[derive(Debug)]
pub struct Roots {
    roots: Vec<Root>,
}

impl Roots {
    /// The roots; prefixes must differ.
    pub fn new(mut roots: Vec<Root>) -> Self {
        roots.sort_by_key(|root| std::cmp::Reverse(root.prefix.len()));
        Self { roots }
    }

    /// The root serving `key`, and the key within it.
    fn route<'k>(&self, key: &'k str) -> Option<(&Root, &'k str)> {
        self.roots.iter().find_map(|root| {
            if root.prefix.is_empty() {
                return Some((root, key));
            }
            let rest = key.strip_prefix(&root.prefix)?.strip_prefix('/')?;
            Some((root, rest))
        })
    }

    /// Why the roots cannot serve now, one reason per root that cannot (empty: ready): a
    /// local root must be a readable directory; a store must answer a HEAD (a missing object
    /// is an answer) within `timeout`. Reasons name roots by prefix, never by path.
    pub async fn unready(&self, timeout: Duration) -> Vec<String> {
        let mut reasons = Vec::new();
        for root in &self.roots {
            let name = if root.prefix.is_empty() {
                "the data root".to_owned()
            } else {
                format!("data root {:?}", root.prefix)
            };
            let ready = match &root.dir {
                Some(dir) => tokio::fs::read_dir(dir).await.is_ok(),
                None => {
                    let probe = root.storage.head(".htsget-readiness-probe");
                    match tokio::time::timeout(timeout, probe).await {
                        Ok(Ok(_)) => true,
                        Ok(Err(e)) => e.kind() == io::ErrorKind::NotFound,
                        Err(_) => false,
                    }
                }
            };
            if !ready {
                reasons.push(format!("{name} is not reachable"));
            }
        }
        reasons
    }

    /// The folders of the local roots.
    pub fn dirs(&self) -> impl Iterator<Item = &std::path::Path> {
        self.roots.iter().filter_map(|root| root.dir.as_deref())
    }

    /// Whether the Crypt4GH tickets of `key` pass stored segments through.
    pub fn passthrough(&self, key: &str) -> bool {
        self.route(key).is_some_and(|(root, _)| root.passthrough)
    }

    /// The folder of the local root holding `key`, and the key's path in it (`None` for a
    /// store).
    pub fn local_path(&self, key: &str) -> Option<(&std::path::Path, std::path::PathBuf)> {
        let (root, rest) = self.route(key)?;
        let dir = root.dir.as_deref()?;
        Some((dir, dir.join(rest)))
    }

    /// Where the tickets of `key` send clients.
    pub fn urls(&self, key: &str) -> UrlMode {
        self.route(key)
            .map_or(UrlMode::Server, |(root, _)| root.urls)
    }
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such object")
}

impl Storage for Roots {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        match self.route(key) {
            Some((root, key)) => root.storage.head(key),
            None => Box::pin(std::future::ready(Err(not_found()))),
        }
    }

    fn heads<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Vec<io::Result<Metadata>>> {
        Box::pin(async move {
            // The keys of one id share its root; asked of it at once, the prefix taken off.
            let routed: Option<Vec<(&Root, &str)>> = keys.iter().map(|k| self.route(k)).collect();
            match routed {
                Some(routed) if routed.windows(2).all(|w| std::ptr::eq(w[0].0, w[1].0)) => {
                    let Some((root, _)) = routed.first() else {
                        return Vec::new();
                    };
                    let inner: Vec<String> = routed.iter().map(|(_, k)| (*k).to_owned()).collect();
                    root.storage.heads(&inner).await
                }
                // Keys of several roots (not one id's): each asked of its own root.
                _ => {
                    let mut found = Vec::with_capacity(keys.len());
                    for key in keys {
                        found.push(self.head(key).await);
                    }
                    found
                }
            }
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        match self.route(key) {
            Some((root, key)) => root.storage.open(key),
            None => Box::pin(std::future::ready(Err(not_found()))),
        }
    }

    fn open_known<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
    ) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        match self.route(key) {
            Some((root, key)) => root.storage.open_known(key, metadata),
            None => Box::pin(std::future::ready(Err(not_found()))),
        }
    }

    fn presign<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
        range: ByteRange,
        ttl: Duration,
    ) -> Option<BoxFuture<'a, io::Result<Presigned>>> {
        let (root, key) = self.route(key)?;
        root.storage.presign(key, metadata, range, ttl)
    }
}

#[cfg(test)]
mod tests {
    use htsget_core::storage::LocalStorage;

    use super::*;

    #[test]
    fn test_route_with_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let local = |urls| Root {
            prefix: String::new(),
            storage: Arc::new(LocalStorage::new(dir.path())),
            urls,
            dir: Some(dir.path().to_owned()),
            passthrough: false,
        };
        let mut archive = local(UrlMode::Direct);
        archive.prefix = "archive".into();
        let roots = Roots::new(vec![local(UrlMode::Server), archive]);

        assert_eq!(roots.route("archive/bam/x.bam").unwrap().1, "bam/x.bam");
        assert_eq!(roots.urls("archive/bam/x.bam"), UrlMode::Direct);
        assert_eq!(roots.route("archived/x.bam").unwrap().1, "archived/x.bam");
        assert_eq!(roots.urls("bam/x.bam"), UrlMode::Server);

        let only = Roots::new(vec![Root {
            prefix: "a".into(),
            storage: Arc::new(LocalStorage::new(dir.path())),
            urls: UrlMode::Server,
            dir: Some(dir.path().join("gone")),
            passthrough: false,
        }]);
        assert!(only.route("b/x.bam").is_none());

        // Readiness: a root whose directory is gone is named by its prefix, not its path.
        let reasons = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(only.unready(Duration::from_secs(1)));
        assert_eq!(reasons, ["data root \"a\" is not reachable"]);
        assert!(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(roots.unready(Duration::from_secs(1)))
                .is_empty()
        );
    }
}
