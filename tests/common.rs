//! Shared helpers: where the public test data lives, running the real tools.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use htsget_core::{Format, Plan, Ticket, load, storage::Storage};

/// Runs a future of the core's I/O layer to completion on this thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

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
    run_with(program, args, &[])
}

/// Runs `program` with `args` and the environment variables `env` added.
pub(crate) fn run_with(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .env("REF_PATH", "/nonexistent")
        .env("REF_CACHE", "/nonexistent")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"))
}

/// The payload of `plan`, as a client assembles it from the JSON ticket: inline `data:` URIs
/// decoded, `Range` headers read from the file. Also checks that it matches
/// [`load::write_payload`].
pub(crate) fn payload<S: Storage + ?Sized>(
    storage: &S,
    data: &str,
    format: Format,
    plan: &Plan,
) -> Vec<u8> {
    let json = Ticket::new(plan, format, "http://127.0.0.1/data", &BTreeMap::new()).to_json();
    assert!(json.starts_with(r#"{"htsget":{"format":""#), "{json}");

    let ticket: serde_json::Value = serde_json::from_str(&json).unwrap();
    let object = block_on(storage.open(data)).expect("open");
    let mut out = Vec::new();

    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let text = url["url"].as_str().unwrap();

        if let Some(encoded) = text.strip_prefix("data:;base64,") {
            out.extend(STANDARD.decode(encoded).unwrap());
        } else {
            let range = url["headers"]["Range"].as_str().unwrap();
            let (first, last) = range
                .strip_prefix("bytes=")
                .unwrap()
                .split_once('-')
                .unwrap();
            let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
            let len = usize::try_from(last - first + 1).unwrap();
            out.extend(block_on(object.read(first, len)).unwrap());
        }
    }

    let mut direct = Vec::new();
    block_on(load::write_payload(&*object, plan, &mut direct)).expect("payload");
    assert!(direct == out, "ticket and plan payloads differ");

    out
}
