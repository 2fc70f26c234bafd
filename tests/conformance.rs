//! Conformance with htsget 1.3 (SPEC-NOTES §11) over HTTP: status codes and error names for
//! every rule, payload validity checked with samtools/bcftools, CORS, service-info and the data
//! endpoint. One server per test, over the public data set.

use std::{
    io::Write,
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::Value;

use crate::{
    common::{data_dir, run},
    server::{Reply, TestServer, get, request},
};

/// The media type of tickets.
const TICKET_TYPE: &str = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8";

/// The origin the CORS checks send.
const ORIGIN: &str = "http://example.org";

/// The BGZF end-of-file block.
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

/// Records in the whole NA12878 BAM/CRAM and in the whole sample1 VCF/BCF.
const NA12878_RECORDS: usize = 39918;
const SAMPLE1_RECORDS: usize = 12;

/// The storage key of the BAM data file.
const BAM_KEY: &str = "bam/htsnexus_test_NA12878.bam";

/// The ticket paths of the four test files.
const BAM_PATH: &str = "/reads/bam/htsnexus_test_NA12878";
const CRAM_PATH: &str = "/reads/cram/htsnexus_test_NA12878";
const VCF_PATH: &str = "/variants/vcf/sample1-bcbio-cancer";
const BCF_PATH: &str = "/variants/bcf/sample1-bcbio-cancer";

/// A request and what must come back: `(method, path, query, body, status, error name)`. The
/// error name is `""` for a success and `"*"` for "any htsget error name".
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn test_conformance_formats_and_ids() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", BAM_PATH, "", "", 200, ""),
        ("GET", BAM_PATH, "?format=BAM", "", 200, ""),
        ("GET", BAM_PATH, "?format=bam", "", 200, ""),
        ("GET", CRAM_PATH, "?format=CRAM", "", 200, ""),
        ("GET", CRAM_PATH, "?format=cram", "", 200, ""),
        ("GET", VCF_PATH, "", "", 200, ""),
        ("GET", VCF_PATH, "?format=VCF", "", 200, ""),
        ("GET", VCF_PATH, "?format=vcf", "", 200, ""),
        ("GET", BCF_PATH, "?format=BCF", "", 200, ""),
        ("GET", BCF_PATH, "?format=bcf", "", 200, ""),
        ("GET", BAM_PATH, "?format=VCF", "", 400, "UnsupportedFormat"),
        ("GET", BAM_PATH, "?format=BCF", "", 400, "UnsupportedFormat"),
        ("GET", BAM_PATH, "?format=SAM", "", 400, "UnsupportedFormat"),
        ("GET", VCF_PATH, "?format=BAM", "", 400, "UnsupportedFormat"),
        ("GET", VCF_PATH, "?format=CRAM", "", 400, "UnsupportedFormat"),
        ("GET", VCF_PATH, "?format=SAM", "", 400, "UnsupportedFormat"),
        ("GET", "/reads/no-such-id", "", "", 404, "NotFound"),
        ("GET", "/reads/bam/no/such/id", "", "", 404, "NotFound"),
        ("GET", "/variants/no-such-id", "", "", 404, "NotFound"),
        ("GET", "/variants/bam/htsnexus_test_NA12878", "", "", 404, "NotFound"),
        ("GET", "/reads/vcf/sample1-bcbio-cancer", "", "", 404, "NotFound"),
    ];
    run_cases(&server, cases);

    for (path, query, format, records) in [
        (BAM_PATH, "", "BAM", NA12878_RECORDS),
        (BAM_PATH, "?format=bam", "BAM", NA12878_RECORDS),
        (CRAM_PATH, "?format=CRAM", "CRAM", NA12878_RECORDS),
        (VCF_PATH, "", "VCF", SAMPLE1_RECORDS),
        (BCF_PATH, "?format=bcf", "BCF", SAMPLE1_RECORDS),
    ] {
        let ticket = fetch_ticket(&server, "GET", &format!("{path}{query}"), "");
        assert_eq!(ticket["htsget"]["format"], format, "{path}{query}");
        assert_eq!(
            valid_payload_records(&server, &ticket),
            records,
            "{path}{query}"
        );
    }
}

#[test]
fn test_conformance_reference_names() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", BAM_PATH, "?referenceName=11", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=20&start=1000000&end=1100000", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=11&start=5000000", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=11&end=5000000", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=1", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=*", "", 200, ""),
        ("GET", CRAM_PATH, "?format=CRAM&referenceName=11&start=5000000&end=5100000", "", 200, ""),
        ("GET", CRAM_PATH, "?format=CRAM&referenceName=*", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=chr99", "", 404, "NotFound"),
        ("GET", CRAM_PATH, "?format=CRAM&referenceName=chr99", "", 404, "NotFound"),
        ("GET", BAM_PATH, "?referenceName=*&start=0", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=*&end=10", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=*&start=0&end=10", "", 400, "InvalidInput"),
        ("GET", VCF_PATH, "?referenceName=chr22", "", 200, ""),
        ("GET", VCF_PATH, "?referenceName=chrM&start=0&end=100", "", 200, ""),
        ("GET", BCF_PATH, "?format=BCF&referenceName=chr22", "", 200, ""),
        ("GET", VCF_PATH, "?referenceName=chr1", "", 404, "NotFound"),
        ("GET", BCF_PATH, "?format=BCF&referenceName=chr1", "", 404, "NotFound"),
        ("GET", VCF_PATH, "?referenceName=*", "", 400, "InvalidInput"),
    ];
    run_cases(&server, cases);

    // `*` is the unplaced unmapped reads: 12475 of them (a superset would still be valid).
    let ticket = fetch_ticket(&server, "GET", &format!("{BAM_PATH}?referenceName=*"), "");
    assert!(valid_payload_records(&server, &ticket) >= 12475);
}

#[test]
fn test_conformance_start_end() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", BAM_PATH, "?referenceName=11&start=abc", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&end=abc", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&start=1.5", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&start=", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&start=-1", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&end=-1", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&end=4294967296", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&start=4294967296", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?referenceName=11&start=0&end=4294967295", "", 200, ""),
        ("GET", BAM_PATH, "?referenceName=11&start=200&end=100", "", 400, "InvalidRange"),
        ("GET", VCF_PATH, "?referenceName=chr22&start=200&end=100", "", 400, "InvalidRange"),
        ("GET", BAM_PATH, "?referenceName=11&start=5000000&end=5000000", "", 200, ""),
        ("GET", VCF_PATH, "?referenceName=chr22&start=100&end=100", "", 200, ""),
        ("GET", BAM_PATH, "?start=0", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?end=10", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?start=0&end=10", "", 400, "InvalidInput"),
        ("GET", VCF_PATH, "?start=0&end=10", "", 400, "InvalidInput"),
    ];
    run_cases(&server, cases);

    // An empty range is the header and the EOF marker: a valid file with no records.
    for target in [
        format!("{BAM_PATH}?referenceName=11&start=5000000&end=5000000"),
        format!("{VCF_PATH}?referenceName=chr22&start=100&end=100"),
    ] {
        let ticket = fetch_ticket(&server, "GET", &target, "");
        assert_eq!(valid_payload_records(&server, &ticket), 0, "{target}");
    }
}

#[test]
fn test_conformance_class_header() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", BAM_PATH, "?class=header", "", 200, ""),
        ("GET", BAM_PATH, "?class=header&format=BAM", "", 200, ""),
        ("GET", CRAM_PATH, "?class=header&format=CRAM", "", 200, ""),
        ("GET", VCF_PATH, "?class=header", "", 200, ""),
        ("GET", BCF_PATH, "?class=header&format=BCF", "", 200, ""),
        ("GET", BAM_PATH, "?class=header&referenceName=11", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?class=header&fields=QNAME", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?class=header&tags=NM", "", 400, "InvalidInput"),
        ("GET", VCF_PATH, "?class=header&referenceName=chr22", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?class=body", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?class=other", "", 400, "InvalidInput"),
        ("GET", VCF_PATH, "?class=body", "", 400, "InvalidInput"),
    ];
    run_cases(&server, cases);

    for (path, query, format) in [
        (BAM_PATH, "?class=header", "BAM"),
        (CRAM_PATH, "?class=header&format=CRAM", "CRAM"),
        (VCF_PATH, "?class=header", "VCF"),
        (BCF_PATH, "?class=header&format=BCF", "BCF"),
    ] {
        let target = format!("{path}{query}");
        let ticket = fetch_ticket(&server, "GET", &target, "");
        assert_eq!(ticket["htsget"]["format"], format, "{target}");
        assert_header_classes(&ticket, &target);
        assert_eq!(valid_payload_records(&server, &ticket), 0, "{target}");
    }
}

#[test]
fn test_conformance_fields_and_tags() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", BAM_PATH, "?tags=NM&notags=NM", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?tags=NM,MD&notags=RG,MD", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?tags=", "", 200, ""),
        ("GET", BAM_PATH, "?tags=NM,MD", "", 200, ""),
        ("GET", BAM_PATH, "?notags=NM", "", 200, ""),
        ("GET", BAM_PATH, "?tags=NM&notags=MD", "", 200, ""),
        ("GET", BAM_PATH, "?fields=QNAME,FLAG,RNAME,POS,MAPQ,CIGAR,RNEXT,PNEXT,TLEN,SEQ,QUAL", "", 200, ""),
        ("GET", BAM_PATH, "?fields=QNAME", "", 200, ""),
        ("GET", BAM_PATH, "?fields=BOGUS", "", 400, "InvalidInput"),
        ("GET", BAM_PATH, "?fields=QNAME,BOGUS", "", 400, "InvalidInput"),
    ];
    run_cases(&server, cases);
}

#[test]
fn test_conformance_post() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("POST", BAM_PATH, "", "", 200, ""),
        ("POST", BAM_PATH, "", "{}", 200, ""),
        ("POST", BAM_PATH, "", r#"{"format":"bam"}"#, 200, ""),
        ("POST", CRAM_PATH, "", r#"{"format":"CRAM","regions":[{"referenceName":"11","start":5000000,"end":5100000}]}"#, 200, ""),
        ("POST", BAM_PATH, "", r#"{"class":"header"}"#, 200, ""),
        ("POST", BAM_PATH, "", r#"{"regions":[{"referenceName":"11"}]}"#, 200, ""),
        ("POST", BAM_PATH, "", r#"{"regions":[{"referenceName":"*"}]}"#, 200, ""),
        ("POST", BAM_PATH, "", r#"{"tags":[]}"#, 200, ""),
        ("POST", BAM_PATH, "", r#"{"fields":["QNAME","FLAG"],"tags":["NM"],"notags":["MD"]}"#, 200, ""),
        ("POST", VCF_PATH, "", "", 200, ""),
        ("POST", BCF_PATH, "", r#"{"format":"BCF","regions":[{"referenceName":"chrM"},{"referenceName":"chr22"}]}"#, 200, ""),
        ("POST", BAM_PATH, "?referenceName=11", "{}", 400, "InvalidInput"),
        ("POST", BAM_PATH, "?format=BAM", "{}", 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"regions":[]}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"regions":{}}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"regions":[{"start":0,"end":10}]}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"regions":[{"referenceName":"11","start":10,"end":10}]}"#, 400, "InvalidRange"),
        ("POST", BAM_PATH, "", r#"{"regions":[{"referenceName":"11","start":20,"end":10}]}"#, 400, "InvalidRange"),
        ("POST", VCF_PATH, "", r#"{"regions":[{"referenceName":"chr22","start":5,"end":5}]}"#, 400, "InvalidRange"),
        ("POST", BAM_PATH, "", r#"{"regions":[{"referenceName":"chr99"}]}"#, 404, "NotFound"),
        ("POST", VCF_PATH, "", r#"{"regions":[{"referenceName":"chr1"}]}"#, 404, "NotFound"),
        ("POST", BAM_PATH, "", r#"{"regions":"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", "not json", 400, "InvalidInput"),
        ("POST", BAM_PATH, "", "[]", 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"format":"SAM"}"#, 400, "UnsupportedFormat"),
        ("POST", BAM_PATH, "", r#"{"format":"VCF"}"#, 400, "UnsupportedFormat"),
        ("POST", BAM_PATH, "", r#"{"class":"body"}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"class":"header","regions":[{"referenceName":"11"}]}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"tags":["NM"],"notags":["NM"]}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"fields":["BOGUS"]}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"tags":"NM"}"#, 400, "InvalidInput"),
        ("POST", BAM_PATH, "", r#"{"referenceName":"11"}"#, 400, "InvalidInput"),
    ];
    run_cases(&server, cases);

    for (target, body, records) in [
        (BAM_PATH, "", NA12878_RECORDS),
        (BAM_PATH, "{}", NA12878_RECORDS),
        (VCF_PATH, "{}", SAMPLE1_RECORDS),
        (BAM_PATH, r#"{"class":"header"}"#, 0),
    ] {
        let ticket = fetch_ticket(&server, "POST", target, body);
        assert_eq!(
            valid_payload_records(&server, &ticket),
            records,
            "{target} {body}"
        );
    }

    let too_big = format!("{{{}}}", " ".repeat(70 << 10));
    let reply = request(
        server.addr,
        "POST",
        BAM_PATH,
        &[("Content-Type", "application/json")],
        too_big.as_bytes(),
    );
    assert_error(&reply, 413, "PayloadTooLarge", "POST of 70 KiB");
}

#[test]
fn test_conformance_post_with_small_limit() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::start(Some(&dir), |c| c.max_post_bytes = 100);

    let small = format!("{{{}}}", " ".repeat(50));
    let ticket = fetch_ticket(&server, "POST", BAM_PATH, &small);
    assert_eq!(ticket["htsget"]["format"], "BAM");

    let big = format!("{{{}}}", " ".repeat(200));
    let reply = request(
        server.addr,
        "POST",
        BAM_PATH,
        &[("Content-Type", "application/json")],
        big.as_bytes(),
    );
    assert_error(
        &reply,
        413,
        "PayloadTooLarge",
        "POST of 202 bytes over a 100-byte limit",
    );
}

#[test]
fn test_conformance_post_regions_in_file_order() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    let bodies = [
        r#"{"regions":[{"referenceName":"20","start":1500000,"end":2500000},{"referenceName":"11","start":5000000,"end":5100000},{"referenceName":"20","start":1000000,"end":2000000},{"referenceName":"11"}]}"#,
        r#"{"regions":[{"referenceName":"*"},{"referenceName":"20"},{"referenceName":"11"},{"referenceName":"20","start":0,"end":100}]}"#,
        r#"{"regions":[{"referenceName":"11"},{"referenceName":"11"}]}"#,
    ];
    for body in bodies {
        let ticket = fetch_ticket(&server, "POST", BAM_PATH, body);
        assert_ranges_ascending(&ticket, body);
        valid_payload_records(&server, &ticket);
    }

    // The same region twice returns each record once.
    let once = fetch_ticket(&server, "GET", &format!("{BAM_PATH}?referenceName=11"), "");
    let twice = fetch_ticket(&server, "POST", BAM_PATH, bodies[2]);
    assert_eq!(
        valid_payload_records(&server, &once),
        valid_payload_records(&server, &twice)
    );

    let body = r#"{"regions":[{"referenceName":"chr22"},{"referenceName":"chrM"},{"referenceName":"chr22","start":0,"end":1000}]}"#;
    let ticket = fetch_ticket(&server, "POST", VCF_PATH, body);
    assert_ranges_ascending(&ticket, body);
    assert_eq!(valid_payload_records(&server, &ticket), SAMPLE1_RECORDS);
}

#[test]
fn test_conformance_methods_and_routes() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", "/reads/service-info", "", "", 200, ""),
        ("GET", "/variants/service-info", "", "", 200, ""),
        ("POST", "/reads/service-info", "", "{}", 405, "*"),
        ("PUT", BAM_PATH, "", "{}", 405, "*"),
        ("DELETE", BAM_PATH, "", "", 405, "*"),
        ("PUT", VCF_PATH, "", "{}", 405, "*"),
        ("DELETE", VCF_PATH, "", "", 405, "*"),
        ("PATCH", BAM_PATH, "", "{}", 405, "*"),
        ("DELETE", "/data/bam/htsnexus_test_NA12878.bam", "", "", 405, "*"),
        ("GET", "/foo", "", "", 404, "NotFound"),
        ("GET", "/", "", "", 404, "NotFound"),
        ("GET", "/reads", "", "", 404, "NotFound"),
        ("GET", "/reads/", "", "", 404, "NotFound"),
        ("POST", "/foo", "", "{}", 404, "NotFound"),
    ];
    run_cases(&server, cases);
}

#[test]
fn test_conformance_ticket_shape() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    for (method, path, query) in [
        (
            "GET",
            BAM_PATH,
            "?referenceName=11&start=5000000&end=5100000",
        ),
        ("GET", VCF_PATH, "?referenceName=chr22"),
        ("POST", BAM_PATH, ""),
    ] {
        let target = format!("{path}{query}");
        let reply = request(server.addr, method, &target, &[], b"");
        assert_eq!(reply.header("content-type"), Some(TICKET_TYPE), "{target}");
        assert!(reply.body.starts_with(br#"{"htsget":"#), "{target}");
        let ticket = assert_ticket(&server, &reply, &target);

        // The BAM tickets have both kinds of blocks (small files may be all inline).
        if path == BAM_PATH {
            let urls = urls(&ticket);
            assert!(
                urls.iter().any(|u| is_http(&server, u)),
                "{target}: no data URL"
            );
            let inline = urls.iter().any(|u| url_of(u).starts_with("data:;base64,"));
            assert!(inline, "{target}: no inline block");
        }
    }
}

#[test]
fn test_conformance_cors() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);
    let origin = [("Origin", ORIGIN)];

    for (method, target, body, status) in [
        ("GET", BAM_PATH, "", 200),
        ("POST", BAM_PATH, "{}", 200),
        ("GET", "/reads/no-such-id", "", 404),
        (
            "GET",
            "/reads/bam/htsnexus_test_NA12878?format=SAM",
            "",
            400,
        ),
        ("POST", BAM_PATH, r#"{"regions":[]}"#, 400),
        ("GET", "/reads/service-info", "", 200),
        ("GET", "/variants/service-info", "", 200),
        ("GET", "/foo", "", 404),
    ] {
        let reply = request(server.addr, method, target, &origin, body.as_bytes());
        assert_eq!(reply.status, status, "{method} {target}");
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(ORIGIN),
            "{method} {target}"
        );
    }

    let data = format!("/data/{BAM_KEY}");
    let reply = request(
        server.addr,
        "GET",
        &data,
        &[("Origin", ORIGIN), ("Range", "bytes=0-9")],
        b"",
    );
    assert_eq!(reply.status, 206);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ORIGIN),
        "data block"
    );

    for target in [BAM_PATH, VCF_PATH, "/reads/service-info", data.as_str()] {
        for method in ["GET", "POST"] {
            assert_preflight(&server, target, method);
        }
    }
}

#[test]
fn test_conformance_service_info() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    for (target, datatype, formats) in [
        ("/reads/service-info", "reads", ["BAM", "CRAM"]),
        ("/variants/service-info", "variants", ["VCF", "BCF"]),
    ] {
        let reply = get(server.addr, target);
        assert_eq!(reply.status, 200, "{target}");
        assert!(
            reply.is_json(),
            "{target}: {:?}",
            reply.header("content-type")
        );
        assert_service_info(&reply.json(), datatype, &formats, target);
    }
}

#[test]
fn test_conformance_data_blocks() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);
    let file = std::fs::read(dir.join(BAM_KEY)).unwrap();
    let size = file.len();
    let target = format!("/data/{BAM_KEY}");

    let reply = request(server.addr, "GET", &target, &[("Range", "bytes=0-9")], b"");
    assert_eq!(reply.status, 206);
    assert_eq!(
        reply.header("content-range"),
        Some(format!("bytes 0-9/{size}").as_str())
    );
    assert_eq!(reply.header("content-length"), Some("10"));
    assert_eq!(reply.body, file[..10]);

    let reply = request(server.addr, "GET", &target, &[("Range", "bytes=-10")], b"");
    assert_eq!(reply.status, 206);
    let expected = format!("bytes {}-{}/{size}", size - 10, size - 1);
    assert_eq!(reply.header("content-range"), Some(expected.as_str()));
    assert_eq!(reply.header("content-length"), Some("10"));
    assert_eq!(reply.body, file[size - 10..]);

    let reply = get(server.addr, &target);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert!(reply.body == file, "the whole file differs");

    let unsatisfiable = format!("bytes={size}-");
    let reply = request(
        server.addr,
        "GET",
        &target,
        &[("Range", &unsatisfiable)],
        b"",
    );
    assert_eq!(reply.status, 416);
    assert_eq!(
        reply.header("content-range"),
        Some(format!("bytes */{size}").as_str())
    );

    let reply = request(server.addr, "HEAD", &target, &[], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert!(reply.body.is_empty());

    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("GET", "/data/bam/htsnexus_test_NA12878.bam.bai", "", "", 404, "NotFound"),
        ("GET", "/data/bam/htsnexus_test_NA12878.bam.csi", "", "", 404, "NotFound"),
        ("GET", "/data/cram/htsnexus_test_NA12878.cram.crai", "", "", 404, "NotFound"),
        ("GET", "/data/FILES.md", "", "", 404, "NotFound"),
        ("GET", "/data/bam/no-such-file.bam", "", "", 404, "NotFound"),
        ("GET", "/data/../../etc/passwd", "", "", 404, "NotFound"),
        ("GET", "/data/%2e%2e/%2e%2e/etc/passwd", "", "", 404, "NotFound"),
        ("GET", "/data/bam/../bam/htsnexus_test_NA12878.bam", "", "", 404, "NotFound"),
        ("GET", "/data//etc/passwd", "", "", 404, "NotFound"),
        ("GET", "/reads/..%2f..%2fetc%2fpasswd", "", "", 404, "NotFound"),
        ("GET", "/reads/../../etc/passwd", "", "", 404, "NotFound"),
        ("GET", "/variants/..%2F..%2Fetc%2Fpasswd", "", "", 404, "NotFound"),
    ];
    run_cases(&server, cases);
}

// ---------------------------------------------------------------------------------------------
// Cases

/// Runs every case, then fails once with the list of those that did not behave.
fn run_cases(server: &TestServer, cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            catch_unwind(AssertUnwindSafe(|| check_case(server, case)))
                .err()
                .map(|panic| format!("{case:?}: {}", panic_text(&*panic)))
        })
        .collect();

    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// One case: the status, then the error shape, or the ticket and its payload.
fn check_case(server: &TestServer, &(method, path, query, body, status, error): &Case) {
    let target = format!("{path}{query}");
    let what = format!("{method} {target} {body}");
    let reply = request(server.addr, method, &target, &[], body.as_bytes());

    if status >= 400 {
        assert_error(&reply, status, error, &what);
    } else {
        assert_eq!(reply.status, status, "{what}: {}", text(&reply));
        if is_ticket_route(&target) {
            let ticket = assert_ticket(server, &reply, &what);
            valid_payload_records(server, &ticket);
        }
    }
}

fn is_ticket_route(target: &str) -> bool {
    (target.starts_with("/reads/") || target.starts_with("/variants/"))
        && !target.ends_with("/service-info")
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Errors

/// `status`, `Content-Type: application/json`, and `{"htsget":{"error":NAME,"message":TEXT}}`
/// with nothing else; `name` `"*"` accepts any error name.
fn assert_error(reply: &Reply, status: u16, name: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", text(reply));
    assert!(
        reply.is_json(),
        "{what}: Content-Type {:?}",
        reply.header("content-type")
    );

    let json = reply.json();
    let top = json.as_object().expect("an object");
    assert_eq!(top.keys().collect::<Vec<_>>(), ["htsget"], "{what}: {json}");
    let error = json["htsget"].as_object().expect("htsget is an object");
    assert!(
        error.len() == 2 && error["message"].is_string(),
        "{what}: {json}"
    );

    let actual = reply.error_name();
    if name == "*" {
        assert!(!actual.is_empty(), "{what}: no error name: {json}");
    } else {
        assert_eq!(actual, name, "{what}: {json}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tickets

/// Sends a ticket request and checks the reply is a well-formed ticket.
fn fetch_ticket(server: &TestServer, method: &str, target: &str, body: &str) -> Value {
    let reply = request(server.addr, method, target, &[], body.as_bytes());
    assert_eq!(reply.status, 200, "{method} {target}: {}", text(&reply));
    assert_ticket(server, &reply, target)
}

/// The ticket rules: media type, `{"htsget":` first and alone, an upper-case format, URLs
/// absolute on this server or `data:;base64,`, string headers, classes all-or-none with the
/// header blocks first.
fn assert_ticket(server: &TestServer, reply: &Reply, what: &str) -> Value {
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

fn urls(ticket: &Value) -> &[Value] {
    ticket["htsget"]["urls"]
        .as_array()
        .expect("urls is an array")
}

fn url_of(url: &Value) -> &str {
    url["url"].as_str().expect("url is a string")
}

fn is_http(server: &TestServer, url: &Value) -> bool {
    url_of(url).starts_with(&format!("{}/data/", server.url))
}

/// A header-only ticket: every block is `header`, except that the last may be a `body`
/// block holding only the end-of-file marker.
fn assert_header_classes(ticket: &Value, what: &str) {
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
fn assert_ranges_ascending(ticket: &Value, what: &str) {
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

// ---------------------------------------------------------------------------------------------
// Payloads

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
fn valid_payload_records(server: &TestServer, ticket: &Value) -> usize {
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

// ---------------------------------------------------------------------------------------------
// CORS and service-info

/// An `OPTIONS` preflight for `method` with `Authorization` and `Range`.
fn assert_preflight(server: &TestServer, target: &str, method: &str) {
    let reply = request(
        server.addr,
        "OPTIONS",
        target,
        &[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", method),
            ("Access-Control-Request-Headers", "authorization,range"),
        ],
        b"",
    );
    let what = format!("OPTIONS {target} for {method}");
    assert!(
        (200..300).contains(&reply.status),
        "{what}: {}",
        reply.status
    );
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{what}"
    );

    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
    assert!(
        allowed.contains(&"authorization") && allowed.contains(&"range"),
        "{what}: {allowed:?}"
    );

    let methods = reply.header("access-control-allow-methods").unwrap_or("");
    let methods: Vec<&str> = methods.split(',').map(str::trim).collect();
    assert!(
        methods.contains(&"GET") && methods.contains(&"POST"),
        "{what}: {methods:?}"
    );

    assert_eq!(
        reply.header("access-control-max-age"),
        Some("2592000"),
        "{what}"
    );
}

/// The service-info fields htsget 1.3 asks for, with the spec's own spellings.
fn assert_service_info(info: &Value, datatype: &str, formats: &[&str], what: &str) {
    for key in ["id", "name", "version"] {
        assert!(
            info[key].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: {key}: {info}"
        );
    }
    for key in ["group", "artifact", "version"] {
        assert!(info["type"][key].is_string(), "{what}: type.{key}: {info}");
    }
    assert_eq!(info["type"]["artifact"], "htsget", "{what}");
    assert_eq!(info["type"]["version"], "1.3.0", "{what}");
    assert!(info["organization"]["name"].is_string(), "{what}: {info}");
    let org_url = info["organization"]["url"].as_str().unwrap_or("");
    assert!(
        org_url.starts_with("http://") || org_url.starts_with("https://"),
        "{what}: {info}"
    );

    let htsget = info["htsget"].as_object().expect("an htsget object");
    assert_eq!(htsget["datatype"], datatype, "{what}");
    let served: Vec<&str> = htsget["formats"]
        .as_array()
        .expect("formats is an array")
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        !served.is_empty() && served.iter().all(|f| formats.contains(f)),
        "{what}: {served:?}"
    );
    assert!(
        htsget["fieldsParameterEffective"].is_boolean(),
        "{what}: {info}"
    );
    assert!(
        htsget["tagsParametersEffective"].is_boolean(),
        "{what}: {info}"
    );
    assert!(
        !htsget.contains_key("fieldsParametersEffective"),
        "{what}: {info}"
    );
}
