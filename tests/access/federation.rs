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

/// The version of `oidc-provider` (npm) the real-provider test runs (`tests/run.sh` installs
/// it into `target/test-tools/oidc-provider-VERSION`).
const OIDC_PROVIDER_VERSION: &str = "9.13.3";

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

    /// The server's TOML: the AAI (`aai`, a `[[issuers]]` table of its own), the two visa
    /// issuers and the rules (`registered/` a root over `data`).
    fn config(&self, data: &Path, aai: &str) -> String {
        let base = &self.base;
        format!(
            r#"{aai}

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
        let aai = format!(
            "[[issuers]]\niss = \"{}/aai\"\nissues = [\"access\"]\n",
            self.base
        );
        self.server_with(data, tls, &aai, &["--auth-audience", AUDIENCE])
    }

    /// A server over `data` trusting the visa issuers, the AAI of the `aai` table, with `flags`.
    fn server_with(
        &self,
        data: &Path,
        tls: bool,
        aai: &str,
        flags: &[&str],
    ) -> (ServerProcess, PathBuf) {
        let config = self.dir.path().join(format!("htsget-{tls}.toml"));
        std::fs::write(&config, self.config(data, aai)).unwrap();
        let fixtures = fixtures();
        let (cert, key) = (fixtures.path("server.pem"), fixtures.path("server.key"));
        let mut args: Vec<String> = [
            "--bind",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(flags.iter().map(|s| (*s).to_owned()));
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

    // An opaque token is not sent anywhere with an audience configured (it cannot show one).
    let calls = federation.count("/aai/userinfo");
    get(&server, &bam, "OpaqueStringWithoutDots").expect(401, "opaque with an audience");
    assert_eq!(federation.count("/aai/userinfo"), calls);
    // Each visa issuer's key set was fetched once for all those visas (the jku its visas name
    // is its jwks), and once more for rems-a's unknown kid (visa_by_aai_key).
    assert!(
        federation.count("/rems-a/jwks") <= 2,
        "{}",
        federation.count("/rems-a/jwks")
    );
    assert_eq!(federation.count("/rems-b/jwks"), 1);

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
fn issuers_without_discovery_and_where_opaque_tokens_go() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let federation = Federation::start();
    let base = &federation.base;
    // An issuer whose iss is no URL, keys from a JWKS URL: no discovery is tried. Two issuers
    // of access tokens with userinfo endpoints: an opaque token could be either's, so it is
    // sent to neither.
    let tables = format!(
        "[[issuers]]\niss = \"urn:htsget:aai\"\njwks = \"{base}/aai/jwks\"\n\
         [[issuers]]\niss = \"{base}/aai\"\nuserinfo = \"{base}/aai/userinfo\"\n\
         [[issuers]]\niss = \"https://other.example\"\njwks = \"{base}/rems-b/jwks\"\n\
         userinfo = \"{base}/aai/userinfo\"\n"
    );
    let (server, _log) =
        federation.server_with(&dir, false, &tables, &["--auth-grants-claim", "datasets"]);
    let bam = format!("/reads/{BAM}?{REGION}");
    get(&server, &bam, federation.token("grants_claim_urn")).expect(200, "grants claim, urn iss");
    // Discovery only for the table without keys, at start.
    assert_eq!(federation.count("/aai/.well-known/openid-configuration"), 1);
    get(&server, &bam, "OpaqueStringWithoutDots").expect(401, "opaque, two userinfo endpoints");
    assert_eq!(federation.count("/aai/userinfo"), 0);
    // The named userinfo endpoint serves the AAI's JWT tokens.
    get(&server, &bam, federation.token("userinfo_alice")).expect(200, "userinfo token");
    assert_eq!(federation.count("/aai/userinfo"), 1);
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

/// `oidc-provider`'s folder: the one `tests/run.sh` installed, else one `npm install`ed into
/// `scratch`; `None` (with the reason printed) when neither can be had.
fn oidc_provider(scratch: &Path) -> Option<PathBuf> {
    let installed = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join(format!("test-tools/oidc-provider-{OIDC_PROVIDER_VERSION}"));
    let found = |dir: &Path| {
        dir.join("node_modules/oidc-provider/package.json")
            .is_file()
    };
    if found(&installed) {
        return Some(installed);
    }
    if !require(&[Tool::Npm]) {
        return None;
    }
    let status = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund"])
        .arg(format!("oidc-provider@{OIDC_PROVIDER_VERSION}"))
        .current_dir(scratch)
        .status();
    if status.is_ok_and(|s| s.success()) && found(scratch) {
        return Some(scratch.to_owned());
    }
    eprintln!("SKIPPED: `npm install oidc-provider` failed (offline?; tests/run.sh installs it)");
    None
}

/// `op.mjs` (oidc-provider) over https, with the federation's passports; killed on drop.
struct Provider {
    child: Child,
    issuer: String,
    tokens: BTreeMap<String, String>,
}

impl Provider {
    fn start(federation: &Federation, module: &Path) -> Self {
        let fixtures = fixtures();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("access/op.mjs");
        let out = federation.dir.path();
        let mut child = Command::new("node")
            .arg(script)
            .arg(module)
            .arg(out)
            .arg(fixtures.path("server.pem"))
            .arg(fixtures.path("server.key"))
            .arg(out.join("passports.json"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs");
        let written = out.join("op.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !written.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("op.mjs stopped: {status}");
            }
            assert!(Instant::now() < deadline, "op.mjs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let op: serde_json::Value =
            serde_json::from_slice(&std::fs::read(written).unwrap()).unwrap();
        Self {
            child,
            issuer: op["issuer"].as_str().unwrap().to_owned(),
            tokens: serde_json::from_value(op["tokens"].clone()).unwrap(),
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_openid_provider_s_tokens_get_their_passports_from_its_userinfo_endpoint() {
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
    let scratch = tempfile::tempdir().unwrap();
    let Some(module) = oidc_provider(scratch.path()) else {
        return;
    };
    let federation = Federation::start();
    let op = Provider::start(&federation, &module);
    // The provider's keys come from its discovery document; its userinfo endpoint is named,
    // which lets its opaque tokens be sent there.
    let aai = format!(
        "[[issuers]]\niss = \"{0}\"\nuserinfo = \"{0}/me\"\n",
        op.issuer
    );
    let (server, log) = federation.server_with(&dir, true, &aai, &[]);
    let base = &server.url;
    let token = |account: &str| op.tokens[account].as_str();
    let bam = format!("/reads/{BAM}?{REGION}");
    let cram = format!("/reads/{CRAM}?format=CRAM&{REGION}");
    let ca = fixtures().path("ca.pem");
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("token.txt");
    let env = [
        ("CURL_CA_BUNDLE", ca.to_str().unwrap()),
        ("HTS_AUTH_LOCATION", token_file.to_str().unwrap()),
    ];

    // Statuses, through curl over https (the server speaks TLS here).
    let status = |target: &str, bearer: &str| {
        let output = run_with(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                &format!("Authorization: Bearer {bearer}"),
                &format!("{base}{target}"),
            ],
            &env,
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(status(&bam, token("alice")), "200");
    assert_eq!(status(&cram, token("alice")), "200");
    assert_eq!(status(&cram, token("carol")), "200");
    assert_eq!(status(&bam, token("carol")), "403");
    assert_eq!(status(&bam, token("bob")), "403");
    assert_eq!(status(&bam, "NotATokenTheProviderIssued"), "401");

    // samtools/bcftools with alice's token: every ground-truth count.
    std::fs::write(&token_file, token("alice")).unwrap();
    let rows: Vec<_> = rows(&dir)
        .into_iter()
        .filter(|r| !r.not_in_header)
        .collect();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let url = ticket_url(base, row);
        if let Err(why) = check_row(
            server.addr,
            &dir,
            row,
            &url,
            &env,
            &tmp.path().join(i.to_string()),
        ) {
            failures.push(format!("{url}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // python htsget with it.
    let env = [("REQUESTS_CA_BUNDLE", ca.to_str().unwrap())];
    let checked = python_client_rows(base, &dir, &["--bearer-token", token("alice")], &env);
    assert!(checked >= 20, "too few rows checked: {checked}");

    let text = std::fs::read_to_string(&log).unwrap();
    for token in op.tokens.values() {
        assert!(!text.contains(token.as_str()), "the log holds a token");
    }
}
