//! Payloads: every block of a ticket fetched as a client would, then read by samtools or
//! bcftools.

use std::{io::Write, path::Path};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::Value;

use super::tickets::{url_of, urls};
use crate::{
    common::run,
    server::{TestServer, request},
};

/// Fetches every block of `ticket` as a client would and concatenates them.
fn fetch_payload(server: &TestServer, ticket: &Value) -> Vec<u8> {
    let mut payload = Vec::new();
    for url in urls(ticket) {
        let address = url_of(url);
        if let Some(b64) = address.strip_prefix("data:;base64,") {
            payload.extend(STANDARD.decode(b64).expect("base64"));
            continue;
        }

        let target = address.strip_prefix(&server.url).unwrap();
        let headers: Vec<(&str, &str)> = url["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        let reply = request(server.addr, "GET", target, &headers, b"");
        let ranged = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("range"));
        assert_eq!(reply.status, if ranged { 206 } else { 200 }, "{url}");
        payload.extend(reply.body);
    }
    payload
}

/// Fetches the payload, checks samtools/bcftools read it without a word on stderr, and
/// returns the number of records.
pub(super) fn valid_payload_records(server: &TestServer, ticket: &Value) -> usize {
    let payload = fetch_payload(server, ticket);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&payload).unwrap();
    file.flush().unwrap();

    match ticket["htsget"]["format"].as_str().unwrap() {
        "BAM" | "CRAM" => count_reads(file.path()),
        _ => count_variants(file.path()),
    }
}

fn count_reads(path: &Path) -> usize {
    let output = run("samtools", &["view", "-c", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "samtools: {stderr}"
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn count_variants(path: &Path) -> usize {
    let output = run("bcftools", &["view", "-H", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "bcftools: {stderr}"
    );
    output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}
