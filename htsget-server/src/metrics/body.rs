//! Counting response bodies: the bytes actually sent, and, for data responses, the number of
//! streams open (a stream closes when its body is dropped: finished, or the client gone).

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, SizeHint};

use super::{Metrics, families::Endpoint};
use crate::body::Body as BoxBody;

/// `body`, its data frames counted as bytes served by `endpoint`, and counted as an open
/// stream while it lives when `stream` is set.
pub(super) fn counted(
    body: BoxBody,
    metrics: &Arc<Metrics>,
    endpoint: &'static str,
    stream: bool,
) -> BoxBody {
    if stream {
        metrics.families.open_streams.inc();
    }
    let counter = metrics
        .families
        .bytes
        .get_or_create(&Endpoint { endpoint })
        .clone();
    Counting {
        inner: body,
        counter,
        metrics: stream.then(|| Arc::clone(metrics)),
    }
    .boxed_unsync()
}

struct Counting {
    inner: BoxBody,
    counter: prometheus_client::metrics::counter::Counter,
    /// Set for a counted open stream.
    metrics: Option<Arc<Metrics>>,
}

impl Drop for Counting {
    fn drop(&mut self) {
        if let Some(metrics) = &self.metrics {
            metrics.families.open_streams.dec();
        }
    }
}

impl Body for Counting {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &poll
            && let Some(data) = frame.data_ref()
        {
            self.counter.inc_by(data.len() as u64);
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
