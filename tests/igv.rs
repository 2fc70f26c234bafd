//! igv.js, the genome browser, loads reads and variants through the server from a page on
//! another origin (CORS), in headless Chromium: it sees the same records samtools and
//! bcftools count.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    common::{TEST_COMMAND, Tool, require, run, skipped},
    ground_truth::clean,
    server::TestServer,
};

/// The igv.js release the page loads (npm package `igv`).
const IGV_VERSION: &str = "3.8.10";

/// The browser binary: Debian's `chromium-headless-shell`, or `chromium`.
pub(crate) fn browser() -> Option<&'static str> {
    ["chromium-headless-shell", "chromium"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The browser, and `igv.min.js`: the one `tests/run.sh` installed in
/// `target/test-tools/igv-VERSION/`, else one fetched into `site` with `npm pack`. `None`, with
/// the `SKIPPED:` line printed, where either is missing.
pub(crate) fn browser_and_igv(site: &Path) -> Option<(&'static str, PathBuf)> {
    let Some(browser) = browser() else {
        skipped("chromium-headless-shell", false);
        return None;
    };
    let installed = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join(format!(
            "test-tools/igv-{IGV_VERSION}/package/dist/igv.min.js"
        ));
    if installed.is_file() {
        return Some((browser, installed));
    }
    if !require(&[Tool::Npm]) {
        return None;
    }
    let Some(igv) = igv_js(site) else {
        eprintln!(
            "SKIPPED: `npm pack igv@{IGV_VERSION}` failed (offline?; {TEST_COMMAND} installs it)"
        );
        return None;
    };
    Some((browser, igv))
}

/// `igv.min.js`, fetched with `npm pack` into `dir`.
fn igv_js(dir: &Path) -> Option<PathBuf> {
    let packed = Command::new("npm")
        .args(["pack", &format!("igv@{IGV_VERSION}"), "--silent"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let tarball = String::from_utf8_lossy(&packed.stdout).trim().to_owned();
    let unpacked = Command::new("tar")
        .args(["xzf", &tarball])
        .current_dir(dir)
        .status()
        .ok()?;
    unpacked
        .success()
        .then(|| dir.join("package/dist/igv.min.js"))
}

/// Serves the files of `dir` (GET only, whole files) on a loopback port, on a thread.
pub(crate) fn static_server(dir: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let name = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let body = std::fs::read(dir.join(name)).unwrap_or_default();
            let kind = if name.ends_with(".html") {
                "text/html"
            } else {
                "text/plain"
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: {kind}\r\nAccess-Control-Allow-Origin: *\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });

    port
}

/// The test page: igv.js loads `server`'s demo reads and variants (with `token` as each
/// track's `oauthToken`, when given) and writes what it got into `#result`.
pub(crate) fn page(server: &str, sizes_url: &str, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!(r#", oauthToken: "{t}""#));
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><script src="igv.min.js"></script></head>
<body><div id="igv"></div><pre id="result">pending</pre><script>
(async () => {{
  try {{
    const browser = await igv.createBrowser(document.getElementById("igv"), {{
      loadDefaultGenomes: false,
      reference: {{ id: "demo", name: "demo", format: "chromsizes", fastaURL: "{sizes_url}" }},
      locus: "chr1:10001-12000",
      tracks: [
        {{ name: "reads", type: "alignment", format: "bam", sourceType: "htsget", url: "{server}/reads/sample"{auth} }},
        {{ name: "variants", type: "variant", format: "vcf", sourceType: "htsget", url: "{server}/variants/sample"{auth} }}
      ]
    }});
    const reads = browser.findTracks(t => t.type === "alignment")[0];
    const variants = browser.findTracks(t => t.type === "variant")[0];
    const container = await reads.featureSource.getAlignments("chr1", 10000, 12000);
    let n = 0;
    for (const a of container.allAlignments()) {{
      n += a.firstAlignment ? (a.firstAlignment ? 1 : 0) + (a.secondAlignment ? 1 : 0) : 1;
    }}
    const features = await variants.featureSource.getFeatures({{chr: "chr1", start: 10000, end: 12000}});
    document.getElementById("result").textContent = JSON.stringify({{reads: n, variants: features.length}});
  }} catch (e) {{
    document.getElementById("result").textContent = "ERROR " + e;
  }}
}})();
</script></body></html>"#
    )
}

#[test]
fn igv_js_loads_reads_and_variants_across_origins() {
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    let Some((browser, igv)) = browser_and_igv(site.path()) else {
        return;
    };

    let server = TestServer::start(None, |_| {});
    let result = render(browser, site.path(), &igv, &server.url, None);
    let counts: serde_json::Value =
        serde_json::from_str(&result).unwrap_or_else(|_| panic!("igv.js did not load: {result}"));
    let (reads, variants) = expected(&server.root);

    println!(
        "igv.js {IGV_VERSION} in {browser}: {counts}; samtools {reads} reads, bcftools {variants} variants"
    );
    assert!(reads > 0 && variants > 0);
    assert_eq!(counts["reads"].as_u64(), Some(reads));
    assert_eq!(counts["variants"].as_u64(), Some(variants));
}

/// Renders the test page for `server` in headless `browser` from `site` (igv.js `igv` copied
/// there): the page's `#result`, the counts igv.js got as JSON, or `ERROR ...`.
pub(crate) fn render(
    browser: &str,
    site: &Path,
    igv: &Path,
    server: &str,
    token: Option<&str>,
) -> String {
    if igv != site.join("igv.min.js") {
        std::fs::copy(igv, site.join("igv.min.js")).unwrap();
    }
    std::fs::write(
        site.join("demo.chrom.sizes"),
        "chr1\t60000\nchr2\t40000\nchr3\t20000\n",
    )
    .unwrap();
    let port = static_server(site.to_owned());
    let sizes = format!("http://127.0.0.1:{port}/demo.chrom.sizes");
    std::fs::write(site.join("index.html"), page(server, &sizes, token)).unwrap();

    let dom = chromium(
        browser,
        &[&"--dump-dom".to_owned()],
        &format!("http://127.0.0.1:{port}/index.html"),
    );
    dom.split("<pre id=\"result\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("no result")
        .to_owned()
}

/// What samtools and bcftools count in the demo locus chr1:10001-12000 of `root`: (reads,
/// variants).
pub(crate) fn expected(root: &Path) -> (u64, u64) {
    let root = root.to_str().unwrap().to_owned();
    let reads: u64 = clean(
        run(
            "samtools",
            &[
                "view",
                "-c",
                "-F",
                "0x604",
                &format!("{root}/sample.bam"),
                "chr1:10001-12000",
            ],
        ),
        "samtools",
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let variants = clean(
        run(
            "bcftools",
            &[
                "view",
                "-H",
                "-r",
                "chr1:10001-12000",
                &format!("{root}/sample.vcf.gz"),
            ],
        ),
        "bcftools",
    )
    .unwrap()
    .lines()
    .count() as u64;

    (reads, variants)
}

/// Runs headless `browser` (Chromium) on `url` with `flags` added, in a throwaway profile; its
/// standard output.
pub(crate) fn chromium(browser: &str, flags: &[&String], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=30000",
        ])
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}
