//! Edit lists: alternating lengths to discard and keep, starting with a discard, applied to
//! the concatenated plaintext of the segments as sent. An odd count ends on a discard (the
//! rest is kept); an even count ends on a keep (the rest is dropped).

/// Builds the edit list of a stream made of pieces, each `(padding_before, keep, padding_after)`
/// bytes in order: the kept bytes of every piece, the rest discarded. Adjacent discards merge;
/// the list ends on a keep, so anything after the last piece is dropped.
pub fn build(pieces: impl IntoIterator<Item = (u64, u64, u64)>) -> Vec<u64> {
    let mut list: Vec<u64> = Vec::new();
    let mut discard = 0;
    for (before, keep, after) in pieces {
        discard += before;
        if keep == 0 {
            discard += after;
            continue;
        }
        if list.is_empty() || discard > 0 {
            list.push(discard);
            list.push(keep);
        } else {
            // No discard between two keeps: one keep.
            *list.last_mut().expect("a keep") += keep;
        }
        discard = after;
    }
    list
}

/// Applies `edits` to `plain` (the whole stream's plaintext): the bytes a reader keeps.
pub fn apply(edits: &[u64], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0_usize;
    for (i, &len) in edits.iter().enumerate() {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let end = at.saturating_add(len).min(plain.len());
        if i % 2 == 1 {
            out.extend_from_slice(&plain[at..end]);
        }
        at = end;
    }
    if edits.len() % 2 == 1 {
        out.extend_from_slice(&plain[at..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_build_merges_and_apply_keeps() {
        let list = build([(5, 10, 3), (0, 4, 0), (2, 0, 7), (1, 6, 100)]);
        assert_eq!(list, [5, 10, 3, 4, 10, 6]);
        let plain: Vec<u8> = (0..=255).collect();
        let kept = apply(&list, &plain);
        let expected: Vec<u8> = (5..15).chain(18..22).chain(32..38).collect();
        assert_eq!(kept, expected);
        // Two adjacent keeps merge.
        assert_eq!(build([(0, 3, 0), (0, 4, 2)]), [0, 7]);
        // An odd list keeps the rest; the spec's example shape.
        assert_eq!(apply(&[2, 3, 1], b"abcdefghij"), b"cdeghij");
        assert!(build([]).is_empty());
    }
}
