//! Assertion helpers: checks that name every failing item, htsget errors, and bodies shown in
//! failure messages.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::server::Reply;

/// Runs `check` on every item and fails once, naming every item that did not pass.
pub(super) fn check_each<T>(items: &[T], label: impl Fn(&T) -> String, check: impl Fn(&T)) {
    assert_no_failures(&failures(items, label, check), items.len());
}

/// The items `check` panics on, each labelled with its panic message.
pub(super) fn failures<T>(
    items: &[T],
    label: impl Fn(&T) -> String,
    check: impl Fn(&T),
) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| {
            let outcome = catch_unwind(AssertUnwindSafe(|| check(item)));
            outcome.err().map(|panic| {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                format!("{}: {text}", label(item))
            })
        })
        .collect()
}

pub(super) fn assert_no_failures(failures: &[String], checked: usize) {
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Status, `application/json`, and the htsget error `name`.
pub(super) fn assert_htsget_error(reply: &Reply, status: u16, name: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", lossy(&reply.body));
    assert!(
        reply.is_json(),
        "{what}: Content-Type {:?}",
        reply.header("content-type")
    );
    assert_eq!(reply.error_name(), name, "{what}: {}", lossy(&reply.body));
}

pub(super) fn message(reply: &Reply) -> String {
    reply.json()["htsget"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

/// A body for a failure message: its text, shortened, or its size if it is binary.
pub(super) fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.chars().take(300).collect(),
        Err(_) => format!("<{} binary bytes>", bytes.len()),
    }
}
