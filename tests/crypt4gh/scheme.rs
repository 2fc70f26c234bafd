//! `encryptionScheme` as hts-specs PR #808 and the GA4GH compliance suite use it: the value
//! matrix (`crypt4gh`, `c4gh`, `C4GH`, `none`, `rot13`, empty, absent) × (plain id, encrypted
//! id) × (the client's key sent, or not); the compliance suite's cases (`c4gh` without a key on
//! plain files of each format: the plain payload); service-info's list of schemes.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use htsget_core::Format;

use super::{crypt4gh, keygen};
use crate::{
    clients::ticket_url,
    common::{Tool, data_dir, require},
    ground_truth::{count_reads, count_variants, rows},
    server::{TestServer, payload, request},
};

/// A region of the test BAM, as each case asks it.
const REGION: &str = "referenceName=11&start=4999999&end=5050000";

/// What a case should get.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Expect {
    /// 200, the plain payload.
    Plain,
    /// 200, a Crypt4GH payload for the client's key whose plaintext is the plain payload.
    Crypt4gh,
    /// 400 InvalidInput.
    Refused,
}

/// What `scheme` on a plain or `encrypted` id, with the client's key sent or not, gets.
fn expected(scheme: Option<&str>, encrypted: bool, key: bool) -> Expect {
    let crypt4gh = match scheme {
        None | Some("none") => false,
        Some("crypt4gh" | "c4gh" | "C4GH") => true,
        Some(_) => return Expect::Refused,
    };
    match (crypt4gh && key, encrypted) {
        (true, _) => Expect::Crypt4gh,
        (false, true) => Expect::Refused,
        (false, false) => Expect::Plain,
    }
}

#[test]
fn encryption_scheme_values_by_id_and_key() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bam = dir.join("bam/htsnexus_test_NA12878.bam");
    let bai = dir.join("bam/htsnexus_test_NA12878.bam.bai");
    std::fs::copy(&bam, root.join("plain.bam")).unwrap();
    std::fs::copy(&bai, root.join("plain.bam.bai")).unwrap();
    let recipient = ["encrypt", "--recipient_pk", server_pk.to_str().unwrap()];
    assert!(crypt4gh(&recipient, &bam, &root.join("enc.bam.c4gh")));
    std::fs::copy(&bai, root.join("enc.bam.bai")).unwrap();
    let server = TestServer::start(Some(&root), move |config| config.c4gh_key = Some(server_sk));

    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let key_header = [("Htsget-Context-Public-Key", client.as_str())];
    let plain_payload = {
        let reply = request(
            server.addr,
            "GET",
            &format!("/reads/plain?{REGION}"),
            &[],
            b"",
        );
        reply.expect(200, "the plain ticket");
        payload(server.addr, &reply.json())
    };
    assert_eq!(&plain_payload[..2], [0x1f, 0x8b], "a BGZF payload");

    let mut cases = 0;
    for scheme in [
        Some("crypt4gh"),
        Some("c4gh"),
        Some("C4GH"),
        Some("none"),
        Some("rot13"),
        Some(""),
        None,
    ] {
        for (id, encrypted) in [("plain", false), ("enc", true)] {
            for key in [true, false] {
                let mut target = format!("/reads/{id}?{REGION}");
                if let Some(scheme) = scheme {
                    target += &format!("&encryptionScheme={scheme}");
                }
                let headers: &[(&str, &str)] = if key { &key_header } else { &[] };
                let reply = request(server.addr, "GET", &target, headers, b"");
                let case = format!("{target} (key sent: {key})");
                match expected(scheme, encrypted, key) {
                    Expect::Refused => {
                        assert_eq!(reply.status, 400, "{case}");
                        assert_eq!(reply.error_name(), "InvalidInput", "{case}");
                        if encrypted && scheme.is_some_and(|s| s.eq_ignore_ascii_case("c4gh")) {
                            let message = String::from_utf8_lossy(&reply.body).into_owned();
                            assert!(message.contains("Htsget-Context-Public-Key"), "{case}");
                        }
                    }
                    Expect::Plain => {
                        reply.expect(200, &case);
                        assert_eq!(payload(server.addr, &reply.json()), plain_payload, "{case}");
                    }
                    Expect::Crypt4gh => {
                        reply.expect(200, &case);
                        let sealed = payload(server.addr, &reply.json());
                        assert!(sealed.starts_with(b"crypt4gh"), "{case}");
                        let (from, to) = (tmp.path().join("p.c4gh"), tmp.path().join("p"));
                        std::fs::write(&from, &sealed).unwrap();
                        let decrypt = ["decrypt", "--sk", client_sk.to_str().unwrap()];
                        assert!(crypt4gh(&decrypt, &from, &to), "{case}: decrypts");
                        assert_eq!(std::fs::read(&to).unwrap(), plain_payload, "{case}");
                    }
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 28);

    // POST takes the scheme in its body.
    let body = br#"{"format":"BAM","encryptionScheme":"crypt4gh","regions":[{"referenceName":"11","start":4999999,"end":5050000}]}"#;
    let reply = request(server.addr, "POST", "/reads/plain", &key_header, body);
    reply.expect(200, "POST crypt4gh");
    assert!(payload(server.addr, &reply.json()).starts_with(b"crypt4gh"));
    let body = br#"{"format":"BAM","encryptionScheme":"rot13"}"#;
    let reply = request(server.addr, "POST", "/reads/plain", &key_header, body);
    assert_eq!(reply.status, 400, "POST rot13");

    // service-info says which schemes are served.
    for endpoint in ["reads", "variants"] {
        let reply = request(
            server.addr,
            "GET",
            &format!("/{endpoint}/service-info"),
            &[],
            b"",
        );
        let info = reply.json();
        assert_eq!(
            info["htsget"]["encryptionSchemes"],
            serde_json::json!(["none", "crypt4gh"])
        );
    }
}

/// What the compliance suite does: `encryptionScheme=c4gh` and no key on plain files of each
/// format, against a default server: 200 and the plain payload, whose records are the region's.
#[test]
fn compliance_suite_cases_get_the_plain_payload() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let server = TestServer::shared(&dir);
    let rows = rows(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for format in [Format::Bam, Format::Cram, Format::Vcf, Format::Bcf] {
        let row = rows
            .iter()
            .find(|r| r.format == format && !r.not_in_header && r.count > 0)
            .unwrap_or_else(|| panic!("a {format:?} row"));
        let plain = ticket_url(&server.url, row);
        let plain = plain.strip_prefix(&server.url).unwrap().to_owned();
        let name = format.as_str();
        let path = plain.split('?').next().unwrap();
        for (target, unasked) in [
            (format!("{plain}&encryptionScheme=c4gh"), plain.clone()),
            // The whole file, as the suite asks it.
            (
                format!("{path}?encryptionScheme=c4gh&format={name}"),
                format!("{path}?format={name}"),
            ),
        ] {
            let reply = request(server.addr, "GET", &target, &[], b"");
            reply.expect(200, &target);
            let got = payload(server.addr, &reply.json());
            let reply = request(server.addr, "GET", &unasked, &[], b"");
            reply.expect(200, &unasked);
            assert!(!got.is_empty() && !got.starts_with(b"crypt4gh"), "{target}");
            assert_eq!(got, payload(server.addr, &reply.json()), "{target}: plain");
        }

        // The region's records, as samtools/bcftools count them.
        let reply = request(
            server.addr,
            "GET",
            &format!("{plain}&encryptionScheme=c4gh"),
            &[],
            b"",
        );
        let out = tmp.path().join(format!("payload.{}", format.extension()));
        std::fs::write(&out, payload(server.addr, &reply.json())).unwrap();
        let out = out.to_str().unwrap();
        let reference = row
            .reference
            .as_ref()
            .map(|r| dir.join(r).to_string_lossy().into_owned());
        let count = match format {
            Format::Bam | Format::Cram => count_reads(out, row, reference.as_deref()),
            Format::Vcf | Format::Bcf => count_variants(out, row),
        };
        assert_eq!(count, Ok(row.count), "{plain}");
        checked.push(name);
    }
    assert_eq!(checked, ["BAM", "CRAM", "VCF", "BCF"]);
}

/// On-the-fly URLs of plain files from replicas sharing `--url-key` (access control off, no
/// Crypt4GH key): any replica serves a ticket's URL, the same bytes; one with a secret of its
/// own serves bytes the ticket's key does not open.
#[test]
fn replicas_sharing_the_url_key_serve_each_others_on_the_fly_urls() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let url_key = tmp.path().join("url.key");
    std::fs::write(&url_key, [42; 32]).unwrap();
    let start = |key: Option<std::path::PathBuf>| {
        TestServer::start(Some(&dir), move |config| config.access.url_key = key)
    };
    let (first, second, alone) = (
        start(Some(url_key.clone())),
        start(Some(url_key)),
        start(None),
    );

    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let target = format!("/reads/bam/htsnexus_test_NA12878?{REGION}&encryptionScheme=crypt4gh");
    let reply = request(
        first.addr,
        "GET",
        &target,
        &[("Htsget-Context-Public-Key", &client)],
        b"",
    );
    reply.expect(200, "ticket");
    let ticket = reply.json();
    let links: Vec<String> = ticket["htsget"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["url"].as_str())
        .filter_map(|u| u.find("/data/").map(|at| u[at..].to_owned()))
        .collect();
    assert!(!links.is_empty(), "the ticket has data URLs");
    let fetch = |addr, link: &str| request(addr, "GET", link, &[], b"").body;
    for link in &links {
        assert_eq!(fetch(first.addr, link), fetch(second.addr, link), "{link}");
        assert_ne!(fetch(first.addr, link), fetch(alone.addr, link), "{link}");
    }

    // The whole payload from the second replica decrypts to the plain payload.
    let mut sealed = Vec::new();
    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let url = url["url"].as_str().unwrap();
        match url.strip_prefix("data:;base64,") {
            Some(inline) => sealed.extend(STANDARD.decode(inline).unwrap()),
            None => sealed.extend(fetch(second.addr, &url[url.find("/data/").unwrap()..])),
        }
    }
    let (from, to) = (tmp.path().join("p.c4gh"), tmp.path().join("p"));
    std::fs::write(&from, &sealed).unwrap();
    let decrypt = ["decrypt", "--sk", client_sk.to_str().unwrap()];
    assert!(crypt4gh(&decrypt, &from, &to), "decrypts");
    let plain = request(
        first.addr,
        "GET",
        &format!("/reads/bam/htsnexus_test_NA12878?{REGION}"),
        &[],
        b"",
    );
    assert_eq!(
        std::fs::read(&to).unwrap(),
        payload(first.addr, &plain.json())
    );
}
