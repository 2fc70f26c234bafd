//! The HTTP `Range` header of the data endpoint: one byte range, checked against the file size.
//!
//! Public so that the fuzz targets (`fuzz/`) can reach it; the server's own use is in the data
//! endpoint.

use htsget_core::ByteRange;

/// Parses `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX` against a file of `size` bytes,
/// giving a non-empty [`ByteRange`] (end exclusive) with `end <= size`.
///
/// Several ranges, bad syntax and ranges that start at or past the end are refused (`None`: the
/// server answers 416); a `LAST` past the end is cut to the file.
///
/// # Examples
///
/// ```
/// use htsget_core::ByteRange;
/// use htsget_server::range::parse_range;
/// assert_eq!(parse_range("bytes=10-19", 100), Some(ByteRange::new(10, 20)));
/// assert_eq!(parse_range("bytes=-5", 100), Some(ByteRange::new(95, 100)));
/// assert_eq!(parse_range("bytes=100-", 100), None);
/// ```
pub fn parse_range(value: &str, size: u64) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };

    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n = number(suffix)?;
            (size.saturating_sub(n), size)
        }
        (first, "") => (number(first)?, size),
        (first, last) => {
            let (a, b) = (number(first)?, number(last)?);
            if b < a {
                return None;
            }
            (a, b.saturating_add(1).min(size))
        }
    };

    (start < end && start < size).then(|| ByteRange::new(start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_range_with_forms() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(ByteRange::new(0, 10)));
        assert_eq!(
            parse_range("bytes=90-200", 100),
            Some(ByteRange::new(90, 100))
        );
        assert_eq!(parse_range("bytes=95-", 100), Some(ByteRange::new(95, 100)));
        assert_eq!(parse_range("bytes=-10", 100), Some(ByteRange::new(90, 100)));
        assert_eq!(parse_range("bytes=-200", 100), Some(ByteRange::new(0, 100)));
    }

    #[test]
    fn test_parse_range_with_unsatisfiable_or_bad() {
        for value in [
            "bytes=100-",
            "bytes=100-200",
            "bytes=5-4",
            "bytes=0-1,3-4",
            "bytes=a-b",
            "items=0-1",
            "bytes=-0",
            "bytes=-",
            "bytes=+1-2",
            "",
        ] {
            assert_eq!(parse_range(value, 100), None, "{value}");
        }
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }
}
