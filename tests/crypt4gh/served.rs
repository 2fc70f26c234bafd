//! Crypt4GH payloads of every ground-truth row: of files encrypted for the server's key by
//! python crypt4gh (indexes plain for some files, encrypted for others), re-keyed or passed
//! through; and of the plain files, encrypted on the fly (from a folder, and from a bucket).
//! The ticket's payload, decrypted by python crypt4gh with the client's secret key, reads in
//! samtools/bcftools with empty stderr and gives the row's count.

use std::{collections::BTreeSet, path::Path};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use htsget_core::Format;

use super::{crypt4gh, keygen};
use crate::{
    clients::ticket_url,
    common::{Tool, data_dir, require},
    ground_truth::{Row, count_reads, count_variants, rows},
    server::{Reply, TestServer, payload, request},
};

#[test]
fn every_ground_truth_row_of_plain_files_encrypted_on_the_fly() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh, Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    // No server key: a plain file needs none to be encrypted for a client.
    let server = TestServer::shared(&dir);
    let rows = rows(&dir);
    let checked = decrypted_rows(&server, &dir, &rows, tmp.path(), &client_sk, &client_pk);
    assert_rows("Crypt4GH on the fly", checked);
}

#[test]
fn every_ground_truth_row_of_plain_objects_encrypted_on_the_fly_from_a_bucket() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh, Tool::Samtools, Tool::Bcftools, Tool::Moto]) {
        return;
    }
    let Some(moto) = crate::object_store::moto::Moto::start() else {
        return;
    };
    moto.upload("genomes", "archive", &dir);
    let tmp = tempfile::tempdir().unwrap();
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let options = moto.settings();
    let server = TestServer::start(None, move |config| {
        config.data = Some("s3://genomes/archive".into());
        config.store.options = options.into_iter().collect();
    });
    let rows = rows(&dir);
    let checked = decrypted_rows(&server, &dir, &rows, tmp.path(), &client_sk, &client_pk);
    assert_rows("Crypt4GH on the fly from S3", checked);
}

#[test]
fn every_ground_truth_row_re_keyed() {
    every_ground_truth_row(false);
}

#[test]
fn every_ground_truth_row_passed_through() {
    every_ground_truth_row(true);
}

fn every_ground_truth_row(passthrough: bool) {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh, Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let root = tmp.path().join("root");
    let rows = rows(&dir);

    // Encrypt every data file; every other file's indexes too.
    let files: BTreeSet<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    let recipient = ["encrypt", "--recipient_pk", server_pk.to_str().unwrap()];
    for (i, file) in files.iter().enumerate() {
        let target = root.join(format!("{file}.c4gh"));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        assert!(crypt4gh(&recipient, &dir.join(file), &target), "{file}");
        let row = rows.iter().find(|r| r.file == *file).unwrap();
        for index in &row.indexes {
            let from = dir.join(Path::new(file).parent().unwrap()).join(index);
            let to = target.parent().unwrap().join(index);
            if i % 2 == 0 {
                std::fs::copy(&from, &to).unwrap();
            } else {
                assert!(crypt4gh(
                    &recipient,
                    &from,
                    &to.with_extension(format!(
                        "{}.c4gh",
                        to.extension().unwrap().to_str().unwrap()
                    ))
                ));
            }
        }
    }

    let key = server_sk.clone();
    let server = TestServer::start(Some(&root), move |config| {
        config.c4gh_key = Some(key);
        config.c4gh_passthrough = passthrough;
    });
    let checked = decrypted_rows(&server, &dir, &rows, tmp.path(), &client_sk, &client_pk);
    assert_rows(&format!("Crypt4GH (pass-through: {passthrough})"), checked);

    if passthrough {
        pass_through_tickets_name_their_cut_blocks(&server, &rows, &client_pk);
    }

    // Asked without encryptionScheme, an encrypted id is refused; the plaintext is never served.
    let row = rows.iter().find(|r| r.format == Format::Bam).unwrap();
    let plain = ticket_url(&server.url, row);
    let reply = request(
        server.addr,
        "GET",
        plain.strip_prefix(&server.url).unwrap(),
        &[],
        b"",
    );
    assert_eq!(
        (reply.status, reply.error_name().as_str()),
        (400, "InvalidInput")
    );
    let reply = request(server.addr, "GET", &format!("/data/{}", row.file), &[], b"");
    assert_eq!(reply.status, 404);
    // A missing or garbled client key: 400.
    let target = ticket_url(&server.url, row) + "&encryptionScheme=C4GH";
    let target = target.strip_prefix(&server.url).unwrap();
    assert_eq!(request(server.addr, "GET", target, &[], b"").status, 400);
    let garbled = [("Htsget-Context-Public-Key", "bm90IGEga2V5")];
    assert_eq!(
        request(server.addr, "GET", target, &garbled, b"").status,
        400
    );
}

/// A pass-through ticket on this server's URLs carries no sealed cut block inline: each is a
/// data URL (`cut=`) the data endpoint seals with the ticket key, so the ticket stays small;
/// in the body, only the end-of-file marker is inline, sealed unpadded. A cut URL naming another part of
/// its span is refused.
fn pass_through_tickets_name_their_cut_blocks(server: &TestServer, rows: &[Row], client_pk: &Path) {
    let client = STANDARD.encode(std::fs::read(client_pk).unwrap());
    let headers = [("Htsget-Context-Public-Key", client.as_str())];
    let mut cuts = 0;
    for row in rows
        .iter()
        .filter(|r| r.format != Format::Cram && r.start.is_some() && r.count > 0)
    {
        let target = ticket_url(&server.url, row) + "&encryptionScheme=crypt4gh";
        let target = target.strip_prefix(&server.url).unwrap();
        let reply = request(server.addr, "GET", target, &headers, b"");
        assert_eq!(reply.status, 200, "{target}");
        let json = reply.json();
        let urls = json["htsget"]["urls"].as_array().unwrap();
        for (i, url) in urls.iter().enumerate() {
            let body = url["class"] == "body";
            let url = url["url"].as_str().unwrap();
            if let Some(data) = url.strip_prefix("data:") {
                // In the body, only the unpadded EOF piece (a header that shares its last
                // block with records is a sealed segment of its own).
                assert!(
                    !body || data.len() < 1_000,
                    "{target}: inline part {i} of {}",
                    data.len()
                );
            } else if url.contains("&cut=") {
                cuts += 1;
                let path = url.strip_prefix(&server.url).unwrap();
                assert_eq!(
                    request(server.addr, "GET", path, &[], b"").status,
                    200,
                    "{path}"
                );
                // Part 1 of a span with a cut head is its whole blocks, not a cut block.
                let other = path.replace("&cut=0", "&cut=1").replace("&cut=2", "&cut=1");
                if other != path {
                    let reply = request(server.addr, "GET", &other, &[], b"");
                    assert_eq!(reply.status, 400, "{other}");
                }
            }
        }
    }
    assert!(cuts > 20, "only {cuts} cut URLs");
}

#[test]
fn pass_through_with_direct_urls_from_an_s3_bucket() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh, Tool::Moto, Tool::Samtools]) {
        return;
    }
    let Some(moto) = crate::object_store::moto::Moto::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let upload = tmp.path().join("upload/bam");
    std::fs::create_dir_all(&upload).unwrap();
    let bam = dir.join("bam/htsnexus_test_NA12878.bam");
    let recipient = ["encrypt", "--recipient_pk", server_pk.to_str().unwrap()];
    assert!(crypt4gh(&recipient, &bam, &upload.join("na.bam.c4gh")));
    std::fs::copy(
        dir.join("bam/htsnexus_test_NA12878.bam.bai"),
        upload.join("na.bam.bai"),
    )
    .unwrap();
    moto.upload("crypt", "archive", &tmp.path().join("upload"));

    let options = moto.settings();
    let server = TestServer::start(None, move |config| {
        config.data = Some("s3://crypt/archive".into());
        config.store.urls = htsget_server::config::UrlMode::Direct;
        config.store.options = options.into_iter().collect();
        config.c4gh_key = Some(server_sk);
        config.c4gh_passthrough = true;
    });
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let target = "/reads/bam/na?referenceName=11&start=4999999&end=5050000&encryptionScheme=C4GH";
    let reply = request(
        server.addr,
        "GET",
        target,
        &[("Htsget-Context-Public-Key", &client)],
        b"",
    );
    reply.expect(200, "ticket");
    let ticket = reply.json();

    // Every URL goes to the store, presigned; none to this server.
    let mut sealed = Vec::new();
    let mut presigned = 0;
    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let text = url["url"].as_str().unwrap();
        if let Some(data) = text.strip_prefix("data:;base64,") {
            sealed.extend(STANDARD.decode(data).unwrap());
            continue;
        }
        assert!(text.starts_with(&moto.endpoint()), "{text}");
        presigned += 1;
        let target = &text[moto.endpoint().len()..];
        let headers = crate::server::url_headers(url);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let addr = moto
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let reply = request(addr, "GET", target, &headers, b"");
        assert_eq!(reply.status, 206, "{target}");
        sealed.extend(reply.body);
    }
    assert!(presigned > 0);

    let (input, output) = (
        tmp.path().join("region.c4gh"),
        tmp.path().join("region.bam"),
    );
    std::fs::write(&input, sealed).unwrap();
    assert!(crypt4gh(
        &["decrypt", "--sk", client_sk.to_str().unwrap()],
        &input,
        &output
    ));
    let output = output.to_str().unwrap();
    let index = crate::common::run("samtools", &["index", output]);
    assert!(index.status.success() && index.stderr.is_empty());
    let region = "11:5000000-5050000";
    let count = crate::common::run("samtools", &["view", "-c", output, region]);
    let direct = crate::common::run("samtools", &["view", "-c", bam.to_str().unwrap(), region]);
    assert!(count.status.success() && count.stderr.is_empty());
    assert_eq!(count.stdout, direct.stdout);
}

/// Each of `rows` asked of `server` in Crypt4GH for the client's key `client_pk`, the payload
/// decrypted by python crypt4gh with `client_sk` (in `tmp`) and counted: the rows right, and
/// what went wrong with the others.
fn decrypted_rows(
    server: &TestServer,
    dir: &Path,
    rows: &[Row],
    tmp: &Path,
    client_sk: &Path,
    client_pk: &Path,
) -> (usize, Vec<String>) {
    let client_header = STANDARD.encode(std::fs::read(client_pk).unwrap());
    let headers = [("Htsget-Context-Public-Key", client_header.as_str())];
    let (mut passed, mut failures) = (0, Vec::new());

    for (i, row) in rows.iter().enumerate() {
        let url = ticket_url(&server.url, row) + "&encryptionScheme=C4GH";
        let target = url.strip_prefix(&server.url).unwrap();
        let reply: Reply = request(server.addr, "GET", target, &headers, b"");
        if row.not_in_header {
            if reply.status != 404 {
                failures.push(format!("{target}: expected 404, got {}", reply.status));
            }
            continue;
        }
        if reply.status != 200 {
            failures.push(format!(
                "{target}: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
            continue;
        }
        let sealed = tmp.join(format!("{i}.c4gh"));
        std::fs::write(&sealed, payload(server.addr, &reply.json())).unwrap();
        let out = tmp.join(format!("{i}.{}", row.format.extension()));
        if !crypt4gh(
            &["decrypt", "--sk", client_sk.to_str().unwrap()],
            &sealed,
            &out,
        ) {
            failures.push(format!(
                "{target}: python crypt4gh cannot decrypt the payload"
            ));
            continue;
        }
        let out = out.to_str().unwrap();
        let reference = row
            .reference
            .as_ref()
            .map(|r| dir.join(r).to_string_lossy().into_owned());
        let count = match row.format {
            Format::Bam | Format::Cram => count_reads(out, row, reference.as_deref()),
            Format::Vcf | Format::Bcf => count_variants(out, row),
        };
        match count {
            Ok(count) if count == row.count => passed += 1,
            Ok(count) => failures.push(format!("{target}: count {count}, expected {}", row.count)),
            Err(why) => failures.push(format!("{target}: {why}")),
        }
    }
    (passed, failures)
}

/// Asserts that the rows `checked` (right, and what went wrong with the others) are many and
/// all right, after saying how many.
fn assert_rows(what: &str, (passed, failures): (usize, Vec<String>)) {
    println!("{what}: {passed} rows right");
    assert!(passed > 200, "too few rows checked: {passed}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
