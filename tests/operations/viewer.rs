//! The region viewer: its page loads the demo region through the server's own htsget
//! endpoints in igv.js (headless Chromium) and shows the reads and variants samtools and
//! bcftools count; a screenshot is saved under `target/`.

use std::path::Path;

use crate::{
    common::{Tool, require},
    igv::{browser_and_igv, chromium, expected, static_server},
    server::{TestServer, get},
};

const LOCUS: &str = "chr1:10001-12000";

#[test]
fn viewer_refuses_bad_queries() {
    let server = TestServer::start(None, |_| {});
    for target in [
        "/viewer",
        "/viewer?reads=../x",
        "/viewer?reads=sample&reference=x.bam",
    ] {
        let reply = get(server.addr, target);
        assert_eq!(reply.status, 400, "{target}");
        assert_eq!(reply.error_name(), "InvalidInput");
    }
    let page = get(
        server.addr,
        &format!("/viewer?reads=sample&variants=sample&locus={LOCUS}"),
    );
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(htsget_server::config::DEFAULT_IGV_JS));
    // The reference: the demo's ref.fa and its index, through the data endpoint.
    assert!(
        html.contains("/data/ref.fa\"") && html.contains("/data/ref.fa.fai\""),
        "{html}"
    );
    assert_eq!(get(server.addr, "/data/ref.fa.fai").status, 200);
}

#[test]
fn viewer_shows_the_region_in_igv_js() {
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    let Some((browser, igv)) = browser_and_igv(site.path()) else {
        return;
    };
    std::fs::copy(&igv, site.path().join("igv.min.js")).unwrap();
    let port = static_server(site.path().to_owned());
    let igv_url = format!("http://127.0.0.1:{port}/igv.min.js");
    let server = TestServer::start(None, move |config| config.igv_js = igv_url);

    let page = format!(
        "{}/viewer?reads=sample&variants=sample&locus={LOCUS}",
        server.url
    );
    let dom = chromium(browser, &[&"--dump-dom".to_owned()], &page);
    let status = dom
        .split("<output id=\"status\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_else(|| panic!("no status in the page: {dom}"));
    let attribute = |name: &str| -> u64 {
        let value = status
            .split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next());
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {status}"))
    };
    assert!(status.contains("data-state=\"loaded\""), "{status}");
    let (reads, variants) = expected(&server.root);
    assert!(reads > 0 && variants > 0);
    assert_eq!(attribute("data-reads"), reads);
    assert_eq!(attribute("data-variants"), variants);

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        browser,
        &[
            &format!("--screenshot={}", shot.display()),
            &"--window-size=1280,900".to_owned(),
        ],
        &page,
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {}", shot.display());
    println!(
        "viewer: {reads} reads, {variants} variants; screenshot {}",
        shot.display()
    );
}
