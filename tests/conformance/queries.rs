//! GET query parameters: formats and ids, reference names, start and end, `class=header`, fields
//! and tags.

use super::{
    BAM_PATH, BCF_PATH, CRAM_PATH, NA12878_RECORDS, SAMPLE1_RECORDS, VCF_PATH,
    cases::{Case, run_cases},
    payloads::valid_payload_records,
    tickets::{assert_header_classes, fetch_ticket},
};
use crate::{
    common::{Tool, data_dir, require},
    server::TestServer,
};

#[test]
fn test_conformance_formats_and_ids() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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

/// Every URL of a header-only ticket is of class header, its end-of-file marker included.
#[test]
fn test_conformance_class_header_urls_are_all_header() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    for target in [
        format!("{BAM_PATH}?class=header"),
        format!("{CRAM_PATH}?class=header&format=CRAM"),
        format!("{VCF_PATH}?class=header"),
        format!("{BCF_PATH}?class=header&format=BCF"),
    ] {
        let ticket = fetch_ticket(&server, "GET", &target, "");
        let urls = ticket["htsget"]["urls"].as_array().unwrap();
        assert!(urls.len() >= 2, "{target}: header and EOF marker: {ticket}");
        for url in urls {
            assert_eq!(url["class"], "header", "{target}: {url}");
        }

        let body = format!(
            "{{\"class\":\"header\",\"format\":{:?}}}",
            ticket["htsget"]["format"].as_str().unwrap()
        );
        let ticket = fetch_ticket(&server, "POST", target.split('?').next().unwrap(), &body);
        for url in ticket["htsget"]["urls"].as_array().unwrap() {
            assert_eq!(url["class"], "header", "POST {target}: {url}");
        }
    }
}

#[test]
fn test_conformance_fields_and_tags() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
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
