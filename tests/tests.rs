//! End-to-end tests: one test binary (linking is slow), one module per concern.

mod common;
mod ground_truth;
