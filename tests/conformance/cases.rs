//! Cases: a request and the status and error name it must give, run as a batch that fails once;
//! and the shape of htsget errors.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{payloads::valid_payload_records, tickets::assert_ticket};
use crate::server::{Reply, TestServer, request};

/// A request and what must come back: `(method, path, query, body, status, error name)`. The
/// error name is `""` for a success and `"*"` for "any htsget error name".
pub(super) type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

/// Runs every case, then fails once with the list of those that did not behave.
pub(super) fn run_cases(server: &TestServer, cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            catch_unwind(AssertUnwindSafe(|| check_case(server, case)))
                .err()
                .map(|panic| format!("{case:?}: {}", panic_text(&*panic)))
        })
        .collect();

    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// One case: the status, then the error shape, or the ticket and its payload.
fn check_case(server: &TestServer, &(method, path, query, body, status, error): &Case) {
    let target = format!("{path}{query}");
    let what = format!("{method} {target} {body}");
    let reply = request(server.addr, method, &target, &[], body.as_bytes());

    if status >= 400 {
        assert_error(&reply, status, error, &what);
    } else {
        assert_eq!(reply.status, status, "{what}: {}", text(&reply));
        if is_ticket_route(&target) {
            let ticket = assert_ticket(server, &reply, &what);
            valid_payload_records(server, &ticket);
        }
    }
}

fn is_ticket_route(target: &str) -> bool {
    (target.starts_with("/reads/") || target.starts_with("/variants/"))
        && !target.ends_with("/service-info")
}

pub(super) fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// `status`, `Content-Type: application/json`, and `{"htsget":{"error":NAME,"message":TEXT}}`
/// with nothing else; `name` `"*"` accepts any error name.
pub(super) fn assert_error(reply: &Reply, status: u16, name: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", text(reply));
    assert!(
        reply.is_json(),
        "{what}: Content-Type {:?}",
        reply.header("content-type")
    );

    let json = reply.json();
    let top = json.as_object().expect("an object");
    assert_eq!(top.keys().collect::<Vec<_>>(), ["htsget"], "{what}: {json}");
    let error = json["htsget"].as_object().expect("htsget is an object");
    assert!(
        error.len() == 2 && error["message"].is_string(),
        "{what}: {json}"
    );

    let actual = reply.error_name();
    if name == "*" {
        assert!(!actual.is_empty(), "{what}: no error name: {json}");
    } else {
        assert_eq!(actual, name, "{what}: {json}");
    }
}
