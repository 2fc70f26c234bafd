//! An opened object of a store: ranged GETs checked against the opened version.

use std::{io, sync::Arc, time::Duration};

use object_store::{GetOptions, GetRange, ObjectStore, path::Path};

use super::{etag, io_error, within};
use crate::{
    ByteRange,
    storage::{BoxFuture, ByteStream, Fault, Metadata, Object},
};

/// An opened object of a store.
#[derive(Debug)]
pub(super) struct StoreObject {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) path: Path,
    pub(super) metadata: Metadata,
    pub(super) timeout: Duration,
    pub(super) idle: Duration,
}

/// The chunks a stream's fetching task sends.
struct Received(tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>);

impl futures_core::Stream for Received {
    type Item = io::Result<bytes::Bytes>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

impl Object for StoreObject {
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn stream(&self, range: ByteRange) -> Option<ByteStream> {
        let (store, path, timeout) = (Arc::clone(&self.store), self.path.clone(), self.timeout);
        let if_match = etag(&self.metadata);
        let idle = self.idle;
        let (sender, receiver) = tokio::sync::mpsc::channel(2);

        // One ranged GET, its body forwarded as it arrives (the channel bounds what is held).
        tokio::spawn(async move {
            let fetch = async {
                let options = GetOptions {
                    range: Some(GetRange::Bounded(range.start()..range.end())),
                    if_match,
                    ..GetOptions::default()
                };
                let mut chunks = within(timeout, store.get_opts(&path, options))
                    .await?
                    .into_stream();
                let mut sent = 0;
                while sent < range.len() {
                    let next = std::future::poll_fn(|cx| chunks.as_mut().poll_next(cx));
                    let chunk = match tokio::time::timeout(idle, next).await {
                        Err(_) => return Err(Fault::TimedOut.into()),
                        Ok(None) => break,
                        Ok(Some(chunk)) => chunk.map_err(io_error)?,
                    };
                    sent += chunk.len() as u64;
                    if sender.send(Ok(chunk)).await.is_err() {
                        return Ok(()); // the reader went away
                    }
                }
                if sent == range.len() {
                    Ok(())
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the store ended the range early",
                    ))
                }
            };
            if let Err(e) = fetch.await {
                let _ = sender.send(Err(e)).await;
            }
        });

        Some(Box::pin(Received(receiver)))
    }

    fn read_at(&self, offset: u64, mut buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let (store, path, timeout) = (Arc::clone(&self.store), self.path.clone(), self.timeout);
        let size = self.metadata.size();
        let if_match = etag(&self.metadata);

        Box::pin(async move {
            let end = offset.saturating_add(buf.len() as u64).min(size);
            if offset >= end {
                buf.clear();
                return Ok(buf);
            }

            let options = GetOptions {
                range: Some(GetRange::Bounded(offset..end)),
                if_match,
                ..GetOptions::default()
            };
            let bytes = within(timeout, async {
                store.get_opts(&path, options).await?.bytes().await
            })
            .await?;

            if bytes.len() as u64 != end - offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the store sent another length than asked",
                ));
            }
            buf.truncate(bytes.len());
            buf.copy_from_slice(&bytes);
            Ok(buf)
        })
    }
}
