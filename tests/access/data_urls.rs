//! The data plane under access control: ticket URLs are signed for exactly their range or
//! span and expire; everything else is refused, and replicas sharing a key serve each other's
//! URLs.

use std::{thread, time::Duration};

use super::fixtures::{AuthServer, BAM, REGION, fixtures};
use crate::{
    common::{Tool, data_dir, require},
    server::{Reply, request},
};

/// A ticket's URLs as (path and query, headers).
fn urls(ticket: &serde_json::Value) -> Vec<(String, Vec<(String, String)>)> {
    ticket["htsget"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| {
            let url = u["url"].as_str().unwrap();
            let rest = url.strip_prefix("http://")?;
            let target = &rest[rest.find('/').unwrap()..];
            Some((target.to_owned(), crate::server::url_headers(u)))
        })
        .collect()
}

fn fetch(server: &AuthServer, target: &str, headers: &[(String, String)]) -> Reply {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request(server.process.addr, "GET", target, &headers, b"")
}

fn ticket(server: &AuthServer, query: &str) -> serde_json::Value {
    let reply = server.get(
        &format!("/reads/{BAM}?{query}"),
        Some(fixtures().token("passport")),
    );
    assert_eq!(reply.status, 200);
    reply.json()
}

#[test]
fn signed_urls_serve_exactly_what_they_cover() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let ticket = ticket(&server, REGION);
    let urls = urls(&ticket);
    let ranged = urls
        .iter()
        .find(|(target, _)| target.contains("&r="))
        .expect("a byte-range URL")
        .clone();
    let spanned = urls.iter().find(|(target, _)| target.contains("&span="));

    // As given: served, with no token.
    let whole = fetch(&server, &ranged.0, &ranged.1);
    assert_eq!(whole.status, 206);
    let range = ranged
        .1
        .iter()
        .find(|(k, _)| k == "Range")
        .unwrap()
        .1
        .clone();
    let (first, last) = range
        .strip_prefix("bytes=")
        .unwrap()
        .split_once('-')
        .unwrap();
    let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());

    // A sub-range inside it (clients may split a URL): served. Without a Range: the signed
    // range itself.
    let sub = vec![(
        "Range".to_owned(),
        format!("bytes={}-{}", first + 1, last.min(first + 10)),
    )];
    assert_eq!(fetch(&server, &ranged.0, &sub).status, 206);
    let bare = fetch(&server, &ranged.0, &[]);
    assert_eq!(bare.status, 206);
    assert_eq!(bare.body, whole.body);

    let refused = |target: &str, headers: &[(String, String)], why: &str| {
        let reply = fetch(&server, target, headers);
        reply.expect(403, why);
        assert_eq!(reply.error_name(), "PermissionDenied", "{why}");
    };
    // The Range header widened.
    let wide = vec![("Range".to_owned(), format!("bytes={first}-{}", last + 1))];
    refused(&ranged.0, &wide, "range header widened");
    refused(
        &ranged.0,
        &[("Range".to_owned(), "bytes=0-".to_owned())],
        "open range",
    );
    // The signed range widened.
    let widened = ranged.0.replace(
        &format!("r={first}-{last}"),
        &format!("r={first}-{}", last + 1000),
    );
    refused(&widened, &wide, "r widened");
    // Another file.
    let swapped = ranged.0.replace("htsnexus_test_NA12878.bam", "range.bam");
    refused(&swapped, &ranged.1, "file swapped");
    // A later expiry.
    let exp: u64 = ranged
        .0
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let later = ranged
        .0
        .replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
    refused(&later, &ranged.1, "expiry extended");
    // No signature, or a bare data URL.
    let unsigned = ranged.0.split("&sig=").next().unwrap().to_owned();
    refused(&unsigned, &ranged.1, "signature stripped");
    refused("/data/bam/htsnexus_test_NA12878.bam", &[], "bare data URL");
    // A parameter given twice.
    refused(&format!("{}&r=0-1", ranged.0), &ranged.1, "r twice");
    // A span URL with its span widened.
    if let Some((target, headers)) = spanned {
        let span = target
            .split("span=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let (start, end) = span.split_once('-').unwrap();
        let end: u64 = end.parse().unwrap();
        let wider = target.replace(
            &format!("span={span}"),
            &format!("span={start}-{}", end + (1 << 16)),
        );
        refused(&wider, headers, "span widened");
    }

    // Signed by another server's key.
    let other = AuthServer::start(&dir, &[]);
    let foreign = super::data_urls::ticket(&other, REGION);
    let (target, headers) = super::data_urls::urls(&foreign)
        .into_iter()
        .find(|(t, _)| t.contains("&r="))
        .unwrap();
    refused(&target, &headers, "another key");
    server.assert_log_clean(&[ticket, foreign]);
}

#[test]
fn signed_urls_expire() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &["--url-ttl", "1"]);
    let ticket = ticket(&server, REGION);
    let (target, headers) = urls(&ticket).into_iter().next().unwrap();
    assert_eq!(fetch(&server, &target, &headers).status, 206);
    thread::sleep(Duration::from_millis(2100));
    let reply = fetch(&server, &target, &headers);
    assert_eq!(reply.status, 403);
    assert!(String::from_utf8_lossy(&reply.body).contains("expired"));
}

#[test]
fn replicas_sharing_a_key_serve_each_others_urls_and_payloads_are_whole() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Samtools]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("url.key");
    std::fs::write(&key, "a shared key of replicas, at least 32 bytes\n").unwrap();
    let key = key.to_str().unwrap();
    let (a, b) = (
        AuthServer::start(&dir, &["--url-key", key]),
        AuthServer::start(&dir, &["--url-key", key]),
    );
    let ticket = ticket(&a, REGION);
    for (target, headers) in urls(&ticket) {
        let (from_a, from_b) = (fetch(&a, &target, &headers), fetch(&b, &target, &headers));
        assert_eq!(from_b.status, from_a.status);
        assert_eq!(from_b.body, from_a.body, "{target}");
    }

    // The payload, fetched with no token, holds the region samtools counts in the file.
    let bam = tmp.path().join("region.bam");
    std::fs::write(&bam, crate::server::payload(b.process.addr, &ticket)).unwrap();
    let bam = bam.to_str().unwrap();
    let index = crate::common::run("samtools", &["index", bam]);
    assert!(
        index.status.success() && index.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    let region = "11:5000000-5050000";
    let output = crate::common::run("samtools", &["view", "-c", bam, region]);
    let file = dir.join(format!("{BAM}.bam"));
    let direct = crate::common::run("samtools", &["view", "-c", file.to_str().unwrap(), region]);
    assert!(output.status.success() && output.stderr.is_empty());
    assert_eq!(output.stdout, direct.stdout);
}
