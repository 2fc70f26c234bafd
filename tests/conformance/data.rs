//! The data endpoint: byte ranges, whole files, `HEAD`, and what it refuses to serve.

use super::{
    BAM_KEY,
    cases::{Case, run_cases},
};
use crate::{
    common::data_dir,
    server::{TestServer, get, request},
};

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
