//! Store faults, each against a real moto process: stopped, paused (slow), an object replaced
//! or deleted between ticket and fetch, and a stream whose store stalls midway.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use htsget_server::config::UrlMode;

use super::moto::Moto;
use crate::{
    common::{Tool, data_dir, require},
    server::{Reply, TestServer, get, request},
};

const BAM: &str = "bam/htsnexus_test_NA12878";
const TICKET: &str = "/reads/bam/htsnexus_test_NA12878?referenceName=11&start=4999999&end=5050000";

/// The store time limit the fault tests run with.
const STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// A moto with the BAM and its index, and a server over it in `server` URL mode.
fn setup() -> Option<(Moto, TestServer)> {
    let dir = data_dir()?;
    let moto = Moto::start()?;
    moto.put_bam(&dir);

    let settings = moto.settings();
    let server = TestServer::start(None, move |config| {
        config.data = Some("s3://genomes/archive".into());
        config.store.urls = UrlMode::Server;
        config.store.timeout = STORE_TIMEOUT;
        config.store.options = settings.into_iter().collect();
    });
    Some((moto, server))
}

fn assert_store_error(reply: &Reply, status: u16, what: &str) {
    let json = reply.expect(status, what).json();
    assert!(json["htsget"]["error"].is_string(), "{what}: {json}");
    let message = json["htsget"]["message"].as_str().unwrap();
    assert!(
        !message.contains("testing"),
        "{what}: a credential in {message:?}"
    );
    if status == 503 {
        assert!(
            reply.header("retry-after").is_some(),
            "{what}: no Retry-After"
        );
    }
}

#[test]
fn a_stopped_store_answers_502_at_once() {
    let Some((mut moto, server)) = setup() else {
        return;
    };
    moto.stop();

    let started = Instant::now();
    let reply = get(server.addr, TICKET);
    assert_store_error(&reply, 502, "stopped store");
    assert!(started.elapsed() < STORE_TIMEOUT + Duration::from_secs(3));
}

#[test]
fn a_stalled_store_answers_503_within_its_time_limit() {
    let Some((moto, server)) = setup() else {
        return;
    };
    moto.pause(true);

    let started = Instant::now();
    let reply = get(server.addr, TICKET);
    let took = started.elapsed();
    moto.pause(false);

    assert_store_error(&reply, 503, "stalled store");
    assert!(
        took >= STORE_TIMEOUT / 2,
        "answered before the limit: {took:?}"
    );
    assert!(
        took < STORE_TIMEOUT + Duration::from_secs(3),
        "took {took:?}"
    );

    // Once the store answers again, so does the server.
    assert_eq!(get(server.addr, TICKET).status, 200);
}

/// The data URLs of a ticket, as `(path and query, Range header)`.
fn data_urls(server: &TestServer) -> Vec<(String, Option<String>)> {
    let ticket = get(server.addr, TICKET).json();
    ticket["htsget"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|url| {
            let target = url["url"].as_str()?.strip_prefix(&server.url)?.to_owned();
            let range = url["headers"]["Range"].as_str().map(str::to_owned);
            Some((target, range))
        })
        .collect()
}

fn fetch(server: &TestServer, target: &str, range: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = range.map(|r| ("Range", r)).into_iter().collect();
    request(server.addr, "GET", target, &headers, b"")
}

#[test]
fn an_object_replaced_or_deleted_after_the_ticket_is_not_served() {
    let Some((moto, server)) = setup() else {
        return;
    };
    let urls = data_urls(&server);
    assert!(urls.len() >= 2, "{urls:?}");
    for (target, range) in &urls {
        assert!(
            fetch(&server, target, range.as_deref()).status < 300,
            "{target}"
        );
    }

    // Another version of the object under the same key: its bytes must not mix with the
    // ticket's.
    let key = format!("archive/{BAM}.bam");
    let other = std::fs::read(data_dir().unwrap().join("bam/htsnexus_test_NA12878.bam")).unwrap();
    let mut changed = other.clone();
    changed[other.len() / 2] ^= 1;
    moto.put("genomes", &key, Some(&changed));
    for (target, range) in &urls {
        let reply = fetch(&server, target, range.as_deref());
        assert_eq!(reply.status, 404, "{target} after the object changed");
        assert_eq!(reply.error_name(), "NotFound");
    }

    moto.put("genomes", &key, None);
    for (target, range) in &urls {
        let reply = fetch(&server, target, range.as_deref());
        assert_eq!(reply.status, 404, "{target} after the object went");
    }
}

#[test]
fn a_stream_whose_store_stalls_ends_short_and_visibly() {
    let Some((moto, server)) = setup() else {
        return;
    };
    // Far more than socket buffers and read-ahead hold, so the stream is still running.
    let big: Vec<u8> = (0..64_u32 << 20).map(|i| (i % 251) as u8).collect();
    moto.put("genomes", "archive/big.bam", Some(&big));

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(STORE_TIMEOUT * 4)).unwrap();
    let request = "GET /data/big.bam HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).unwrap();

    // The head and the first bytes arrive; then the store stalls.
    let mut first = vec![0; 64 << 10];
    stream.read_exact(&mut first).unwrap();
    let head = String::from_utf8_lossy(&first);
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    moto.pause(true);

    let mut rest = Vec::new();
    let paused = Instant::now();
    let ended = stream.read_to_end(&mut rest);
    let took = paused.elapsed();
    moto.pause(false);

    // The server ends the response itself (closes the connection) soon after the store's
    // time limit, rather than leaving the client waiting.
    if let Err(e) = &ended {
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server never ended the stream: {e}"
        );
    }
    assert!(took < STORE_TIMEOUT * 3, "the stream ended after {took:?}");

    let body = first.len() - head.find("\r\n\r\n").unwrap() - 4 + rest.len();
    assert!(
        body < length,
        "the stream should end short of its {length} bytes, got {body}"
    );
}

#[test]
fn a_store_that_refuses_the_credentials_answers_502() {
    let Some((moto, server)) = setup() else {
        return;
    };
    // From now on moto checks signatures: the `testing` key is unknown to it (403).
    let reply = request(
        moto.addr,
        "POST",
        "/moto-api/reset-auth",
        &[("Content-Type", "text/plain")],
        b"0",
    );
    reply.expect(200, "ticket");

    let reply = get(server.addr, TICKET);
    assert_store_error(&reply, 502, "refused credentials");
    let message = reply.json()["htsget"]["message"].to_string();
    assert!(message.contains("refused"), "not told apart: {message}");
}

#[test]
fn a_store_that_answers_5xx_answers_502_after_bounded_retries() {
    if !require(&[Tool::Nginx]) {
        return;
    }
    // A "store" that fails every request with 500: nginx, configured to do just that.
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _store = super::scale::Nginx::start_with(tmp.path(), port, "location / { return 500; }");

    let endpoint = format!("http://127.0.0.1:{port}");
    let server = TestServer::start(None, move |config| {
        config.data = Some("s3://genomes/archive".into());
        config.store.timeout = STORE_TIMEOUT;
        config.store.options = super::moto::settings(&endpoint).into_iter().collect();
    });
    let started = Instant::now();
    let reply = get(server.addr, TICKET);
    assert_store_error(&reply, 502, "a store answering 500");
    assert!(started.elapsed() < STORE_TIMEOUT + Duration::from_secs(3));
}
