//! Hostile input, as the README's threat model lists it: path attacks on ids and data URLs,
//! every limit and timeout, and broken files. Requests go out as raw bytes, so that nothing is
//! normalised on the way. Symbolic links, FIFOs and `/dev/zero` make this Unix-only.
#![cfg(unix)]

use std::{
    collections::BTreeMap,
    fs,
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Component, Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use tempfile::TempDir;

use crate::{
    common::{data_dir, run},
    ground_truth::clean,
    server::{Reply, TestServer, get, parse_reply, request},
};

const BAM_ID: &str = "bam/htsnexus_test_NA12878";
const VCF_ID: &str = "vcf/sample1-bcbio-cancer";

/// The first bytes of every BGZF (BAM, VCF.gz, BCF, CSI, TBI) and gzip (CRAI) file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

// =============================================================================================
// Path attacks

/// What every file outside the data root holds; no response may ever carry it.
const MARKER: &[u8] = b"HTSGET-TEST-SECRET: this file lies outside the data root\n";

/// The files beside the root that hold [`MARKER`], reached by the `evil.*` links.
const SECRET_EXTENSIONS: [&str; 4] = ["bam", "bam.bai", "vcf.gz", "vcf.gz.tbi"];

/// A data root, and beside it the files it must keep out of reach:
///
/// ```text
/// base/secret.{bam,bam.bai,vcf.gz,vcf.gz.tbi}   MARKER
/// base/outside/secret.*                         real data files and indexes
/// base/root/bam/…, base/root/vcf/…              the files served
/// base/root/notes.txt                           not a data file
/// base/root/evil.*        -> ../secret.*        file links out of the root
/// base/root/linked        -> ../outside         a directory link out of the root
/// base/root/alias.bam*    -> bam/…              links that stay inside
/// base/root/zero.bam*     -> /dev/zero          a device
/// base/root/loop.bam*     -> itself             a loop
/// base/root/fifo.bam                            a FIFO (opening it would block)
/// base/root/dir.bam/                            a directory
/// ```
struct Jail {
    base: TempDir,
    root: PathBuf,
}

impl Jail {
    /// The absolute path of the secret BAM.
    fn secret(&self) -> PathBuf {
        fs::canonicalize(self.base.path())
            .unwrap()
            .join("secret.bam")
    }
}

fn build_jail(data: &Path) -> Jail {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let outside = base.path().join("outside");

    for (id, extensions) in [
        (BAM_ID, ["bam", "bam.bai"]),
        (VCF_ID, ["vcf.gz", "vcf.gz.tbi"]),
    ] {
        for extension in extensions {
            let key = format!("{id}.{extension}");
            copy(&data.join(&key), &root.join(&key));
            copy(
                &data.join(&key),
                &outside.join(format!("secret.{extension}")),
            );
        }
    }

    for extension in SECRET_EXTENSIONS {
        write(&base.path().join(format!("secret.{extension}")), MARKER);
        symlink(
            &format!("../secret.{extension}"),
            &root.join(format!("evil.{extension}")),
        );
    }
    symlink("../outside", &root.join("linked"));

    for extension in ["bam", "bam.bai"] {
        symlink(
            &format!("{BAM_ID}.{extension}"),
            &root.join(format!("alias.{extension}")),
        );
        symlink("/dev/zero", &root.join(format!("zero.{extension}")));
        let looped = format!("loop.{extension}");
        symlink(&looped, &root.join(&looped));
    }

    let bai = data.join(format!("{BAM_ID}.bam.bai"));
    fs::create_dir(root.join("dir.bam")).unwrap();
    copy(&bai, &root.join("dir.bam.bai"));
    let fifo = root.join("fifo.bam");
    let made = run("mkfifo", &[fifo.to_str().unwrap()]);
    assert!(made.status.success(), "mkfifo: {made:?}");
    copy(&bai, &root.join("fifo.bam.bai"));
    write(
        &root.join("notes.txt"),
        b"operator notes: not a data file\n",
    );

    Jail { base, root }
}

/// How an attack would reach outside: by its path alone, through a link out of the root (which
/// `follow_symlinks` opts into), or to something that is not a regular file.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Via {
    Path,
    Link,
    Special,
}

/// One hostile request: a raw target, sent as is.
#[derive(Debug)]
struct Attack {
    what: String,
    method: &'static str,
    target: String,
    range: Option<&'static str>,
    via: Via,
}

impl Attack {
    fn get(what: &str, target: String, via: Via) -> Self {
        Self {
            what: what.to_owned(),
            method: "GET",
            target,
            range: None,
            via,
        }
    }

    fn label(&self) -> String {
        let shown: String = self.target.chars().take(90).collect();
        format!("{} ({} {shown})", self.what, self.method)
    }

    fn send(&self, addr: SocketAddr) -> Reply {
        let headers: Vec<(&str, &str)> = self.range.map(|r| ("Range", r)).into_iter().collect();
        request(addr, self.method, &self.target, &headers, b"")
    }
}

/// Every attack on the ticket and data endpoints; `secret` is the absolute path of the secret.
fn attacks(secret: &Path) -> Vec<Attack> {
    let secret = secret.to_str().unwrap();
    let secret_id = secret.strip_suffix(".bam").unwrap();
    let long = "a".repeat(5000);

    let mut attacks = Vec::new();
    for endpoint in ["/reads", "/variants"] {
        #[rustfmt::skip]
        let ids = [
            ("raw dot-dot", "../secret".to_owned(), Via::Path),
            ("dot-dot below a folder", "bam/../../secret".to_owned(), Via::Path),
            ("dot-dot, encoded slash", "..%2fsecret".to_owned(), Via::Path),
            ("dot-dot, encoded upper-case slash", "..%2Fsecret".to_owned(), Via::Path),
            ("encoded dots", "%2e%2e/secret".to_owned(), Via::Path),
            ("all encoded", "%2e%2e%2fsecret".to_owned(), Via::Path),
            ("double-encoded", "%252e%252e%252fsecret".to_owned(), Via::Path),
            ("double-encoded slash", "..%252fsecret".to_owned(), Via::Path),
            ("overlong UTF-8 dots", "%c0%ae%c0%ae%2fsecret".to_owned(), Via::Path),
            ("empty segment (absolute)", "/etc/passwd".to_owned(), Via::Path),
            ("encoded absolute", "%2fetc%2fpasswd".to_owned(), Via::Path),
            ("absolute path of the secret", secret_id.to_owned(), Via::Path),
            ("raw backslash", "..\\secret".to_owned(), Via::Path),
            ("encoded backslash", "..%5csecret".to_owned(), Via::Path),
            ("NUL inside", "x%00y".to_owned(), Via::Path),
            ("NUL-terminated", "../secret%00".to_owned(), Via::Path),
            ("CR LF (log injection)", "x%0d%0aSet-Cookie:%20a".to_owned(), Via::Path),
            ("5000-byte id", long.clone(), Via::Path),
            ("file link out of the root", "evil".to_owned(), Via::Link),
            ("directory link out of the root", "linked/secret".to_owned(), Via::Link),
        ];
        for (what, id, via) in ids {
            let what = format!("{endpoint}: {what}");
            attacks.push(Attack::get(&what, format!("{endpoint}/{id}"), via));
        }
    }

    #[rustfmt::skip]
    let special = [
        ("/reads: link to a device", "/reads/zero"),
        ("/reads: link loop", "/reads/loop"),
        ("/reads: a directory", "/reads/dir"),
        ("/reads: a FIFO", "/reads/fifo"),
        ("/data: link to a device", "/data/zero.bam"),
        ("/data: link loop", "/data/loop.bam"),
        ("/data: a directory named .bam", "/data/dir.bam"),
        ("/data: a FIFO", "/data/fifo.bam"),
    ];
    for (what, target) in special {
        attacks.push(Attack::get(what, target.to_owned(), Via::Special));
    }

    let encoded_secret = secret.replace('/', "%2f");
    #[rustfmt::skip]
    let data = [
        ("raw dot-dot", "/data/../secret.bam".to_owned(), Via::Path),
        ("dot-dot below a folder", "/data/bam/../../secret.bam".to_owned(), Via::Path),
        ("encoded dots", "/data/%2e%2e/secret.bam".to_owned(), Via::Path),
        ("dot-dot, encoded slash", "/data/..%2fsecret.bam".to_owned(), Via::Path),
        ("all encoded", "/data/%2e%2e%2fsecret.bam".to_owned(), Via::Path),
        ("double-encoded", "/data/%252e%252e%252fsecret.bam".to_owned(), Via::Path),
        ("overlong UTF-8 dots", "/data/%c0%ae%c0%ae/secret.bam".to_owned(), Via::Path),
        ("absolute path of the secret", format!("/data/{secret}"), Via::Path),
        ("encoded absolute path of the secret", format!("/data/{encoded_secret}"), Via::Path),
        ("raw backslash", "/data/..\\secret.bam".to_owned(), Via::Path),
        ("encoded backslash", "/data/..%5csecret.bam".to_owned(), Via::Path),
        ("NUL before a data extension", "/data/evil.bam%00.bam".to_owned(), Via::Path),
        ("an index", format!("/data/{BAM_ID}.bam.bai"), Via::Path),
        ("a tabix index", format!("/data/{VCF_ID}.vcf.gz.tbi"), Via::Path),
        ("a non-data file", "/data/notes.txt".to_owned(), Via::Path),
        ("a folder", "/data/bam".to_owned(), Via::Path),
        ("the root itself", "/data/".to_owned(), Via::Path),
        ("5000-byte key", format!("/data/{long}.bam"), Via::Path),
        ("file link out of the root", "/data/evil.bam".to_owned(), Via::Link),
        ("directory link out of the root", "/data/linked/secret.bam".to_owned(), Via::Link),
        ("a linked index out of the root", "/data/evil.bam.bai".to_owned(), Via::Link),
        ("span of a link out of the root", "/data/evil.bam?span=0-65536".to_owned(), Via::Link),
        ("span with dot-dot", "/data/../secret.bam?span=0-65536".to_owned(), Via::Path),
        ("span of a non-data file", "/data/notes.txt?span=0-65536".to_owned(), Via::Path),
    ];
    for (what, target, via) in data {
        attacks.push(Attack::get(&format!("/data: {what}"), target, via));
    }

    let mut head = Attack::get(
        "/data: HEAD of a link out",
        "/data/evil.bam".into(),
        Via::Link,
    );
    head.method = "HEAD";
    attacks.push(head);
    let mut ranged = Attack::get(
        "/data: Range of a link out",
        "/data/evil.bam".into(),
        Via::Link,
    );
    ranged.range = Some("bytes=0-15");
    attacks.push(ranged);

    attacks
}

/// A refusal: 400, 404 or 414, an htsget `NotFound` or `InvalidInput` (hyper's own 400 for an
/// unparsable request line may have no body), and no byte of anything outside.
fn assert_refused(reply: &Reply, attack: &Attack) {
    assert!(
        matches!(reply.status, 400 | 404 | 414),
        "status {} (want 400, 404 or 414): {}",
        reply.status,
        lossy(&reply.body)
    );
    assert!(
        !contains(&reply.body, MARKER),
        "the body carries the secret"
    );
    assert!(
        !reply.body.starts_with(&GZIP_MAGIC),
        "the body is a data or index file"
    );

    let bare_parse_error = reply.status == 400 && reply.body.is_empty();
    if attack.method != "HEAD" && !bare_parse_error {
        let name = reply.error_name();
        assert!(
            name == "NotFound" || name == "InvalidInput",
            "error {name:?}: {}",
            lossy(&reply.body)
        );
    }
}

/// Links that stay inside the root are ordinary files.
fn assert_links_inside_are_served(server: &TestServer, data: &Path) {
    let reply = get(server.addr, "/reads/alias");
    assert_eq!(reply.status, 200, "/reads/alias: {}", lossy(&reply.body));

    let reply = get(server.addr, "/data/alias.bam");
    assert_eq!(reply.status, 200, "/data/alias.bam");
    let bam = fs::read(data.join(format!("{BAM_ID}.bam"))).unwrap();
    assert!(reply.body == bam, "/data/alias.bam is not the linked file");
}

/// A file served once, then swapped for a link out of the root (or its folder for a link to a
/// folder outside), is refused: what was checked before does not vouch for what is there now.
fn assert_swapped_files_are_checked_again(server: &TestServer, jail: &Jail) {
    let bam = jail.root.join(format!("{BAM_ID}.bam"));
    let swapped_file = jail.root.join("swap.bam");
    let swapped_folder = jail.root.join("swapped");
    copy(&bam, &swapped_file);
    copy(&bam, &swapped_folder.join("secret.bam"));

    for target in ["/data/swap.bam", "/data/swapped/secret.bam"] {
        assert_eq!(
            get(server.addr, target).status,
            200,
            "{target} before the swap"
        );
    }

    fs::remove_file(&swapped_file).unwrap();
    symlink("../secret.bam", &swapped_file);
    fs::remove_dir_all(&swapped_folder).unwrap();
    symlink("../outside", &swapped_folder);

    for target in ["/data/swap.bam", "/data/swapped/secret.bam"] {
        let attack = Attack::get("swapped for a link out", target.to_owned(), Via::Link);
        assert_refused(&attack.send(server.addr), &attack);
    }
}

/// With `follow_symlinks`, links out of the root lead where they point.
fn assert_links_out_are_followed(server: &TestServer, data: &Path) {
    let reply = get(server.addr, "/data/evil.bam");
    assert_eq!(reply.status, 200, "/data/evil.bam: {}", lossy(&reply.body));
    assert_eq!(reply.body, MARKER, "/data/evil.bam is not the linked file");

    let reply = get(server.addr, "/data/linked/secret.bam");
    assert_eq!(reply.status, 200, "/data/linked/secret.bam");
    let bam = fs::read(data.join(format!("{BAM_ID}.bam"))).unwrap();
    assert!(
        reply.body == bam,
        "/data/linked/secret.bam is not the linked file"
    );

    for (target, key) in [
        ("/reads/linked/secret", "linked/secret.bam"),
        ("/variants/linked/secret", "linked/secret.vcf.gz"),
    ] {
        let reply = get(server.addr, target);
        assert_eq!(reply.status, 200, "{target}: {}", lossy(&reply.body));
        let data_url = format!("{}/data/{key}", server.url);
        assert!(
            lossy(&reply.body).contains(&data_url),
            "{target}: no URL {data_url}: {}",
            lossy(&reply.body)
        );
    }
}

#[test]
fn path_attacks_never_escape_the_data_root() {
    let Some(data) = data_dir() else { return };
    let jail = build_jail(&data);
    let attacks = attacks(&jail.secret());

    let server = TestServer::start(Some(&jail.root), |_| {});
    check_each(&attacks, Attack::label, |attack| {
        assert_refused(&attack.send(server.addr), attack);
    });
    assert_links_inside_are_served(&server, &data);
    assert_swapped_files_are_checked_again(&server, &jail);
    drop(server);

    // The opt-in follows links out of the root, and nothing else: paths are still checked, and
    // devices, loops, folders and FIFOs are still not files.
    let server = TestServer::start(Some(&jail.root), |config| config.follow_symlinks = true);
    let still_refused: Vec<&Attack> = attacks.iter().filter(|a| a.via != Via::Link).collect();
    check_each(
        &still_refused,
        |attack| attack.label(),
        |attack| assert_refused(&attack.send(server.addr), attack),
    );
    assert_links_out_are_followed(&server, &data);
}

// =============================================================================================
// Limits and timeouts

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

// =============================================================================================
// Broken files

/// What a broken file's tickets must give. Each names the words one of which the message must
/// hold, to name the part that is broken.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 500 InternalServerError.
    Broken(&'static [&'static str]),
    /// 404 NotFound.
    Missing(&'static [&'static str]),
    /// As [`Expect::Broken`], or a 200 ticket that a client can follow: every range inside the
    /// file and served as asked, every deferred span served or refused with a clear 500, and,
    /// when all is served, a payload that samtools or bcftools read without a word. A truncated
    /// file may well serve the regions it still holds; it must never serve a corrupt payload.
    BrokenOrSound(&'static [&'static str]),
}

const INDEX: &[&str] = &["index"];
const HEADER: &[&str] = &["header"];
const ANY_PART: &[&str] = &["index", "header", "data", "BGZF", "CRAM", "span"];

/// A file under the broken root, the ticket queries tried on it (its format added), what they
/// must give, and the intact file it was cut from, if any (a sound ticket must hold every
/// record that the original holds in the region).
#[derive(Debug)]
struct Case {
    file: &'static str,
    queries: &'static [&'static str],
    expect: Expect,
    original: Option<&'static str>,
}

const BAM_QUERIES: &[&str] = &[
    "referenceName=11&start=4999999&end=5050000",
    "referenceName=20&start=1000000&end=1100000",
    "referenceName=20",
    "",
    "class=header",
];
const SMALL_BAM_QUERIES: &[&str] = &["referenceName=CHROMOSOME_I", ""];
const VCF_QUERIES: &[&str] = &["referenceName=chrM&start=0&end=4000", "", "class=header"];
const LEVEL0_VCF_QUERIES: &[&str] = &["referenceName=1", "referenceName=10", ""];
const BCF_QUERIES: &[&str] = &["referenceName=chrM", ""];

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { file: "truncated.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.bam", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/htsnexus_test_NA12878.bam") },
    Case { file: "garbage.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "empty.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "garbage-index.bam", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "empty-index.bam", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "mismatched.bam", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/htsnexus_test_NA12878.bam") },
    Case { file: "outgrown.bam", queries: SMALL_BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/range.bam") },
    Case { file: "unindexed.bam", queries: BAM_QUERIES, expect: Expect::Missing(INDEX), original: None },
    Case { file: "truncated.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.vcf.gz", queries: LEVEL0_VCF_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("vcf/index_level0.vcf.gz") },
    Case { file: "empty.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "garbage-index.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "unindexed.vcf.gz", queries: VCF_QUERIES, expect: Expect::Missing(INDEX), original: None },
    Case { file: "truncated.bcf", queries: BCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "truncated.cram", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.cram", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("cram/htsnexus_test_NA12878.cram") },
    Case { file: "garbage.cram", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "garbage-index.cram", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
];

/// The broken root: every [`CASES`] file, and `good.bam`.
fn broken_root(data: &Path) -> TempDir {
    let read = |key: &str| fs::read(data.join(key)).unwrap();
    let bam = read("bam/htsnexus_test_NA12878.bam");
    let bai = read("bam/htsnexus_test_NA12878.bam.bai");
    let small_bam = read("bam/range.bam");
    let vcf = read("vcf/sample1-bcbio-cancer.vcf.gz");
    let tbi = read("vcf/sample1-bcbio-cancer.vcf.gz.tbi");
    let level0 = read("vcf/index_level0.vcf.gz");
    let level0_tbi = read("vcf/index_level0.vcf.gz.tbi");
    let bcf = read("bcf/sample1-bcbio-cancer.bcf");
    let csi = read("bcf/sample1-bcbio-cancer.bcf.csi");
    let cram = read("cram/htsnexus_test_NA12878.cram");
    let crai = read("cram/htsnexus_test_NA12878.cram.crai");
    let small_bai = read("bam/range.bam.bai");
    let (noise, index_noise, crai_noise) = (garbage(64 << 10), garbage(4096), garbage(512));

    #[rustfmt::skip]
    let files: Vec<(&str, &[u8])> = vec![
        ("good.bam", &bam), ("good.bam.bai", &bai),
        ("truncated.bam", &bam[..1000]), ("truncated.bam.bai", &bai),
        ("half.bam", &bam[..bam.len() / 2]), ("half.bam.bai", &bai),
        ("garbage.bam", &noise), ("garbage.bam.bai", &bai),
        ("empty.bam", b""), ("empty.bam.bai", &bai),
        ("garbage-index.bam", &bam), ("garbage-index.bam.bai", &index_noise),
        ("empty-index.bam", &bam), ("empty-index.bam.bai", b""),
        ("mismatched.bam", &bam), ("mismatched.bam.bai", &small_bai),
        ("outgrown.bam", &small_bam), ("outgrown.bam.bai", &bai),
        ("unindexed.bam", &bam),
        ("truncated.vcf.gz", &vcf[..1000]), ("truncated.vcf.gz.tbi", &tbi),
        ("half.vcf.gz", &level0[..level0.len() / 2]), ("half.vcf.gz.tbi", &level0_tbi),
        ("empty.vcf.gz", b""), ("empty.vcf.gz.tbi", &tbi),
        ("garbage-index.vcf.gz", &vcf), ("garbage-index.vcf.gz.tbi", &index_noise),
        ("unindexed.vcf.gz", &vcf),
        ("truncated.bcf", &bcf[..1000]), ("truncated.bcf.csi", &csi),
        ("truncated.cram", &cram[..1000]), ("truncated.cram.crai", &crai),
        ("half.cram", &cram[..cram.len() / 2]), ("half.cram.crai", &crai),
        ("garbage.cram", &noise), ("garbage.cram.crai", &crai_noise),
        ("garbage-index.cram", &cram), ("garbage-index.cram.crai", &crai_noise),
    ];

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        write(&dir.path().join(name), bytes);
    }
    dir
}

/// The ticket target for `file` (its id, endpoint and format told by its extension) and `query`.
fn ticket_target(file: &str, query: &str) -> String {
    let (id, endpoint, format) = [
        (".bam", "reads", ""),
        (".cram", "reads", "format=CRAM"),
        (".vcf.gz", "variants", ""),
        (".bcf", "variants", "format=BCF"),
    ]
    .into_iter()
    .find_map(|(ext, endpoint, format)| Some((file.strip_suffix(ext)?, endpoint, format)))
    .expect("a data file");

    let params: Vec<&str> = [format, query]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if params.is_empty() {
        format!("/{endpoint}/{id}")
    } else {
        format!("/{endpoint}/{id}?{}", params.join("&"))
    }
}

#[test]
fn broken_files_give_clear_errors_and_the_server_keeps_serving() {
    let Some(data) = data_dir() else { return };
    let root = broken_root(&data);
    let server = TestServer::start(Some(root.path()), |_| {});

    let tries = tries(CASES);
    let mut failed = failures(
        &tries,
        |(case, query)| ticket_target(case.file, query),
        |(case, query)| check_broken(&server, &data, case, query),
    );
    failed.extend(concurrent_failures(&server, &tries));
    failed.extend(forged_span_failures(&server));
    failed.extend(crafted_index_failures());

    // And the server keeps serving.
    failed.extend(failures(
        BAM_QUERIES,
        |query| format!("good.bam after the broken files: {query:?}"),
        |query| {
            let reply = get(server.addr, &ticket_target("good.bam", query));
            let served = assert_sound_ticket(&server, &reply, "good.bam", &server.root);
            let expected = expected_records(&data, "bam/htsnexus_test_NA12878.bam", query);
            assert!(served >= expected, "{served:?} records, want {expected:?}");
        },
    ));
    let info = get(server.addr, "/variants/service-info");
    if info.status != 200 {
        failed.push(format!(
            "service-info after the broken files: {}",
            info.status
        ));
    }

    assert_no_failures(&failed, tries.len());
}

/// All at once, too: no request hangs, and each is answered as it was alone.
fn concurrent_failures(server: &TestServer, tries: &[(&Case, &str)]) -> Vec<String> {
    let handles: Vec<_> = tries
        .iter()
        .map(|(case, query)| {
            let (addr, target) = (server.addr, ticket_target(case.file, query));
            std::thread::spawn(move || (get(addr, &target).status, target))
        })
        .collect();

    handles
        .into_iter()
        .filter_map(|handle| match handle.join() {
            Ok((200 | 404 | 500, _)) => None,
            Ok((status, target)) => Some(format!("at once: {target}: {status}")),
            Err(_) => Some("at once: a request got no answer".to_owned()),
        })
        .collect()
}

// Crafted indexes: well-formed magic, then counts that claim billions of entries.

#[rustfmt::skip]
const CRAFTED: &[Case] = &[
    Case { file: "reference-count.bam", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count.bam", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count-csi.vcf.gz", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count-tbi.vcf.gz", queries: &[""], expect: Expect::Broken(INDEX), original: None },
];

/// A count no index holds: 4 billion.
const HUGE: u32 = 0xffff_fff0;

/// The crafted root: every [`CRAFTED`] file beside its real data, and `good.bam`.
fn crafted_root(data: &Path) -> TempDir {
    let read = |key: &str| fs::read(data.join(key)).unwrap();
    let bam = read("bam/htsnexus_test_NA12878.bam");
    let bai = read("bam/htsnexus_test_NA12878.bam.bai");
    let vcf = read("vcf/sample1-bcbio-cancer.vcf.gz");
    let le = |values: &[u32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };

    let bai_references = [b"BAI\x01".as_slice(), &le(&[HUGE])].concat();
    let bai_bins = [b"BAI\x01".as_slice(), &le(&[1, HUGE])].concat();
    // min_shift 14, depth 5, no aux; one reference with HUGE bins.
    let csi_bins = bgzf([b"CSI\x01".as_slice(), &le(&[14, 5, 0, 1, HUGE])].concat());
    // One reference "1" (VCF columns 1, 2, 0; '#' comments; no skip), with HUGE bins.
    let tbi_header = le(&[1, 2, 1, 2, 0, u32::from(b'#'), 0, 2]);
    let tbi_bins = bgzf([b"TBI\x01".as_slice(), &tbi_header, b"1\0", &le(&[HUGE])].concat());

    #[rustfmt::skip]
    let files: Vec<(&str, &[u8])> = vec![
        ("good.bam", &bam), ("good.bam.bai", &bai),
        ("reference-count.bam", &bam), ("reference-count.bam.bai", &bai_references),
        ("bin-count.bam", &bam), ("bin-count.bam.bai", &bai_bins),
        ("bin-count-csi.vcf.gz", &vcf), ("bin-count-csi.vcf.gz.csi", &csi_bins),
        ("bin-count-tbi.vcf.gz", &vcf), ("bin-count-tbi.vcf.gz.tbi", &tbi_bins),
    ];

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        write(&dir.path().join(name), bytes);
    }
    dir
}

/// `bytes` BGZF-compressed, with the EOF block.
fn bgzf(bytes: Vec<u8>) -> Vec<u8> {
    let mut writer = noodles::bgzf::io::Writer::new(Vec::new());
    writer.write_all(&bytes).unwrap();
    writer.finish().unwrap()
}

/// The environment variable that tells [`crafted_indexes_in_this_process`] which case to run.
const CRAFTED_CASE: &str = "HTSGET_HOSTILE_CRAFTED_CASE";

/// Runs each [`CRAFTED`] case in a child process (this test binary, filtered to
/// [`crafted_indexes_in_this_process`]), so that an abort on an impossible allocation fails this
/// check, naming the case, rather than killing every test of the binary.
fn crafted_index_failures() -> Vec<String> {
    CRAFTED
        .iter()
        .filter_map(|case| run_crafted_child(case.file).err())
        .collect()
}

fn run_crafted_child(file: &str) -> Result<(), String> {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "hostile::crafted_indexes_in_this_process",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRAFTED_CASE, file)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();

    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("note:"))
        .take(12)
        .collect();

    if !output.status.success() {
        Err(format!(
            "{file}: the process ended with {}:\n  {}",
            output.status,
            lines.join("\n  ")
        ))
    } else if !text.contains("1 passed") {
        Err(format!(
            "{file}: the child ran nothing:\n  {}",
            lines.join("\n  ")
        ))
    } else {
        Ok(())
    }
}

#[test]
#[ignore = "run in child processes by broken_files_give_clear_errors_and_the_server_keeps_serving"]
fn crafted_indexes_in_this_process() {
    let Some(data) = data_dir() else { return };
    let root = crafted_root(&data);
    let server = TestServer::start(Some(root.path()), |_| {});
    let only = std::env::var(CRAFTED_CASE).ok();

    let cases: Vec<&Case> = CRAFTED
        .iter()
        .filter(|case| only.as_deref().is_none_or(|file| file == case.file))
        .collect();
    assert!(!cases.is_empty(), "no crafted case {only:?}");
    check_each(
        &cases,
        |case| ticket_target(case.file, ""),
        |case| check_broken(&server, &data, case, ""),
    );

    let reply = get(server.addr, "/reads/good");
    assert_eq!(reply.status, 200, "good.bam after the crafted indexes");
}

/// Spans are the server's own, but a client may send any: each is served, refused, or fails
/// with a clear 500, and none hangs the server or leaks a path.
fn forged_span_failures(server: &TestServer) -> Vec<String> {
    let size = fs::metadata(server.root.join("good.bam")).unwrap().len();
    let past_end = format!("0-{}", (size + 1) << 16);
    let max = u64::MAX.to_string();
    #[rustfmt::skip]
    let spans = [
        "5-4", "x-y", "1-2-3", "-", "", "0-", "-5", "0-99999999999999999999",
        &past_end, &format!("{max}-{max}"),
        "65537-131073", // from byte 1, not a block start
        "1-65537",      // from inside the first block to byte 1
        "0-0",
    ];
    failures(
        &spans,
        |span| format!("forged span {span:?}"),
        |span| {
            let target = format!("/data/good.bam?span={span}");
            let reply = get(server.addr, &target);
            match reply.status {
                200 => assert_eq!(
                    reply.header("content-length"),
                    Some(reply.body.len().to_string().as_str())
                ),
                400 | 416 => assert_eq!(reply.error_name(), "InvalidInput"),
                _ => assert_clean_error(&reply, 500, "InternalServerError", ANY_PART, &server.root),
            }
        },
    )
}

/// Every case with every one of its queries.
fn tries(cases: &[Case]) -> Vec<(&Case, &str)> {
    cases
        .iter()
        .flat_map(|case| case.queries.iter().map(move |query| (case, *query)))
        .collect()
}

fn check_broken(server: &TestServer, data: &Path, case: &Case, query: &str) {
    let reply = get(server.addr, &ticket_target(case.file, query));
    let root = server.root.as_path();
    match case.expect {
        Expect::Broken(topics) => {
            assert_clean_error(&reply, 500, "InternalServerError", topics, root);
        }
        Expect::Missing(topics) => assert_clean_error(&reply, 404, "NotFound", topics, root),
        Expect::BrokenOrSound(topics) if reply.status != 200 => {
            assert_clean_error(&reply, 500, "InternalServerError", topics, root);
        }
        Expect::BrokenOrSound(_) => {
            let served = assert_sound_ticket(server, &reply, case.file, root);
            let expected = case
                .original
                .and_then(|original| expected_records(data, original, query));
            if let (Some(served), Some(expected)) = (served, expected) {
                assert!(
                    served >= expected,
                    "the ticket silently drops records: {served} served, the intact file holds \
                     {expected} there"
                );
            }
        }
    }
}

/// The records that the intact `original` holds for `query`, as samtools or bcftools count
/// them; `None` for a header-only query.
fn expected_records(data: &Path, original: &str, query: &str) -> Option<u64> {
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
fn assert_clean_error(reply: &Reply, status: u16, name: &str, topics: &[&str], root: &Path) {
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
fn assert_sound_ticket(server: &TestServer, reply: &Reply, file: &str, root: &Path) -> Option<u64> {
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

        if let Some(span) = address.strip_prefix(&format!("{data_url}?span=")) {
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

        assert_eq!(address, data_url, "a URL to another file");
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

// =============================================================================================
// Raw connections

/// What came back on a raw connection, and whether the server closed it.
#[derive(Debug)]
struct Answer {
    bytes: Vec<u8>,
    closed: bool,
}

impl Answer {
    fn gone() -> Self {
        Self {
            bytes: Vec::new(),
            closed: true,
        }
    }

    /// The status of the response, if one began.
    fn status(&self) -> Option<u16> {
        let line = self.bytes.strip_prefix(b"HTTP/1.1 ")?;
        std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
    }

    fn is_success(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    fn reply(&self) -> Reply {
        assert!(self.status().is_some(), "no response: {self:?}");
        parse_reply(&self.bytes, false)
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `raw` on a new connection, then reads until the server closes it or `wait` passes.
fn exchange(addr: SocketAddr, raw: &[u8], wait: Duration) -> Answer {
    let mut stream = connect(addr);
    // The server may refuse and close before it has read everything.
    let _ = stream.write_all(raw);
    read_until_closed(&mut stream, wait)
}

/// Reads until the server closes the connection (or resets it), or `wait` passes.
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Answer {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut buf = [0; 16 << 10];

    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Answer {
                bytes,
                closed: false,
            };
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }

    Answer {
        bytes,
        closed: true,
    }
}

/// Reads one response with a `Content-Length` from a kept-alive connection.
fn read_response(stream: &mut TcpStream) -> Reply {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];

    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let reply = parse_reply(&bytes[..end + 4], true);
            let length: usize = reply
                .header("content-length")
                .expect("a Content-Length")
                .parse()
                .unwrap();
            if bytes.len() >= end + 4 + length {
                return parse_reply(&bytes, false);
            }
        }
        let n = stream.read(&mut buf).expect("the response");
        assert!(n > 0, "closed mid-response: {}", lossy(&bytes));
        bytes.extend_from_slice(&buf[..n]);
    }
}

// =============================================================================================
// Helpers

/// Runs `check` on every item and fails once, naming every item that did not pass.
fn check_each<T>(items: &[T], label: impl Fn(&T) -> String, check: impl Fn(&T)) {
    assert_no_failures(&failures(items, label, check), items.len());
}

/// The items `check` panics on, each labelled with its panic message.
fn failures<T>(items: &[T], label: impl Fn(&T) -> String, check: impl Fn(&T)) -> Vec<String> {
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

fn assert_no_failures(failures: &[String], checked: usize) {
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Status, `application/json`, and the htsget error `name`.
fn assert_htsget_error(reply: &Reply, status: u16, name: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", lossy(&reply.body));
    assert!(
        reply.is_json(),
        "{what}: Content-Type {:?}",
        reply.header("content-type")
    );
    assert_eq!(reply.error_name(), name, "{what}: {}", lossy(&reply.body));
}

fn message(reply: &Reply) -> String {
    reply.json()["htsget"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

/// Deterministic bytes that parse as nothing: no gzip, BAM, BAI or CRAM magic.
fn garbage(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) as u8) ^ 0x5a)
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A body for a failure message: its text, shortened, or its size if it is binary.
fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.chars().take(300).collect(),
        Err(_) => format!("<{} binary bytes>", bytes.len()),
    }
}

fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap_or_else(|e| panic!("{} -> {}: {e}", from.display(), to.display()));
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn symlink(target: &str, link: &Path) {
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}
