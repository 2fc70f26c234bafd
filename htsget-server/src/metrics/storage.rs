//! A storage decorator that counts an object store's calls and failures: `head`, `open`
//! (which is a HEAD too), `get` (a ranged read or stream), `presign`.

use std::{io, sync::Arc, time::Duration};

use htsget_core::{
    ByteRange,
    storage::{BoxFuture, ByteStream, Metadata, Object, Presigned, Storage},
};

use super::Metrics;

/// `S`, counted in `metrics`.
#[derive(Debug)]
pub(crate) struct Counted {
    inner: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
}

impl Counted {
    pub(crate) fn new(inner: Arc<dyn Storage>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

fn failed<T>(result: &io::Result<T>) -> bool {
    // A missing object is an answer, not a failure of the store.
    matches!(result, Err(e) if e.kind() != io::ErrorKind::NotFound)
}

impl Storage for Counted {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        Box::pin(async move {
            let result = self.inner.head(key).await;
            self.metrics.store("head", failed(&result));
            result
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        Box::pin(async move {
            let result = self.inner.open(key).await;
            self.metrics.store("head", failed(&result));
            result.map(|object| self.wrap(object))
        })
    }

    fn open_known<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
    ) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        Box::pin(async move {
            let object = self.inner.open_known(key, metadata).await?;
            Ok(self.wrap(object))
        })
    }

    fn presign<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
        range: ByteRange,
        ttl: Duration,
    ) -> Option<BoxFuture<'a, io::Result<Presigned>>> {
        let presigning = self.inner.presign(key, metadata, range, ttl)?;
        Some(Box::pin(async move {
            let result = presigning.await;
            self.metrics.store("presign", failed(&result));
            result
        }))
    }
}

impl Counted {
    fn wrap(&self, inner: Arc<dyn Object>) -> Arc<dyn Object> {
        Arc::new(CountedObject {
            inner,
            metrics: Arc::clone(&self.metrics),
        })
    }
}

#[derive(Debug)]
struct CountedObject {
    inner: Arc<dyn Object>,
    metrics: Arc<Metrics>,
}

impl Object for CountedObject {
    fn metadata(&self) -> &Metadata {
        self.inner.metadata()
    }

    fn read_at(&self, offset: u64, buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let reading = self.inner.read_at(offset, buf);
        let metrics = Arc::clone(&self.metrics);
        Box::pin(async move {
            let result = reading.await;
            metrics.store("get", failed(&result));
            result
        })
    }

    fn stream(&self, range: ByteRange) -> Option<ByteStream> {
        use futures_util::StreamExt as _;
        let stream = self.inner.stream(range)?;
        let metrics = Arc::clone(&self.metrics);
        metrics.store("get", false);
        Some(Box::pin(stream.inspect(move |item| {
            if item.is_err() {
                metrics.store("get-stream", true);
            }
        })))
    }
}
