//! POST requests: bodies, their size limit, and regions served in file order.

use super::{
    BAM_PATH, BCF_PATH, CRAM_PATH, NA12878_RECORDS, SAMPLE1_RECORDS, VCF_PATH,
    cases::{Case, assert_error, run_cases},
    payloads::valid_payload_records,
    tickets::{assert_ranges_ascending, fetch_ticket},
};
use crate::{
    common::{Tool, data_dir, require},
    server::{TestServer, request},
};

#[test]
fn test_conformance_post() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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

/// A body far over the limit (about 10 MB of regions): the client, still sending, reads the
/// 413 instead of failing with a broken pipe.
#[test]
fn test_conformance_post_far_over_the_limit() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    let region = r#"{"referenceName":"11"},"#;
    let mut body = format!(r#"{{"regions":[{}"#, region.repeat(400_000));
    body.pop();
    body.push_str("]}");
    assert!(body.len() > 9_000_000);

    for _ in 0..3 {
        let json = [("Content-Type", "application/json")];
        let reply = request(server.addr, "POST", BAM_PATH, &json, body.as_bytes());
        assert_error(&reply, 413, "PayloadTooLarge", "a 10 MB body");
    }
}
