//! CORS: the allowed origin on every response, and preflights.

use super::{BAM_KEY, BAM_PATH, VCF_PATH};
use crate::{
    common::data_dir,
    server::{TestServer, request},
};

/// The origin the CORS checks send.
const ORIGIN: &str = "http://example.org";

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
