//! Every limit and timeout: POST bodies, regions, URLs, headers, slow and idle clients, and the
//! connection slots.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    time::{Duration, Instant},
};

use tempfile::TempDir;

use super::{
    BAM_ID,
    checks::{assert_htsget_error, lossy, message},
    files::{copy, garbage, write},
    wire::{Answer, connect, exchange, read_response, read_until_closed},
};
use crate::{
    common::data_dir,
    server::{TestServer, get, request},
};

const MAX_POST_BYTES: u64 = 1024;
const MAX_REGIONS: usize = 3;
const MAX_URL_BYTES: usize = 512;
const MAX_HEADER_BYTES: usize = 8192;
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// How late past a timeout the server may act on it (a loaded, shared 2-core machine).
const SLACK: Duration = Duration::from_secs(2);

/// The size of the file that held connections stream from: far more than socket buffers hold.
const BIG: usize = 32 << 20;

const BAM_TARGET: &str = "/reads/bam/htsnexus_test_NA12878";

/// A root with the NA12878 BAM and a big file to stream.
fn limits_root(data: &Path) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for extension in ["bam", "bam.bai"] {
        let key = format!("{BAM_ID}.{extension}");
        copy(&data.join(&key), &dir.path().join(&key));
    }
    write(&dir.path().join("big.bam"), &garbage(BIG));
    dir
}

#[test]
fn limits_are_enforced() {
    let Some(data) = data_dir() else { return };
    let root = limits_root(&data);
    let server = TestServer::start(Some(root.path()), |config| {
        config.max_post_bytes = MAX_POST_BYTES;
        config.max_regions = MAX_REGIONS;
        config.max_url_bytes = MAX_URL_BYTES;
        config.max_header_bytes = MAX_HEADER_BYTES;
        config.header_timeout = HEADER_TIMEOUT;
        config.max_connections = 2;
    });

    post_bodies_are_bounded(server.addr);
    regions_are_bounded(server.addr);
    urls_are_bounded(server.addr);
    headers_are_bounded(server.addr);
    slow_headers_are_cut(server.addr);
    idle_keep_alive_is_closed(server.addr);
    busy_connections_hold_their_slots(server.addr);
    idle_connections_lose_their_slots(server.addr);

    let reply = get(server.addr, BAM_TARGET);
    assert_eq!(
        reply.status,
        200,
        "after every attack: {}",
        lossy(&reply.body)
    );
}

fn post_bodies_are_bounded(addr: SocketAddr) {
    let json = [("Content-Type", "application/json")];
    let fits = padded_json(MAX_POST_BYTES as usize);
    let reply = request(addr, "POST", BAM_TARGET, &json, fits.as_bytes());
    assert_eq!(
        reply.status,
        200,
        "a body of the limit: {}",
        lossy(&reply.body)
    );

    let over = padded_json(MAX_POST_BYTES as usize + 1);
    let reply = request(addr, "POST", BAM_TARGET, &json, over.as_bytes());
    assert_htsget_error(&reply, 413, "PayloadTooLarge", "a body over the limit");

    // A Content-Length of a terabyte is refused at once, without waiting for the body.
    let head = format!(
        "POST {BAM_TARGET} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{}}"
    );
    let answer = exchange(addr, head.as_bytes(), Duration::from_secs(10));
    assert_htsget_error(&answer.reply(), 413, "PayloadTooLarge", "a lying length");

    // Chunked, without a length: counted as it arrives.
    let mut chunked = format!(
        "POST {BAM_TARGET} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = " ".repeat(512);
    for _ in 0..4 {
        chunked.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunked.push_str("0\r\n\r\n");
    let answer = exchange(addr, chunked.as_bytes(), Duration::from_secs(10));
    assert_htsget_error(&answer.reply(), 413, "PayloadTooLarge", "a chunked body");
}

/// `{"format":"BAM"}` padded with spaces to `len` bytes.
fn padded_json(len: usize) -> String {
    let json = r#"{"format":"BAM"}"#;
    format!("{json}{}", " ".repeat(len - json.len()))
}

fn regions_are_bounded(addr: SocketAddr) {
    let json = [("Content-Type", "application/json")];
    let reply = request(addr, "POST", BAM_TARGET, &json, &regions(MAX_REGIONS));
    assert_eq!(
        reply.status,
        200,
        "{MAX_REGIONS} regions: {}",
        lossy(&reply.body)
    );

    let reply = request(addr, "POST", BAM_TARGET, &json, &regions(MAX_REGIONS + 1));
    assert_htsget_error(&reply, 400, "InvalidInput", "too many regions");
    assert!(
        message(&reply).contains(&MAX_REGIONS.to_string()),
        "the message does not name the limit: {}",
        message(&reply)
    );
}

fn regions(n: usize) -> Vec<u8> {
    let regions: Vec<String> = (0..n)
        .map(|i| {
            let start = 5_000_000 + i * 1000;
            format!(
                r#"{{"referenceName":"11","start":{start},"end":{}}}"#,
                start + 100
            )
        })
        .collect();
    format!(r#"{{"format":"BAM","regions":[{}]}}"#, regions.join(",")).into_bytes()
}

fn urls_are_bounded(addr: SocketAddr) {
    let long = format!(
        "{BAM_TARGET}?referenceName=11&x={}",
        "a".repeat(MAX_URL_BYTES)
    );
    let reply = get(addr, &long);
    assert_htsget_error(&reply, 414, "InvalidInput", "a URL over the limit");

    // Longer than the header buffer: refused by the HTTP layer before any routing.
    let huge = format!(
        "GET {BAM_TARGET}?x={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(2 * MAX_HEADER_BYTES)
    );
    assert_refused_by_http(
        &exchange(addr, huge.as_bytes(), Duration::from_secs(10)),
        "a huge URL",
    );
}

fn headers_are_bounded(addr: SocketAddr) {
    let fits = "v".repeat(MAX_HEADER_BYTES / 2);
    let reply = request(
        addr,
        "GET",
        "/reads/service-info",
        &[("X-Fits", &fits)],
        b"",
    );
    assert_eq!(reply.status, 200, "a header of half the limit");

    let big = format!(
        "GET /reads/service-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "v".repeat(2 * MAX_HEADER_BYTES)
    );
    let answer = exchange(addr, big.as_bytes(), Duration::from_secs(10));
    assert_refused_by_http(&answer, "headers over the limit");

    let mut many =
        "GET /reads/service-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_owned();
    for i in 0..500 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let answer = exchange(addr, many.as_bytes(), Duration::from_secs(10));
    assert_refused_by_http(&answer, "500 small headers");
}

/// Slowloris: a request line, then a header byte every 250 ms; and a request cut mid-line.
fn slow_headers_are_cut(addr: SocketAddr) {
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /reads/service-info HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let trickle = b"X-Slow: still sending\r\n";
    let mut closed_after = None;

    for byte in trickle.iter().cycle() {
        if started.elapsed() > HEADER_TIMEOUT + 2 * SLACK {
            break;
        }
        let answer = if stream.write_all(&[*byte]).is_err() {
            Answer::gone()
        } else {
            read_until_closed(&mut stream, Duration::from_millis(250))
        };
        assert!(
            !answer.is_success(),
            "a trickled request was answered: {answer:?}"
        );
        if answer.closed {
            closed_after = Some(started.elapsed());
            break;
        }
    }

    let closed_after = closed_after.expect("a trickling client is never cut off");
    assert!(
        closed_after <= HEADER_TIMEOUT + SLACK,
        "the trickling client was cut after {closed_after:?}"
    );

    let started = Instant::now();
    let answer = exchange(addr, b"GET /reads/serv", HEADER_TIMEOUT + 2 * SLACK);
    assert!(answer.closed, "a half-sent request line is never cut off");
    assert!(!answer.is_success(), "{answer:?}");
    assert!(
        started.elapsed() <= HEADER_TIMEOUT + SLACK,
        "a half-sent request line was cut after {:?}",
        started.elapsed()
    );
}

/// A kept-alive connection serves several requests, then is closed once idle.
fn idle_keep_alive_is_closed(addr: SocketAddr) {
    let mut stream = connect(addr);
    for _ in 0..2 {
        stream
            .write_all(b"GET /reads/service-info HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let reply = read_response(&mut stream);
        assert_eq!(reply.status, 200, "keep-alive request");
        assert_ne!(reply.header("connection"), Some("close"));
        std::thread::sleep(HEADER_TIMEOUT / 4);
    }

    let idle = Instant::now();
    let answer = read_until_closed(&mut stream, HEADER_TIMEOUT + 2 * SLACK);
    assert!(
        answer.closed,
        "an idle kept-alive connection is never closed"
    );
    assert!(
        idle.elapsed() <= HEADER_TIMEOUT + SLACK,
        "an idle kept-alive connection was closed after {:?}",
        idle.elapsed()
    );
}

/// With both slots busy streaming, a third client waits (past the header timeout: streaming is
/// not idling) until one of them goes away.
fn busy_connections_hold_their_slots(addr: SocketAddr) {
    let first = start_download(addr);
    let second = start_download(addr);
    let mut third = send_service_info(addr);

    let early = read_until_closed(&mut third, HEADER_TIMEOUT + Duration::from_millis(500));
    assert!(
        early.bytes.is_empty() && !early.closed,
        "a third connection was served while two were streaming: {early:?}"
    );

    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(10));
    assert_eq!(
        answer.reply().status,
        200,
        "the third client once a slot is free"
    );
    drop(second);
}

/// Connections that send nothing hold their slots only until the header timeout.
fn idle_connections_lose_their_slots(addr: SocketAddr) {
    let mut holders = [connect(addr), connect(addr)];
    let mut third = send_service_info(addr);
    let started = Instant::now();

    let early = read_until_closed(&mut third, HEADER_TIMEOUT / 2);
    assert!(
        early.bytes.is_empty(),
        "a third connection was served while two held the slots: {early:?}"
    );

    let answer = read_until_closed(&mut third, HEADER_TIMEOUT + 2 * SLACK);
    assert_eq!(
        answer.reply().status,
        200,
        "the third client after the idle ones"
    );
    assert!(
        started.elapsed() <= HEADER_TIMEOUT + SLACK,
        "the idle connections held their slots for {:?}",
        started.elapsed()
    );
    for holder in &mut holders {
        let answer = read_until_closed(holder, SLACK);
        assert!(answer.closed, "an idle connection was left open");
    }
}

/// Opens a download of the big file and reads its first bytes, then stops reading.
fn start_download(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /data/big.bam HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut first = [0; 4096];
    stream.read_exact(&mut first).unwrap();
    assert!(
        first.starts_with(b"HTTP/1.1 200"),
        "{}",
        lossy(&first[..64])
    );
    stream
}

fn send_service_info(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /reads/service-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    stream
}

/// The HTTP layer's refusal of an oversized head: 431 (or 414/400), or the connection closed.
fn assert_refused_by_http(answer: &Answer, what: &str) {
    assert!(answer.closed, "{what}: the connection was left open");
    if let Some(status) = answer.status() {
        assert!(
            matches!(status, 400 | 414 | 431),
            "{what}: status {status}, want 431: {}",
            lossy(&answer.bytes)
        );
    }
}
