//! Methods and routes, and the shape of tickets.

use super::{
    BAM_PATH, TICKET_TYPE, VCF_PATH,
    cases::{Case, run_cases},
    tickets::{assert_ticket, is_http, url_of, urls},
};
use crate::{
    common::data_dir,
    server::{TestServer, request},
};

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
