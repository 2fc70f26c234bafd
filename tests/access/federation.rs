//! Passports as a federation issues them (`federation.py`: an AAI with discovery and userinfo,
//! two visa issuers with their keys at their `jku` URLs, hostile key URLs, all over https with
//! the test CA): per-issuer trust, userinfo passports, Passport JWTs, visa conditions and
//! registered access, each tried with valid and hostile tokens.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use super::fixtures::{AUDIENCE, BAM, REGION, fixtures};
use crate::{
    clients::{check_row, python_client_rows, ticket_url},
    common::{Tool, data_dir, require, run_with},
    ground_truth::rows,
    process::ServerProcess,
    server::{Reply, request},
};

/// The CRAM id the tests ask for.
const CRAM: &str = "cram/htsnexus_test_NA12878";

/// The federation's https server; killed on drop.
struct Federation {
    child: Child,
    dir: tempfile::TempDir,
    base: String,
    tokens: BTreeMap<String, String>,
}

impl Federation {
    fn start() -> Self {
        let fixtures = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("access/federation.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .arg(fixtures.path("server.pem"))
            .arg(fixtures.path("server.key"))
            .spawn()
            .expect("python3 runs");
        let port_file = dir.path().join("port");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !port_file.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("federation.py stopped: {status}");
            }
            assert!(Instant::now() < deadline, "federation.py did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        let tokens = std::fs::read(dir.path().join("tokens.json")).unwrap();
        Self {
            child,
            base: format!("https://127.0.0.1:{port}"),
            tokens: serde_json::from_slice(&tokens).unwrap(),
            dir,
        }
    }

    fn token(&self, name: &str) -> &str {
        self.tokens
            .get(name)
            .unwrap_or_else(|| panic!("no token {name}"))
    }

    /// How many requests `path` has had.
    fn count(&self, path: &str) -> u64 {
        std::fs::read(self.dir.path().join("counts.json"))
            .ok()
            .and_then(|json| serde_json::from_slice::<BTreeMap<String, u64>>(&json).ok())
            .and_then(|counts| counts.get(path).copied())
            .unwrap_or(0)
    }

    /// The server's TOML: the three issuers and the rules (`registered/` a root over `data`).
    fn config(&self, data: &Path) -> String {
        let base = &self.base;
        format!(
            r#"
[[issuers]]
iss = "{base}/aai"
issues = ["access"]

[[issuers]]
iss = "{base}/rems-a"
jwks = "{base}/rems-a/jwks"
issues = ["visas"]
jku = ["{base}/rems-a/jwks", "{base}/hostile/redirect", "{base}/hostile/slow",
       "{base}/hostile/huge", "{base}/hostile/garbage"]

[[issuers]]
iss = "{base}/rems-b"
jwks = "{base}/rems-b/jwks"
issues = ["visas"]
jku = ["{base}/rems-b/jwks"]

[[access]]
ids = ["bam/*", "vcf/*", "bcf/**"]
grants = ["https://datasets.example/bam"]

[[access]]
ids = "cram/*"
grants = ["https://datasets.example/cram"]

[[access]]
ids = "registered/**"
researcher = ["https://doi.org/10.1038/s41431-018-0219-y"]
terms = ["https://terms.example/v1"]

[[roots]]
prefix = "registered"
data = {data:?}
"#
        )
    }

    /// A server over `data` trusting this federation (https itself when `tls`).
    fn server(&self, data: &Path, tls: bool) -> (ServerProcess, PathBuf) {
        let config = self.dir.path().join("htsget.toml");
        std::fs::write(&config, self.config(data)).unwrap();
        let fixtures = fixtures();
        let (cert, key) = (fixtures.path("server.pem"), fixtures.path("server.key"));
        let mut args: Vec<String> = [
            "--bind",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--auth-audience",
            AUDIENCE,
        ]
        .map(str::to_owned)
        .to_vec();
        if tls {
            args.extend(
                [
                    "--tls-cert",
                    cert.to_str().unwrap(),
                    "--tls-key",
                    key.to_str().unwrap(),
                ]
                .map(str::to_owned),
            );
        }
        let log = self.dir.path().join(format!("server-{tls}.log"));
        let ca = fixtures.path("ca.pem");
        let process =
            ServerProcess::start_with_env(&args, &log, &[("SSL_CERT_FILE", ca.to_str().unwrap())]);
        (process, log)
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(server: &ServerProcess, target: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    request(server.addr, "GET", target, &[("Authorization", &auth)], b"")
}

#[test]
fn tokens_of_a_federation_are_checked_per_issuer() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let federation = Federation::start();
    let (server, log) = federation.server(&dir, false);
    let bam = format!("/reads/{BAM}?{REGION}");
    let cram = format!("/reads/{CRAM}?format=CRAM&{REGION}");
    let registered = format!("/reads/registered/{BAM}?{REGION}");

    let cases: &[(&str, &str, u16)] = &[
        // Valid: userinfo passports, Passport JWTs, visas keyed by jku or by their issuer.
        ("userinfo_alice", &bam, 200),
        ("userinfo_alice", &cram, 200),
        ("userinfo_cram", &cram, 200),
        ("userinfo_cram", &bam, 403),
        ("userinfo_nothing", &bam, 403),
        ("passport_jwt", &bam, 200),
        ("passport_jwt", &cram, 200),
        ("visa_without_jku", &bam, 200),
        // Cross-issuer forgery.
        ("forged_by_visa_key", &bam, 401),
        ("forged_by_visa_key_aai_kid", &bam, 401),
        ("access_by_visa_issuer", &bam, 401),
        ("visa_by_aai_key", &bam, 403),
        ("visa_by_aai_key_jku", &bam, 403),
        // jku not allowed, or allowed but hostile.
        ("jku_of_other_issuer", &bam, 403),
        ("jku_http", &bam, 403),
        ("jku_redirect", &bam, 403),
        ("jku_huge", &bam, 403),
        ("jku_garbage", &bam, 403),
        // Userinfo refusing the token, or speaking of another subject.
        ("userinfo_other_sub", &bam, 401),
        ("userinfo_refuses", &bam, 401),
        // Conditions.
        ("conditions_met", &cram, 200),
        ("conditions_unmet", &cram, 403),
        ("conditions_without_the_visa", &cram, 403),
        ("conditions_malformed", &cram, 403),
        ("conditions_unknown_prefix", &cram, 403),
        // Registered access.
        ("registered", &registered, 200),
        ("registered", &bam, 403),
        ("registered_researcher_only", &registered, 403),
        ("registered_terms_only", &registered, 403),
        ("registered_other_terms", &registered, 403),
        ("passport_jwt", &registered, 403),
    ];
    for (name, target, status) in cases {
        let reply = get(&server, target, federation.token(name));
        reply.expect(*status, format!("{name} {target}"));
        if *status == 401 {
            assert_eq!(reply.error_name(), "InvalidAuthentication", "{name}");
        }
    }

    // A slow key URL costs a bounded wait, then the visa is ignored.
    let started = Instant::now();
    let reply = get(&server, &bam, federation.token("jku_slow"));
    assert_eq!(reply.status, 403, "jku_slow");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // An AAI whose userinfo endpoint fails: 503 with Retry-After, bounded in time.
    for name in [
        "userinfo_500",
        "userinfo_slow",
        "userinfo_huge",
        "userinfo_garbage",
    ] {
        let started = Instant::now();
        let reply = get(&server, &bam, federation.token(name));
        reply.expect(503, name);
        assert!(reply.header("retry-after").is_some(), "{name}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{name}: {:?}",
            started.elapsed()
        );
    }

    // The audit line names the issuer and type of the visa that granted.
    let text = std::fs::read_to_string(&log).unwrap();
    let decision = |needle: &str| {
        text.lines()
            .any(|line| line.contains("ticket decision") && line.contains(needle))
    };
    assert!(decision(&format!("{}/rems-a", federation.base)), "{text}");
    assert!(decision("ControlledAccessGrants"));
    assert!(decision("ResearcherStatus"));
    for token in federation.tokens.values() {
        for part in token.split('.').filter(|p| p.len() >= 16) {
            assert!(!text.contains(part), "the log holds part of a token");
        }
    }
}

#[test]
fn a_cold_token_costs_one_userinfo_call() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let federation = Federation::start();
    let (server, _log) = federation.server(&dir, false);
    let target = format!("/reads/{BAM}?{REGION}");
    let before = federation.count("/aai/userinfo");
    // Eight at once with one cold token, then eight more: one call in all.
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let reply = get(&server, &target, federation.token("userinfo_alice"));
                assert_eq!(reply.status, 200);
            });
        }
    });
    for _ in 0..8 {
        assert_eq!(
            get(&server, &target, federation.token("userinfo_alice")).status,
            200
        );
    }
    assert_eq!(federation.count("/aai/userinfo") - before, 1);
    // Discovery and the AAI's key set were fetched once too.
    assert_eq!(federation.count("/aai/.well-known/openid-configuration"), 1);
    assert_eq!(federation.count("/aai/jwks"), 1);
}

#[test]
fn samtools_and_python_htsget_with_userinfo_and_passport_jwt_tokens() {
    let Some(dir) = data_dir() else { return };
    if !require(&[
        Tool::PyJwt,
        Tool::Openssl,
        Tool::Samtools,
        Tool::Bcftools,
        Tool::Htsget,
    ]) {
        return;
    }
    let federation = Federation::start();
    let (server, _log) = federation.server(&dir, true);
    let base = &server.url;
    assert!(base.starts_with("https://"), "{base}");
    let ca = fixtures().path("ca.pem");
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("token.txt");
    let env = [
        ("CURL_CA_BUNDLE", ca.to_str().unwrap()),
        ("HTS_AUTH_LOCATION", token_file.to_str().unwrap()),
    ];

    // samtools/bcftools: every row with the userinfo token; the CRAM rows with the Passport JWT.
    let rows: Vec<_> = rows(&dir)
        .into_iter()
        .filter(|r| !r.not_in_header)
        .collect();
    let mut failures = Vec::new();
    for token in ["userinfo_alice", "passport_jwt"] {
        std::fs::write(&token_file, federation.token(token)).unwrap();
        for (i, row) in rows.iter().enumerate() {
            if token == "passport_jwt" && !row.file.starts_with("cram/") {
                continue;
            }
            let url = ticket_url(base, row);
            let out = tmp.path().join(format!("{token}-{i}"));
            if let Err(why) = check_row(server.addr, &dir, row, &url, &env, &out) {
                failures.push(format!("{token} {url}: {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // Ungranted: samtools gets nothing.
    std::fs::write(&token_file, federation.token("userinfo_cram")).unwrap();
    let denied = run_with(
        "samtools",
        &["view", "-c", &format!("{base}/reads/{BAM}?{REGION}")],
        &env,
    );
    assert!(!denied.status.success(), "read without a grant");

    // python htsget with each token.
    let env = [("REQUESTS_CA_BUNDLE", ca.to_str().unwrap())];
    for token in ["userinfo_alice", "passport_jwt"] {
        let flags = ["--bearer-token", federation.token(token)];
        let checked = python_client_rows(base, &dir, &flags, &env);
        assert!(checked >= 20, "{token}: too few rows checked: {checked}");
    }
}
