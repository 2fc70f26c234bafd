//! How a Crypt4GH stream made of pieces is laid out in segments: the pure arithmetic of
//! re-encrypting (each piece in fresh segments padded at its end) and of passing stored
//! segments through (a window of the file's own segments), and the edit list that keeps exactly
//! the pieces' bytes.

use super::{
    edits,
    segments::{ENCRYPTED, PLAIN},
};
use crate::ByteRange;

/// Zeros that fill `len` bytes up to a whole number of segments.
///
/// # Examples
///
/// ```
/// use htsget_core::crypt4gh::layout::padding;
/// assert_eq!(padding(0), 0);
/// assert_eq!(padding(1), 65_535);
/// assert_eq!(padding(65_536), 0);
/// ```
pub fn padding(len: u64) -> u64 {
    (PLAIN - len % PLAIN) % PLAIN
}

/// The encrypted size of `len` plaintext bytes in fresh segments, the last padded to a whole
/// segment.
///
/// # Examples
///
/// ```
/// use htsget_core::crypt4gh::layout::sealed_size;
/// assert_eq!(sealed_size(0), 0);
/// assert_eq!(sealed_size(1), 65_564);
/// assert_eq!(sealed_size(65_537), 2 * 65_564);
/// ```
pub fn sealed_size(len: u64) -> u64 {
    len.div_ceil(PLAIN) * ENCRYPTED
}

/// The stored segments that hold a plaintext range of a file, and how they are sent: whole
/// segments as they are stored, except a short final segment of the file, which a stream may
/// not carry before other segments (only a stream's last segment may be short), so it goes
/// re-encrypted and padded instead.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Window {
    /// The first segment.
    pub first: u64,
    /// The last segment (inclusive).
    pub last: u64,
    /// The plaintext bytes of the first segment before the range.
    pub before: u64,
    /// The plaintext bytes after the range to the end of the last segment, as sent (padding
    /// included).
    pub after: u64,
    /// The last stored segment sent as it is, if any: `last`, or `last - 1` when the last is
    /// the file's short final segment.
    pub stored_last: Option<u64>,
}

impl Window {
    /// The window of `range` (non-empty) in a file of `plain_size` plaintext bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ByteRange, crypt4gh::layout::Window};
    /// // Bytes 10..70000 of a file of 100000 bytes: segment 0 whole, segment 1 the short final
    /// // segment, re-encrypted.
    /// let window = Window::of(ByteRange::new(10, 70_000), 100_000);
    /// assert_eq!((window.first, window.last, window.stored_last), (0, 1, Some(0)));
    /// assert_eq!((window.before, window.after), (10, 2 * 65_536 - 70_000));
    /// ```
    pub fn of(range: ByteRange, plain_size: u64) -> Self {
        let (first, last) = (range.start() / PLAIN, (range.end() - 1) / PLAIN);
        let final_segment = plain_size.div_ceil(PLAIN).saturating_sub(1);
        let short_final = !plain_size.is_multiple_of(PLAIN);
        let stored_last = if last == final_segment && short_final {
            last.checked_sub(1).filter(|l| *l >= first)
        } else {
            Some(last)
        };
        Self {
            first,
            last,
            before: range.start() - first * PLAIN,
            after: (last + 1) * PLAIN - range.end(),
            stored_last,
        }
    }

    /// Whether the last segment goes re-encrypted rather than as stored.
    pub fn reseals_last(&self) -> bool {
        self.stored_last != Some(self.last)
    }
}

/// The pieces of a stream, in order, each as bytes discarded before it, kept, and discarded
/// after it; [`Layout::edits`] is the stream's edit list.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Layout {
    pieces: Vec<(u64, u64, u64)>,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` bytes in fresh segments, padded to a whole segment (`last`: the stream's last
    /// piece, left short).
    pub fn push_sealed(&mut self, len: u64, last: bool) {
        let pad = if last { 0 } else { padding(len) };
        self.pieces.push((0, len, pad));
    }

    /// A window of stored segments holding `len` bytes.
    pub fn push_window(&mut self, window: &Window, len: u64) {
        self.pieces.push((window.before, len, window.after));
    }

    /// The edit list: every piece's kept bytes, nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::crypt4gh::{edits, layout::Layout};
    /// let mut layout = Layout::new();
    /// layout.push_sealed(3, false);
    /// layout.push_sealed(2, true);
    /// assert_eq!(layout.edits(), [0, 3, 65_533, 2]);
    /// ```
    pub fn edits(&self) -> Vec<u64> {
        edits::build(self.pieces.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_window_of_with_whole_and_short_final_segments() {
        // A file of exactly two segments: nothing re-encrypted.
        let whole = Window::of(ByteRange::new(PLAIN - 1, PLAIN + 1), 2 * PLAIN);
        assert_eq!((whole.first, whole.last), (0, 1));
        assert_eq!((whole.before, whole.after), (PLAIN - 1, PLAIN - 1));
        assert!(!whole.reseals_last());

        // Only the short final segment: nothing stored goes.
        let tail = Window::of(ByteRange::new(PLAIN + 5, PLAIN + 9), PLAIN + 10);
        assert_eq!((tail.first, tail.last, tail.stored_last), (1, 1, None));
        assert!(tail.reseals_last());

        // A range ending before the final segment is all stored.
        let head = Window::of(ByteRange::new(0, 10), 3 * PLAIN + 1);
        assert_eq!(head.stored_last, Some(0));
        assert_eq!(head.after, PLAIN - 10);
    }

    #[test]
    fn test_edits_keep_exactly_the_pieces() {
        // Three pieces: sealed (padded), a window, sealed last (short).
        let mut layout = Layout::new();
        layout.push_sealed(10, false);
        let window = Window::of(ByteRange::new(7, 20), 10 * PLAIN);
        layout.push_window(&window, 13);
        layout.push_sealed(4, true);

        // The stream as sent: 10 bytes + padding; segment 0 of the file; 4 bytes.
        let mut plain = vec![1_u8; 10];
        plain.resize(PLAIN as usize, 0);
        let file: Vec<u8> = (0..PLAIN).map(|i| (i % 251) as u8).collect();
        plain.extend(&file);
        plain.extend([9; 4]);

        let kept = edits::apply(&layout.edits(), &plain);
        let mut expected = vec![1_u8; 10];
        expected.extend(&file[7..20]);
        expected.extend([9; 4]);
        assert_eq!(kept, expected);
    }

    #[test]
    fn test_push_sealed_of_whole_segments_needs_no_discard() {
        let mut layout = Layout::new();
        layout.push_sealed(PLAIN, false);
        layout.push_sealed(PLAIN, false);
        assert_eq!(layout.edits(), [0, 2 * PLAIN]);
    }
}
