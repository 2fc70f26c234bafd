//! Real clients with tokens: samtools and bcftools over https (the test CA through
//! `CURL_CA_BUNDLE`, the token through `HTS_AUTH_LOCATION`), python htsget with
//! `--bearer-token`, and igv.js with a track `oauthToken`.

use super::fixtures::{AuthServer, BAM, REGION, fixtures};
use crate::{
    clients::{check_row, python_client_rows, ticket_url},
    common::{Tool, data_dir, require, run_with},
    ground_truth::rows,
};

/// An https server with access control over `data`.
fn https_server(data: &std::path::Path) -> AuthServer {
    let fixtures = fixtures();
    let (cert, key) = (fixtures.path("server.pem"), fixtures.path("server.key"));
    AuthServer::start(
        data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
}

#[test]
fn samtools_and_bcftools_over_https_with_a_passport_give_every_ground_truth_count() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let server = https_server(&dir);
    let base = &server.process.url;
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let fixtures = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("token.txt");
    std::fs::write(&token_file, fixtures.token("passport")).unwrap();
    let ca = fixtures.path("ca.pem");
    let env = [
        ("CURL_CA_BUNDLE", ca.to_str().unwrap()),
        ("HTS_AUTH_LOCATION", token_file.to_str().unwrap()),
    ];

    let rows: Vec<_> = rows(&dir)
        .into_iter()
        .filter(|r| !r.not_in_header)
        .collect();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let url = ticket_url(base, row);
        let out = tmp.path().join(i.to_string());
        if let Err(why) = check_row(server.process.addr, &dir, row, &url, &env, &out) {
            failures.push(format!("{url}: {why}"));
        }
    }
    println!(
        "https + passport: {} of {} rows right",
        rows.len() - failures.len(),
        rows.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");

    // Without a grant, or without a token, samtools gets nothing.
    let url = format!("{base}/reads/{BAM}?{REGION}");
    std::fs::write(&token_file, fixtures.token("no_grants")).unwrap();
    let denied = run_with("samtools", &["view", "-c", &url], &env);
    assert!(!denied.status.success(), "read without a grant");
    let anonymous = run_with("samtools", &["view", "-c", &url], &env[..1]);
    assert!(!anonymous.status.success(), "read without a token");

    server.assert_log_clean(&[]);
}

#[test]
fn python_htsget_with_a_bearer_token() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Htsget]) {
        return;
    }
    let server = https_server(&dir);
    let fixtures = fixtures();
    let ca = fixtures.path("ca.pem");
    let env = [("REQUESTS_CA_BUNDLE", ca.to_str().unwrap())];
    let flags = ["--bearer-token", fixtures.token("passport")];
    let checked = python_client_rows(&server.process.url, &dir, &flags, &env);
    assert!(checked >= 20, "too few rows checked: {checked}");

    // The same client with a token that grants nothing fails.
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("x.bam");
    let output = run_with(
        "htsget",
        &[
            &format!("{}/reads/{BAM}", server.process.url),
            "-r",
            "11",
            "-O",
            out.to_str().unwrap(),
            "--bearer-token",
            fixtures.token("no_grants"),
        ],
        &env,
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("403"));
}

#[test]
fn igv_js_with_an_oauth_token() {
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    let Some((browser, igv)) = crate::igv::browser_and_igv(site.path()) else {
        return;
    };
    let demo = htsget_server::demo::Dataset::generate().unwrap();
    let server = AuthServer::start(demo.root(), &[]);
    let token = fixtures().token("passport");

    let result = crate::igv::render(browser, site.path(), &igv, &server.process.url, Some(token));
    let counts: serde_json::Value =
        serde_json::from_str(&result).unwrap_or_else(|_| panic!("igv.js did not load: {result}"));
    let (reads, variants) = crate::igv::expected(demo.root());
    assert!(reads > 0 && variants > 0);
    assert_eq!(counts["reads"].as_u64(), Some(reads));
    assert_eq!(counts["variants"].as_u64(), Some(variants));

    // Without the token igv.js gets nothing.
    let site = tempfile::tempdir().unwrap();
    let refused = crate::igv::render(browser, site.path(), &igv, &server.process.url, None);
    assert!(refused.starts_with("ERROR"), "{refused}");
}
