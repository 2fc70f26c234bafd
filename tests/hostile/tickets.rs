//! What a ticket must be: a clean error that names the broken part and no path, or a ticket a
//! client can follow to a payload that samtools or bcftools read.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Component, Path},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::{
    broken::ANY_PART,
    checks::{assert_htsget_error, lossy, message},
};
use crate::{
    common::run,
    ground_truth::clean,
    server::{Reply, TestServer, get, request},
};

/// The records that the intact `original` holds for `query`, as samtools or bcftools count
/// them; `None` for a header-only query.
pub(super) fn expected_records(data: &Path, original: &str, query: &str) -> Option<u64> {
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if params.get("class").is_some_and(|class| class == "header") {
        return None;
    }

    let region = params.get("referenceName").map(|name| {
        let start = params
            .get("start")
            .map_or(1, |start| start.parse::<u64>().unwrap() + 1);
        match params.get("end") {
            Some(end) => format!("{name}:{start}-{end}"),
            None => format!("{name}:{start}"),
        }
    });

    let path = data.join(original);
    let path = path.to_str().unwrap();
    let variants = original.ends_with(".vcf.gz") || original.ends_with(".bcf");
    let output = match (variants, &region) {
        (false, None) => run("samtools", &["view", "-c", path]),
        (false, Some(region)) => run("samtools", &["view", "-c", path, region]),
        (true, None) => run("bcftools", &["view", "-H", path]),
        (true, Some(region)) => run("bcftools", &["view", "-H", "-r", region, path]),
    };
    let text = clean(output, "counting the original").unwrap();
    Some(count(&text, variants))
}

/// A record count from `samtools view -c` (a number) or `bcftools view -H` (one line each).
fn count(stdout: &str, variants: bool) -> u64 {
    if variants {
        stdout.lines().count() as u64
    } else {
        stdout.trim().parse().unwrap()
    }
}

/// An htsget error whose message holds one of `topics` and no path.
pub(super) fn assert_clean_error(
    reply: &Reply,
    status: u16,
    name: &str,
    topics: &[&str],
    root: &Path,
) {
    assert_htsget_error(reply, status, name, "a broken file");
    let message = message(reply);
    assert!(
        topics.iter().any(|topic| message.contains(topic)),
        "the message names none of {topics:?}: {message:?}"
    );
    assert_no_paths(&message, root);
}

/// No part of the root, no `tmp`, no `/` but that of "I/O" (the ids here have none).
fn assert_no_paths(message: &str, root: &Path) {
    let bare = message.replace("I/O", "");
    assert!(!bare.contains('/'), "a path in the message: {message:?}");
    assert!(!bare.contains("tmp"), "a path in the message: {message:?}");
    for component in root.components() {
        if let Component::Normal(name) = component {
            let name = name.to_string_lossy();
            assert!(
                name.len() < 4 || !message.contains(&*name),
                "{name:?} of the root in the message: {message:?}"
            );
        }
    }
}

/// A ticket a client can follow: every URL inline, a `Range` of `file` that lies inside it and
/// is served as asked, or a span served or refused with a clear 500; and, when all is served, a
/// payload that samtools or bcftools read without a word. Returns its record count then.
pub(super) fn assert_sound_ticket(
    server: &TestServer,
    reply: &Reply,
    file: &str,
    root: &Path,
) -> Option<u64> {
    assert_eq!(reply.status, 200, "{}", lossy(&reply.body));
    let size = fs::metadata(root.join(file)).unwrap().len();
    let data_url = format!("{}/data/{file}", server.url);
    let ticket = reply.json();
    let mut payload = Vec::new();

    for url in ticket["htsget"]["urls"].as_array().expect("urls") {
        let address = url["url"].as_str().expect("a url");
        if let Some(inline) = address.strip_prefix("data:;base64,") {
            payload.extend(STANDARD.decode(inline).expect("base64"));
            continue;
        }

        // Data URLs name the file and, in their query, its version (and a BGZF span).
        let (path, query) = address.split_once('?').unwrap_or((address, ""));
        assert_eq!(path, data_url, "a URL to another file");
        let span = query.split('&').find_map(|pair| pair.strip_prefix("span="));
        if let Some(span) = span {
            let part = get(server.addr, &address[server.url.len()..]);
            if part.status != 200 {
                // Told at fetch time, clearly: nothing corrupt is served.
                assert_clean_error(&part, 500, "InternalServerError", ANY_PART, root);
                return None;
            }
            assert!(!part.body.is_empty(), "span {span} served empty");
            payload.extend(part.body);
            continue;
        }

        let range = url["headers"]["Range"].as_str().expect("a Range header");
        let (first, last) = parse_range(range);
        assert!(
            first <= last && last < size,
            "{range} lies outside the {size}-byte file"
        );

        let target = &address[server.url.len()..];
        let part = request(server.addr, "GET", target, &[("Range", range)], b"");
        assert_eq!(part.status, 206, "{range}: {}", lossy(&part.body));
        assert_eq!(part.body.len() as u64, last - first + 1, "{range}");
        payload.extend(part.body);
    }

    Some(assert_readable(
        &payload,
        ticket["htsget"]["format"].as_str().unwrap_or(""),
    ))
}

/// samtools or bcftools read the whole payload without an error or a warning; returns its
/// record count.
fn assert_readable(payload: &[u8], format: &str) -> u64 {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(payload).unwrap();
    let path = file.path().to_str().unwrap();
    let output = match format {
        "BAM" | "CRAM" => run("samtools", &["view", "-c", path]),
        _ => run("bcftools", &["view", "-H", path]),
    };
    match clean(output, "reading the payload") {
        Ok(stdout) => count(&stdout, !matches!(format, "BAM" | "CRAM")),
        Err(problem) => panic!("the ticket leads to a broken {format} file: {problem}"),
    }
}

/// `bytes=FIRST-LAST` as `(FIRST, LAST)`.
fn parse_range(value: &str) -> (u64, u64) {
    let (first, last) = value
        .strip_prefix("bytes=")
        .and_then(|spec| spec.split_once('-'))
        .unwrap_or_else(|| panic!("not a byte range: {value}"));
    (first.parse().unwrap(), last.parse().unwrap())
}
