//! The fixtures of the access tests, made once per test run: keys, a JWKS and every token
//! (minted by PyJWT through `mint.py`, an implementation independent of the server's), a test
//! CA with a server certificate for 127.0.0.1 (openssl), and servers started with them.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use crate::{
    process::ServerProcess,
    server::{Reply, request},
};

/// The issuer of test tokens.
pub(crate) const ISSUER: &str = "https://issuer.example";
/// The issuer of test visas.
pub(crate) const VISAS: &str = "https://visas.example";
/// The audience of test tokens.
pub(crate) const AUDIENCE: &str = "htsget-test";

/// The BAM id granted by `https://datasets.example/bam`.
pub(crate) const BAM: &str = "bam/htsnexus_test_NA12878";
/// A region of it.
pub(crate) const REGION: &str = "referenceName=11&start=4999999&end=5050000";

/// The `[[access]]` rules of the test servers.
pub(crate) const RULES: &str = r#"
[[access]]
ids = "bam/*"
grants = ["https://datasets.example/bam"]

[[access]]
ids = ["cram/*"]
grants = ["https://datasets.example/cram"]

[[access]]
ids = "bcf/**"
grants = ["https://datasets.example/bcf"]

[[access]]
ids = "vcf/*"
public = true

[[access]]
ids = "sample"
grants = ["https://datasets.example/bam"]

[[access]]
ids = "bam/htsnexus_test_NA12878"
grants = ["https://datasets.example/range-11"]
regions = ["11:4900000-5100000"]

# The same grant written in the other naming style (the file says `11`), for ids a test
# places under aliased/.
[[access]]
ids = "aliased/*"
grants = ["https://datasets.example/range-11"]
regions = ["chr11:4900000-5100000"]
"#;

/// Keys, tokens and TLS files.
pub(crate) struct Fixtures {
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl Fixtures {
    /// The token minted as `name` (see `mint.py`).
    pub(crate) fn token(&self, name: &str) -> &str {
        self.tokens
            .get(name)
            .unwrap_or_else(|| panic!("no token {name}"))
    }

    /// Every token, by name.
    pub(crate) fn tokens(&self) -> &BTreeMap<String, String> {
        &self.tokens
    }

    /// A fixture file.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The fixtures, made on first use.
pub(crate) fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("access-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mint = Path::new(env!("CARGO_MANIFEST_DIR")).join("access/mint.py");
        let output = Command::new("python3")
            .arg(&mint)
            .arg(&dir)
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "mint.py failed (pip install PyJWT cryptography): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        make_ca(&dir);
        let tokens = std::fs::read(dir.join("tokens.json")).unwrap();
        Fixtures {
            tokens: serde_json::from_slice(&tokens).unwrap(),
            dir,
        }
    })
}

/// A test CA (`ca.pem`) and a server certificate for localhost and 127.0.0.1 signed by it
/// (`server.pem`, `server.key`), as ACCESS.md checked with OpenSSL 3.
fn make_ca(dir: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=htsget test CA",
            ],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "30",
        "-extfile",
        "server.ext",
    ]);
}

/// The arguments of a server over `data` with the `config` file, keys from `jwks` (a path or
/// URL) and the test issuers and audience, on a free port.
pub(crate) fn auth_args(data: &Path, config: &Path, jwks: &str) -> Vec<String> {
    [
        "--bind",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--auth-jwks",
        jwks,
        "--auth-issuer",
        ISSUER,
        "--auth-issuer",
        VISAS,
        "--auth-audience",
        AUDIENCE,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A server process with access control over `data`: the test JWKS (copied, so a test may
/// rotate it), issuers, audience, the `datasets` grants claim and [`RULES`], plus `flags`.
pub(crate) struct AuthServer {
    pub(crate) process: ServerProcess,
    /// Where its config, JWKS copy and log live.
    pub(crate) dir: tempfile::TempDir,
}

impl AuthServer {
    pub(crate) fn start(data: &Path, flags: &[&str]) -> Self {
        Self::start_with_rules(data, RULES, flags)
    }

    /// [`AuthServer::start`] with `rules` (a TOML file's text) for [`RULES`].
    pub(crate) fn start_with_rules(data: &Path, rules: &str, flags: &[&str]) -> Self {
        let fixtures = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let jwks = dir.path().join("jwks.json");
        std::fs::copy(fixtures.path("jwks.json"), &jwks).unwrap();
        let config = dir.path().join("htsget.toml");
        std::fs::write(&config, rules).unwrap();

        let mut args = auth_args(data, &config, jwks.to_str().unwrap());
        args.extend(["--auth-grants-claim".to_owned(), "datasets".to_owned()]);
        args.extend(flags.iter().map(|s| (*s).to_owned()));
        let process = ServerProcess::start(&args, &dir.path().join("server.log"));
        Self { process, dir }
    }

    /// GET `target` with the token `name` (none if `None`) as a bearer token.
    pub(crate) fn get(&self, target: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        request(self.process.addr, "GET", target, &headers, b"")
    }

    /// Asserts that nothing it logged contains a token, or a signature of a data URL in
    /// `tickets`.
    pub(crate) fn assert_log_clean(&self, tickets: &[serde_json::Value]) {
        let log = self.process.log();
        assert!(
            log.contains("ticket decision"),
            "no audit line in the log:\n{log}"
        );
        for (name, token) in fixtures().tokens() {
            // Every JWT part of a token; a log line holding any of them leaks it.
            for part in token.split('.').filter(|p| p.len() >= 16) {
                assert!(!log.contains(part), "the log holds part of token {name}");
            }
        }
        for ticket in tickets {
            for url in ticket["htsget"]["urls"].as_array().into_iter().flatten() {
                let url = url["url"].as_str().unwrap();
                if let Some((_, sig)) = url.split_once("sig=") {
                    assert!(!log.contains(sig), "the log holds a data URL signature");
                }
            }
        }
    }
}
