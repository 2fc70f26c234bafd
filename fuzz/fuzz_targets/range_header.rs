//! The data endpoint's `Range` header: the first 8 bytes are the file size (`u64` LE), the
//! rest the header value. Parsing must never panic, and a range it accepts must be non-empty
//! and inside the file.
#![no_main]

use htsget_server::range::parse_range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((size, value)) = data.split_first_chunk::<8>() else {
        return;
    };
    let size = u64::from_le_bytes(*size);
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };

    if let Some(range) = parse_range(value, size) {
        let (start, end) = (range.start(), range.end());
        assert!(
            start < end,
            "{value:?} on {size} bytes gave empty {start}..{end}"
        );
        assert!(end <= size, "{value:?} on {size} bytes gave {start}..{end}");
    }
});
