//! Ticket checks: the media type, the JSON shape, URLs, classes and byte ranges.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::Value;

use super::{TICKET_TYPE, cases::text};
use crate::server::{Reply, TestServer, request};

/// The BGZF end-of-file block.
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

/// Sends a ticket request and checks the reply is a well-formed ticket.
pub(super) fn fetch_ticket(server: &TestServer, method: &str, target: &str, body: &str) -> Value {
    let reply = request(server.addr, method, target, &[], body.as_bytes());
    assert_eq!(reply.status, 200, "{method} {target}: {}", text(&reply));
    assert_ticket(server, &reply, target)
}

/// The ticket rules: media type, `{"htsget":` first and alone, an upper-case format, URLs
/// absolute on this server or `data:;base64,`, string headers, classes all-or-none with the
/// header blocks first.
pub(super) fn assert_ticket(server: &TestServer, reply: &Reply, what: &str) -> Value {
    assert_eq!(reply.header("content-type"), Some(TICKET_TYPE), "{what}");
    assert!(
        reply.body.starts_with(br#"{"htsget":"#),
        "{what}: {}",
        text(reply)
    );

    let ticket = reply.json();
    assert_eq!(ticket.as_object().unwrap().len(), 1, "{what}: {ticket}");
    let format = ticket["htsget"]["format"].as_str().unwrap_or("");
    assert!(
        ["BAM", "CRAM", "VCF", "BCF"].contains(&format),
        "{what}: format {format:?}"
    );

    let urls = urls(&ticket);
    assert!(!urls.is_empty(), "{what}: no URLs");
    for url in urls {
        let address = url_of(url);
        assert!(
            address.starts_with("data:;base64,") || is_http(server, url),
            "{what}: URL {address:?} is neither inline nor absolute on {}",
            server.url
        );
        if let Some(headers) = url.get("headers") {
            let headers = headers.as_object().expect("headers is an object");
            assert!(headers.values().all(Value::is_string), "{what}: {url}");
        }
    }

    let classes: Vec<Option<&str>> = urls.iter().map(|u| u["class"].as_str()).collect();
    assert!(
        classes.iter().all(Option::is_some) || classes.iter().all(Option::is_none),
        "{what}: class on some URLs only: {classes:?}"
    );
    let first_body = classes
        .iter()
        .position(|c| *c == Some("body"))
        .unwrap_or(classes.len());
    assert!(
        classes[first_body..].iter().all(|c| *c == Some("body")),
        "{what}: a header block after a body block: {classes:?}"
    );
    assert!(
        classes
            .iter()
            .flatten()
            .all(|c| ["header", "body"].contains(c)),
        "{what}: {classes:?}"
    );

    ticket
}

pub(super) fn urls(ticket: &Value) -> &[Value] {
    ticket["htsget"]["urls"]
        .as_array()
        .expect("urls is an array")
}

pub(super) fn url_of(url: &Value) -> &str {
    url["url"].as_str().expect("url is a string")
}

pub(super) fn is_http(server: &TestServer, url: &Value) -> bool {
    url_of(url).starts_with(&format!("{}/data/", server.url))
}

/// A header-only ticket: every block is `header`, except that the last may be a `body`
/// block holding only the end-of-file marker.
pub(super) fn assert_header_classes(ticket: &Value, what: &str) {
    let urls = urls(ticket);
    let (last, rest) = urls.split_last().unwrap();
    for url in rest {
        assert_eq!(url["class"], "header", "{what}: {url}");
    }
    if last["class"] != "header" {
        assert_eq!(last["class"], "body", "{what}: {last}");
        let eof = url_of(last)
            .strip_prefix("data:;base64,")
            .map(|b64| STANDARD.decode(b64).unwrap())
            .unwrap_or_default();
        let is_eof = match ticket["htsget"]["format"].as_str() {
            Some("CRAM") => !eof.is_empty(),
            _ => eof == BGZF_EOF,
        };
        assert!(
            is_eof,
            "{what}: a body block that is not the EOF marker: {last}"
        );
    }
}

/// Byte ranges of the `Range` URLs, in ticket order, strictly ascending and disjoint.
pub(super) fn assert_ranges_ascending(ticket: &Value, what: &str) {
    let ranges: Vec<(u64, u64)> = urls(ticket)
        .iter()
        .filter_map(|u| u["headers"]["Range"].as_str())
        .map(parse_range_header)
        .collect();
    for pair in ranges.windows(2) {
        assert!(
            pair[0].1 < pair[1].0,
            "{what}: ranges out of order or overlapping: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// `bytes=FIRST-LAST` → `(FIRST, LAST)`.
fn parse_range_header(value: &str) -> (u64, u64) {
    let (first, last) = value
        .strip_prefix("bytes=")
        .unwrap()
        .split_once('-')
        .unwrap();
    (first.parse().unwrap(), last.parse().unwrap())
}
