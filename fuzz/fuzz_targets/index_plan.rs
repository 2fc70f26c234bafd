//! Index bytes + queries → plan, for BAI, CSI, TBI and CRAI: see [`htsget_fuzz::index_plan`]
//! for the input layout and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| htsget_fuzz::index_plan(data));
