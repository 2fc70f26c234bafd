//! Re-keyed tickets up close: the ticket's key opens what the ticket serves and none of the
//! stored segments; URLs give the same bytes fetched twice, split into sub-ranges, or from
//! another replica holding the same key; a tampered segment fails the stream; a file the server
//! key cannot open is a 500 without detail; a rotated server key file is read again on SIGHUP.

use std::path::{Path, PathBuf};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use htsget_core::crypt4gh::{
    header,
    keys::SecretKey,
    segments::{self, ENCRYPTED},
};

use super::{crypt4gh, keygen};
use crate::{
    common::{Tool, data_dir, require},
    process::ServerProcess,
    server::{TestServer, request},
};

const TICKET: &str = "/reads/na?referenceName=11&start=4999999&end=5050000&encryptionScheme=C4GH";

/// The test BAM of `dir` encrypted by python crypt4gh into `root` as `NAME.bam.c4gh` for each
/// recipient's public key file, each with the plain BAI.
fn encrypted_copies(dir: &Path, root: &Path, recipients: &[(&str, &PathBuf)]) {
    let bam = dir.join("bam/htsnexus_test_NA12878.bam");
    for (name, recipient) in recipients {
        let to = root.join(format!("{name}.bam.c4gh"));
        assert!(crypt4gh(
            &["encrypt", "--recipient_pk", recipient.to_str().unwrap()],
            &bam,
            &to
        ));
        std::fs::copy(
            dir.join("bam/htsnexus_test_NA12878.bam.bai"),
            root.join(format!("{name}.bam.bai")),
        )
        .unwrap();
    }
}

#[test]
fn re_keyed_tickets_open_only_what_they_serve() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let (_, stranger_pk) = keygen(tmp.path(), "stranger");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bam = dir.join("bam/htsnexus_test_NA12878.bam");
    encrypted_copies(
        &dir,
        &root,
        &[("na", &server_pk), ("stranger", &stranger_pk)],
    );
    let key = server_sk.clone();
    let server = TestServer::start(Some(&root), move |config| config.c4gh_key = Some(key));
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let headers = [("Htsget-Context-Public-Key", client.as_str())];

    let reply = request(server.addr, "GET", TICKET, &headers, b"");
    reply.expect(200, "ticket");
    let ticket = reply.json();
    let urls = ticket["htsget"]["urls"].as_array().unwrap();

    // The ticket's key, as the client opens it.
    let secret =
        SecretKey::from_file_text(&std::fs::read_to_string(&client_sk).unwrap(), None).unwrap();
    let head = STANDARD
        .decode(
            urls[0]["url"]
                .as_str()
                .unwrap()
                .strip_prefix("data:;base64,")
                .unwrap(),
        )
        .unwrap();
    let opened = header::read(&head, &secret).unwrap().unwrap();
    assert_eq!(opened.keys.len(), 1);
    assert!(opened.edits.is_some());

    // It opens every served segment...
    let link = urls
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .find(|u| u.contains("&c4="))
        .expect("a segments URL");
    let target = &link[link.find("/data/").unwrap()..];
    let served = request(server.addr, "GET", target, &[], b"").body;
    assert!(!served.is_empty() && served.len().is_multiple_of(ENCRYPTED as usize));
    for segment in served.chunks(ENCRYPTED as usize) {
        assert!(segments::decrypt(&opened.keys, segment).is_ok());
    }
    // ...and no stored one.
    let stored = std::fs::read(root.join("na.bam.c4gh")).unwrap();
    let header_len = header::length(&stored).unwrap().unwrap() as usize;
    for segment in stored[header_len..].chunks(ENCRYPTED as usize) {
        assert!(
            segments::decrypt(&opened.keys, segment).is_err(),
            "the ticket key opens a stored segment"
        );
    }

    // The same bytes fetched again, and as three sub-ranges.
    assert_eq!(request(server.addr, "GET", target, &[], b"").body, served);
    let (a, b) = (served.len() / 3, 2 * served.len() / 3);
    let mut pieces = Vec::new();
    for (start, end) in [(0, a), (a, b), (b, served.len())] {
        let range = format!("bytes={start}-{}", end - 1);
        let reply = request(server.addr, "GET", target, &[("Range", &range)], b"");
        assert_eq!(reply.status, 206);
        pieces.extend(reply.body);
    }
    assert!(pieces == served, "sub-ranges differ from the whole");

    // Another replica holding the same key over the same files serves the same bytes for the
    // ticket's URLs, whole or in sub-ranges taken from each replica in turn.
    let key = server_sk.clone();
    let replica = TestServer::start(Some(&root), move |config| config.c4gh_key = Some(key));
    assert!(request(replica.addr, "GET", target, &[], b"").body == served);
    let mut pieces = Vec::new();
    for (i, (start, end)) in [(0, a), (a, b), (b, served.len())].into_iter().enumerate() {
        let range = format!("bytes={start}-{}", end - 1);
        let addr = [server.addr, replica.addr][i % 2];
        pieces.extend(request(addr, "GET", target, &[("Range", &range)], b"").body);
    }
    assert!(pieces == served, "replicas differ");

    // A whole-file ticket: its largest re-keyed byte range takes many jobs of the data
    // endpoint. Opened with that ticket's key, its segments are exactly the plain file's bytes
    // of the range, then zeros to the segment's end; unaligned sub-ranges from either replica
    // put together give the same stream.
    let reply = request(
        server.addr,
        "GET",
        "/reads/na?encryptionScheme=C4GH",
        &headers,
        b"",
    );
    let whole = reply.expect(200, "whole file").json();
    let urls = whole["htsget"]["urls"].as_array().unwrap();
    let head = STANDARD
        .decode(
            urls[0]["url"]
                .as_str()
                .unwrap()
                .strip_prefix("data:;base64,")
                .unwrap(),
        )
        .unwrap();
    let keys = header::read(&head, &secret).unwrap().unwrap().keys;
    let (target, start, end) = urls
        .iter()
        .filter_map(|u| {
            let url = u["url"].as_str().unwrap();
            let c4 = url.split("c4=").nth(1)?.split('&').next()?;
            let (a, b) = c4.split_once('-')?;
            let target = url[url.find("/data/")?..].to_owned();
            Some((target, a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
        })
        .max_by_key(|(_, a, b)| b - a)
        .expect("a re-keyed byte range");
    let served = request(server.addr, "GET", &target, &[], b"").body;
    assert!(
        served.len() > 16 * ENCRYPTED as usize,
        "{} bytes: too few segments to cross jobs",
        served.len()
    );
    let mut opened = Vec::new();
    for segment in served.chunks(ENCRYPTED as usize) {
        opened.extend(segments::decrypt(&keys, segment).unwrap());
    }
    let mut expected = std::fs::read(&bam).unwrap()[start..end].to_vec();
    assert!(opened.len() >= expected.len() && opened.len() - expected.len() < 65_536);
    expected.resize(opened.len(), 0);
    assert!(
        opened == expected,
        "re-keyed plaintext differs from the file"
    );
    let e = ENCRYPTED as usize;
    let cuts = [0, 3 * e + 1234, 11 * e + 5, 17 * e + 99, served.len()];
    let mut pieces = Vec::new();
    for (i, pair) in cuts.windows(2).enumerate() {
        let range = format!("bytes={}-{}", pair[0], pair[1] - 1);
        let addr = [replica.addr, server.addr][i % 2];
        let reply = request(addr, "GET", &target, &[("Range", &range)], b"");
        assert_eq!(reply.status, 206, "{range}");
        pieces.extend(reply.body);
    }
    assert!(
        pieces == served,
        "unaligned sub-ranges differ from the whole"
    );

    // A stored segment under that URL tampered with in place (same file identity, so the ticket
    // stays valid): the stream is cut short of its Content-Length, never silently wrong.
    let c4 = target
        .split("c4=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (first, last) = c4.split_once('-').unwrap();
    let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
    // c4 is a plaintext range: tamper with the stored segment in its middle.
    let middle = (first + last) / 2 / segments::PLAIN as usize;
    let victim = header_len + middle * ENCRYPTED as usize + 100;
    let path = root.join("na.bam.c4gh");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut tampered = stored.clone();
    tampered[victim] ^= 1;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(victim as u64)).unwrap();
        file.write_all(&tampered[victim..=victim]).unwrap();
        file.set_modified(modified).unwrap();
    }
    // The connection ends short of the promised length, or (when the failure comes before
    // anything was flushed) with no response at all: never a complete, wrong body.
    let raw = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        raw
    };
    if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let promised: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            raw.len() - split - 4 < promised,
            "a tampered segment went out silently"
        );
    }

    // A file for another key: 500, saying nothing of keys or paths.
    let reply = request(
        server.addr,
        "GET",
        &TICKET.replace("/na?", "/stranger?"),
        &headers,
        b"",
    );
    assert_eq!(
        (reply.status, reply.error_name().as_str()),
        (500, "InternalServerError")
    );
    let message = reply.json()["htsget"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !message.contains(root.to_str().unwrap()) && !message.contains("key"),
        "{message}"
    );
}

#[test]
fn the_server_key_is_read_again_on_hangup() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (old_sk, old_pk) = keygen(tmp.path(), "old");
    let (new_sk, new_pk) = keygen(tmp.path(), "new");
    let (_, client_pk) = keygen(tmp.path(), "client");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    encrypted_copies(&dir, &root, &[("old", &old_pk), ("new", &new_pk)]);
    let key = tmp.path().join("server.sec");
    std::fs::copy(&old_sk, &key).unwrap();
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1:0",
        "--data",
        root.to_str().unwrap(),
        "--c4gh-key",
        key.to_str().unwrap(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let server = ServerProcess::start(&args, &tmp.path().join("server.log"));
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let status = |id: &str| {
        let target = TICKET.replace("/na?", &format!("/{id}?"));
        let headers = [("Htsget-Context-Public-Key", client.as_str())];
        request(server.addr, "GET", &target, &headers, b"").status
    };
    assert_eq!((status("old"), status("new")), (200, 500));

    // The key file replaced (a rotation), then SIGHUP: the new key opens what it was given.
    std::fs::copy(&new_sk, &key).unwrap();
    server.hangup();
    server.await_log("configuration reloaded", 1);
    assert_eq!((status("old"), status("new")), (500, 200));
}

#[test]
fn a_replaced_encrypted_file_is_answered_afresh() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (_, client_pk) = keygen(tmp.path(), "client");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    // Encrypted beside, then renamed over, as an operator replacing a file would.
    let place = |name: &str| {
        let staged = tmp.path().join("staged.c4gh");
        let bam = dir.join(format!("bam/{name}.bam"));
        assert!(crypt4gh(
            &["encrypt", "--recipient_pk", server_pk.to_str().unwrap()],
            &bam,
            &staged
        ));
        std::fs::rename(&staged, root.join("na.bam.c4gh")).unwrap();
        let index = tmp.path().join("staged.bai");
        std::fs::copy(dir.join(format!("bam/{name}.bam.bai")), &index).unwrap();
        std::fs::rename(&index, root.join("na.bam.bai")).unwrap();
    };
    place("htsnexus_test_NA12878");
    let server = TestServer::start(Some(&root), move |config| config.c4gh_key = Some(server_sk));
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let ask = |reference: &str| {
        let target = format!("/reads/na?referenceName={reference}&encryptionScheme=C4GH");
        let headers = [("Htsget-Context-Public-Key", client.as_str())];
        request(server.addr, "GET", &target, &headers, b"").status
    };
    assert_eq!(ask("11"), 200);
    assert_eq!(ask("11"), 200, "from what the first ticket found");

    place("index_level0");
    assert_eq!(
        ask("CHROMOSOME_I"),
        200,
        "the new file's references are served"
    );
    assert_eq!(ask("11"), 404, "the old file's index is not used");
}
