//! End-to-end tests: one test binary (linking is slow), one module per concern.

mod access;
mod aliases;
mod clients;
mod common;
mod conformance;
mod cram_properties;
mod crypt4gh;
mod demo;
mod exact;
mod ground_truth;
mod hostile;
mod igv;
mod object_store;
mod operations;
mod process;
mod properties;
mod server;
