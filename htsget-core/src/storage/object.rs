//! Objects of S3-compatible, Google Cloud and Azure stores, through Apache Arrow's
//! `object_store` (feature `object-store`).

use std::{io, sync::Arc, time::Duration};

use object_store::{
    ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
    aws::AmazonS3Builder,
    azure::MicrosoftAzureBuilder,
    gcp::GoogleCloudStorageBuilder,
    path::Path,
    signer::{HeaderName, HeaderValue, Method, SignedUrlOptions, Signer},
};

mod stored;

use self::stored::StoreObject;
use super::{BoxFuture, Fault, Identity, Metadata, Object, Presigned, Storage};
use crate::ByteRange;

/// How an [`ObjectStorage`] talks to its store.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct StoreOptions {
    /// The longest one store call may take, retries included: a store that is down or stalled
    /// answers within this, as [`Fault::TimedOut`].
    pub timeout: Duration,
    /// The longest a request to the store may wait for its next bytes (its answer, or the
    /// next chunk of a stream).
    pub request_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// Retries of a failed idempotent request (with exponential backoff).
    pub retries: usize,
    /// `object_store` configuration keys and values (`aws_endpoint`, `aws_allow_http`,
    /// `aws_access_key_id`, ...) applied over those the environment gives.
    pub settings: Vec<(String, String)>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            retries: 3,
            settings: Vec::new(),
        }
    }
}

/// The objects under a prefix of a bucket (or container).
///
/// Keys are joined to the prefix as `object_store` paths, which refuse empty, `.` and `..`
/// segments, so a key never reaches outside the prefix. Each read is a ranged GET that must
/// match the identity (ETag) the object had when opened: a replaced object fails the read with
/// [`Fault::Changed`] instead of mixing versions.
#[derive(Clone, Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    prefix: Path,
    options: StoreOptions,
}

impl ObjectStorage {
    /// The objects of `store` under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path, options: StoreOptions) -> Self {
        Self {
            store,
            signer: None,
            prefix,
            options,
        }
    }

    /// Presigns URLs with `signer` ([`Storage::presign`]).
    pub fn with_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The objects under `url`: `s3://BUCKET[/PREFIX]`, `gs://BUCKET[/PREFIX]` or
    /// `az://CONTAINER[/PREFIX]`, with connection settings and credentials from the standard
    /// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`; `GOOGLE_*`; `AZURE_*`).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for another scheme, a malformed prefix, or settings the
    /// store's builder refuses.
    pub fn from_url(url: &str, options: StoreOptions) -> io::Result<Self> {
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid(format!("not a store URL: {url:?}")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid(format!("no bucket in {url:?}")));
        }
        let prefix = Path::parse(prefix.trim_end_matches('/'))
            .map_err(|e| invalid(format!("bad prefix in {url:?}: {e}")))?;
        let base = format!("{scheme}://{bucket}");

        let retry = RetryConfig {
            max_retries: options.retries,
            retry_timeout: options.timeout,
            ..RetryConfig::default()
        };
        let built = |e: object_store::Error| invalid(format!("store settings for {url:?}: {e}"));

        // The environment first, then the time limits, then the caller's own settings.
        let millis = |d: Duration| format!("{}ms", d.as_millis());
        let mut settings = vec![
            // No limit on a whole request: a stream to a slow client may rightly take long.
            // Calls are bounded by `timeout`, streams by `request_timeout` between chunks.
            ("timeout".to_owned(), "1000000s".to_owned()),
            (
                "connect_timeout".to_owned(),
                millis(options.connect_timeout),
            ),
        ];
        settings.extend(options.settings.iter().cloned());

        macro_rules! build {
            ($builder:ty) => {{
                let mut builder = <$builder>::from_env().with_url(&base).with_retry(retry);
                for (key, value) in &settings {
                    builder = builder.with_config(key.parse().map_err(built)?, value);
                }
                let store = Arc::new(builder.build().map_err(built)?);
                Self::new(store.clone(), prefix, options.clone()).with_signer(store)
            }};
        }

        let storage = match scheme {
            "s3" => build!(AmazonS3Builder),
            "gs" => build!(GoogleCloudStorageBuilder),
            "az" => build!(MicrosoftAzureBuilder),
            _ => return Err(invalid(format!("unsupported store scheme {scheme:?}"))),
        };
        Ok(storage)
    }

    /// The path of `key` under the prefix; keys with empty, `.` or `..` segments are refused.
    fn path(&self, key: &str) -> io::Result<Path> {
        let relative = Path::parse(key).map_err(|_| not_found())?;
        if key.is_empty() || relative.as_ref() != key {
            return Err(not_found());
        }
        Ok(self.prefix.parts().chain(relative.parts()).collect())
    }

    /// How long a stream may wait for its next chunk.
    fn idle(&self) -> Duration {
        self.options.request_timeout.min(self.options.timeout)
    }

    async fn head_path(&self, path: &Path) -> io::Result<Metadata> {
        let meta = within(self.options.timeout, self.store.head(path)).await?;
        Ok(metadata_of(&meta))
    }
}

impl Storage for ObjectStorage {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        Box::pin(async move { self.head_path(&self.path(key)?).await })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        Box::pin(async move {
            let metadata = self.head_path(&self.path(key)?).await?;
            self.open_known(key, &metadata).await
        })
    }

    fn open_known<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
    ) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        Box::pin(async move {
            let object: Arc<dyn Object> = Arc::new(StoreObject {
                store: Arc::clone(&self.store),
                path: self.path(key)?,
                metadata: metadata.clone(),
                timeout: self.options.timeout,
                idle: self.idle(),
            });
            Ok(object)
        })
    }

    fn presign<'a>(
        &'a self,
        key: &'a str,
        metadata: &'a Metadata,
        range: ByteRange,
        ttl: Duration,
    ) -> Option<BoxFuture<'a, io::Result<Presigned>>> {
        let signer = self.signer.as_ref()?;
        Some(Box::pin(async move {
            let path = self.path(key)?;
            // The range and the object's version are signed: the URL reads those bytes of this
            // version, nothing wider, nothing newer.
            let mut headers = vec![("Range".to_owned(), range.to_string())];
            if let Some(tag) = etag(metadata) {
                headers.push(("If-Match".to_owned(), tag));
            }
            let mut options = SignedUrlOptions::default();
            for (name, value) in &headers {
                let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map_err(io::Error::other)?;
                let value = HeaderValue::from_str(value).map_err(io::Error::other)?;
                options = options.with_signed_header(name, value);
            }
            let url = within(
                self.options.timeout,
                signer.signed_url_opts(Method::GET, &path, ttl, &options),
            )
            .await?;
            Ok(Presigned {
                url: url.to_string(),
                headers,
            })
        }))
    }
}

/// The identity of a store's object: its ETag, else its size and modification time.
fn metadata_of(meta: &ObjectMeta) -> Metadata {
    let identity = match &meta.e_tag {
        Some(tag) => format!("etag:{tag}"),
        None => format!(
            "modified:{}:{}",
            meta.size,
            meta.last_modified.timestamp_micros()
        ),
    };
    Metadata::new(meta.size, Identity::new(identity))
}

/// The ETag in `metadata`'s identity, if it has one.
fn etag(metadata: &Metadata) -> Option<String> {
    metadata
        .identity()
        .as_str()
        .strip_prefix("etag:")
        .map(str::to_owned)
}

/// Runs a store call with the overall time limit, mapping its errors.
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = object_store::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(io_error),
        Err(_) => Err(Fault::TimedOut.into()),
    }
}

/// A store error as an I/O error: missing objects are [`io::ErrorKind::NotFound`]; a failed
/// precondition is [`Fault::Changed`]; refused credentials [`Fault::Refused`]; the rest
/// [`Fault::Failed`]. The store's own words go along for the log (they name the request, never
/// a credential).
fn io_error(error: object_store::Error) -> io::Error {
    let fault = match &error {
        object_store::Error::NotFound { .. } => return not_found(),
        object_store::Error::Precondition { .. } => Fault::Changed,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Fault::Refused,
        _ => Fault::Failed,
    };
    fault.with_detail(error)
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such object")
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn test_read_with_prefix_and_replaced_object() {
        let store = Arc::new(InMemory::new());
        let storage = ObjectStorage::new(
            store.clone(),
            Path::parse("archive").unwrap(),
            StoreOptions::default(),
        );

        run(async {
            let path = Path::parse("archive/bam/x.bam").unwrap();
            store
                .put(&path, b"0123456789".to_vec().into())
                .await
                .unwrap();

            let object = storage.open("bam/x.bam").await.unwrap();
            assert_eq!(object.size(), 10);
            assert_eq!(object.read(8, 5).await.unwrap(), b"89");
            assert_eq!(object.read(20, 5).await.unwrap(), b"");

            for key in ["", "../x.bam", "bam//x.bam", "bam/./x.bam", "/bam/x.bam"] {
                let error = storage.head(key).await.unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::NotFound, "{key:?}");
            }

            store
                .put(&path, b"abcdefghij".to_vec().into())
                .await
                .unwrap();
            let error = object.read(0, 4).await.unwrap_err();
            assert!(matches!(Fault::of(&error), Some(Fault::Changed)), "{error}");
        });
    }
}
