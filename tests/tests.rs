//! End-to-end tests: one test binary (linking is slow), one module per concern.

mod common;
mod cram_properties;
mod ground_truth;
mod properties;
