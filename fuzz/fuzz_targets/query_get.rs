//! A GET query string (first byte picks the endpoint) must parse or fail with an htsget error,
//! never panic; a parsed query must be one the spec allows.
#![no_main]

use htsget_core::{
    Endpoint,
    query::{Class, Query},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let endpoint = if first & 1 == 0 {
        Endpoint::Reads
    } else {
        Endpoint::Variants
    };
    let pairs = form_urlencoded::parse(rest);

    if let Ok(query) = Query::from_get(endpoint, pairs) {
        assert_eq!(query.format().endpoint(), endpoint);
        if query.class() == Class::Header {
            assert!(query.regions().is_none());
        }
        for region in query.regions().unwrap_or_default() {
            let interval = region.interval();
            if let (Some(start), Some(end)) = (interval.start(), interval.end()) {
                assert!(start <= end);
            }
        }
    }
});
