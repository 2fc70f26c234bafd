//! Shared helpers: where the public test data lives, running the real tools.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use htsget_core::{Plan, Storage, load};

/// The public test data folder: `$HTSGET_TEST_DATA`, or `../shared/data` beside the checkout.
/// `None`, with the reason printed, when it is absent.
pub(crate) fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HTSGET_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));

    if dir.join("ground_truth.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: no test data at {} (set HTSGET_TEST_DATA to the shared data folder)",
            dir.display()
        );
        None
    }
}

/// Runs `program` with `args`; panics if it cannot start (the tool is missing).
pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("REF_PATH", "/nonexistent")
        .env("REF_CACHE", "/nonexistent")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"))
}

/// The payload of `plan`, as a client would assemble it.
pub(crate) fn payload<S: Storage + ?Sized>(storage: &S, data: &str, plan: &Plan) -> Vec<u8> {
    let mut out = Vec::new();
    load::write_payload(storage, data, plan, &mut out).expect("payload");
    out
}
