//! Read buffers recycled within one stream, so a long download allocates a few buffers once
//! instead of one per chunk: memory stays flat however many gigabytes go through.

use std::sync::mpsc::{Receiver, Sender, channel};

use bytes::Bytes;

/// The buffers of one stream.
pub(crate) struct Pool {
    free: Receiver<Vec<u8>>,
    home: Sender<Vec<u8>>,
    made: usize,
    max: usize,
}

impl Pool {
    /// A pool that makes at most `max` buffers.
    pub(crate) fn new(max: usize) -> Self {
        let (home, free) = channel();
        Self {
            free,
            home,
            made: 0,
            max,
        }
    }

    /// A buffer of `len` bytes: one given back, a new one while fewer than the most exist, or
    /// else the next one given back (blocking). `None` if none can come back.
    pub(crate) fn take(&mut self, len: usize) -> Option<Vec<u8>> {
        let mut buf = match self.free.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.made < self.max => {
                self.made += 1;
                Vec::with_capacity(len)
            }
            Err(_) => self.free.recv().ok()?,
        };
        buf.resize(len, 0);
        Some(buf)
    }

    /// `buf` as a body frame; its memory comes back to the pool when the frame is dropped.
    pub(crate) fn frame(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Recycled {
            buf,
            home: self.home.clone(),
        })
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
        let mut pool = Pool::new(2);
        let a = pool.take(10).unwrap();
        let address = a.as_ptr();
        let frame = pool.frame(a);
        assert_eq!(frame.len(), 10);
        let b = pool.take(5).unwrap();
        drop(frame);
        // The third buffer is the first one, given back.
        let c = pool.take(8).unwrap();
        assert_eq!(c.as_ptr(), address);
        assert_eq!((b.len(), c.len()), (5, 8));
    }
}
