//! Read buffers recycled within one stream, so a long download allocates a few buffers once
//! instead of one per chunk: memory stays flat however many gigabytes go through.

use std::sync::mpsc::{Receiver, Sender, channel};

use bytes::Bytes;

/// The buffers of one stream. It makes a new buffer only when none has come back, so it holds
/// as many as the stream has in flight at once (reads ahead, and frames not yet written).
pub(crate) struct Pool {
    free: Receiver<Vec<u8>>,
    home: Home,
}

impl Pool {
    /// An empty pool.
    pub(crate) fn new() -> Self {
        let (home, free) = channel();
        Self {
            free,
            home: Home(home),
        }
    }

    /// A buffer of `len` bytes: one given back, or a new one.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        let mut buf = self.free.try_recv().unwrap_or_default();
        buf.resize(len, 0);
        buf
    }

    /// A buffer given back, as long as it was (so it is not zeroed again), or an empty one.
    #[cfg(feature = "crypt4gh")]
    pub(crate) fn take_any(&mut self) -> Vec<u8> {
        self.free.try_recv().unwrap_or_default()
    }

    /// Where frames give their buffers back.
    pub(crate) fn home(&self) -> Home {
        self.home.clone()
    }
}

/// The way back to a [`Pool`].
#[derive(Clone)]
pub(crate) struct Home(Sender<Vec<u8>>);

impl Home {
    /// `buf` as a body frame; its memory comes back to the pool when the frame is dropped.
    pub(crate) fn frame(self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Recycled { buf, home: self.0 })
    }
}

impl Home {
    /// Gives `buf` back without a frame (a buffer used for work, not sent).
    #[cfg(feature = "crypt4gh")]
    pub(crate) fn give(&self, buf: Vec<u8>) {
        let _ = self.0.send(buf);
    }
}

/// A buffer on loan to a frame.
struct Recycled {
    buf: Vec<u8>,
    home: Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let _ = self.home.send(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_take_with_frames_given_back() {
        let mut pool = Pool::new();
        let a = pool.take(10);
        let address = a.as_ptr();
        let frame = pool.home().frame(a);
        assert_eq!(frame.len(), 10);
        let b = pool.take(5);
        drop(frame);
        // The third buffer is the first one, given back.
        let c = pool.take(8);
        assert_eq!(c.as_ptr(), address);
        assert_eq!((b.len(), c.len()), (5, 8));
    }
}
