//! A POST body (first byte picks the endpoint) must parse or fail with an htsget error, never
//! panic; POST regions are never empty intervals.
#![no_main]

use htsget_core::{Endpoint, query::Query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let endpoint = if first & 1 == 0 {
        Endpoint::Reads
    } else {
        Endpoint::Variants
    };

    if let Ok(query) = Query::from_post(endpoint, body) {
        for region in query.regions().unwrap_or_default() {
            let interval = region.interval();
            if let (Some(start), Some(end)) = (interval.start(), interval.end()) {
                assert!(start < end);
            }
        }
    }
});
