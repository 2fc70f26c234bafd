//! Shared helpers: where the public test data lives, running the real tools.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use htsget_core::{Format, Plan, Ticket, load, storage::Storage};

/// Runs a future of the core's I/O layer to completion on this thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// The public test data folder: `$HTSGET_TEST_DATA`, or `../shared/data` beside the checkout.
/// `None`, with the reason printed, when it is absent.
pub(crate) fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HTSGET_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));

    if dir.join("ground_truth.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: no test data at {} (set HTSGET_TEST_DATA to the shared data folder)",
            dir.display()
        );
        None
    }
}

/// The command that installs every tool the suite needs, then runs it (the README's test
/// command).
pub(crate) const TEST_COMMAND: &str = "tests/run.sh";

/// A program, or python modules, that some tests need. Where one is not installed, those
/// tests print one `SKIPPED:` line and pass, like the tests without data ([`require`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    Samtools,
    Bcftools,
    /// The python htsget client, `htsget`.
    Htsget,
    /// PyJWT with cryptography, for `python3` (they mint the access tests' tokens).
    PyJwt,
    /// Python `crypt4gh`: its commands, and its modules for `python3`.
    Crypt4gh,
    /// `moto_server`, with boto3 for `python3`.
    Moto,
    Nginx,
    Openssl,
    /// npm (igv.js is its package `igv`).
    Npm,
}

/// How to tell a tool is there.
enum Probe {
    /// This command starts, and is not the shell's or a shim's "command not found" (127).
    Runs(&'static [&'static str]),
    /// `python3` finds these modules (without importing them: an import that fails is the
    /// test's failure, not a missing tool).
    Modules(&'static [&'static str]),
}

/// Exits 3 unless `python3` finds every module named in its arguments.
const FIND_MODULES: &str = "import importlib.util, sys\n\
    sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 3)";

impl Tool {
    const COUNT: usize = 9;

    /// Its name in `SKIPPED:` lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Samtools => "samtools",
            Self::Bcftools => "bcftools",
            Self::Htsget => "python htsget",
            Self::PyJwt => "PyJWT",
            Self::Crypt4gh => "python crypt4gh",
            Self::Moto => "moto",
            Self::Nginx => "nginx",
            Self::Openssl => "openssl",
            Self::Npm => "npm",
        }
    }

    fn probes(self) -> &'static [Probe] {
        use Probe::{Modules, Runs};
        match self {
            Self::Samtools => &[Runs(&["samtools", "--version"])],
            Self::Bcftools => &[Runs(&["bcftools", "--version"])],
            Self::Htsget => &[Runs(&["htsget", "--version"])],
            Self::PyJwt => &[Modules(&["jwt", "cryptography"])],
            Self::Crypt4gh => &[
                Runs(&["crypt4gh", "--version"]),
                Runs(&["crypt4gh-keygen", "--version"]),
                Modules(&["crypt4gh"]),
            ],
            Self::Moto => &[
                Runs(&["moto_server", "--help"]),
                Modules(&["boto3", "botocore"]),
            ],
            Self::Nginx => &[Runs(&["nginx", "-v"])],
            Self::Openssl => &[Runs(&["openssl", "version"])],
            Self::Npm => &[Runs(&["npm", "--version"])],
        }
    }

    /// Whether it is installed; found out once per test run.
    pub(crate) fn installed(self) -> bool {
        static KNOWN: [OnceLock<bool>; Tool::COUNT] = [const { OnceLock::new() }; Tool::COUNT];
        *KNOWN[self as usize].get_or_init(|| self.probes().iter().all(Probe::passes))
    }
}

impl Probe {
    fn passes(&self) -> bool {
        let mut command = match self {
            Self::Runs(words) => {
                let mut command = Command::new(words[0]);
                command.args(&words[1..]);
                command
            }
            Self::Modules(names) => {
                let mut command = Command::new("python3");
                command.args(["-c", FIND_MODULES]).args(names.iter());
                command
            }
        };
        let status = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Err(_) => false,
            Ok(status) => match status.code() {
                Some(127) => false,
                Some(3) => !matches!(self, Self::Modules(_)),
                _ => true,
            },
        }
    }
}

/// Whether every one of `tools` is installed. If not, prints one line, `SKIPPED: <tool> is
/// not installed (run tests/run.sh)`, and the test returns (and passes) at once: no fixture
/// is made without its tools.
pub(crate) fn require(tools: &[Tool]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|tool| !tool.installed())
        .map(|tool| tool.name())
        .collect();
    if missing.is_empty() {
        return true;
    }
    skipped(&missing.join(", "), missing.len() > 1);
    false
}

/// Prints the `SKIPPED:` line of a missing tool, or of several (`plural`).
pub(crate) fn skipped(what: &str, plural: bool) {
    let verb = if plural { "are" } else { "is" };
    eprintln!("SKIPPED: {what} {verb} not installed (run {TEST_COMMAND})");
}

/// Runs `program` with `args`; panics if it cannot start (the tool is missing).
pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    run_with(program, args, &[])
}

/// Runs `program` with `args` and the environment variables `env` added.
pub(crate) fn run_with(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .env("REF_PATH", "/nonexistent")
        .env("REF_CACHE", "/nonexistent")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"))
}

/// The payload of `plan`, as a client assembles it from the JSON ticket: inline `data:` URIs
/// decoded, `Range` headers read from the file. Also checks that it matches
/// [`load::write_payload`].
pub(crate) fn payload<S: Storage + ?Sized>(
    storage: &S,
    data: &str,
    format: Format,
    plan: &Plan,
) -> Vec<u8> {
    let json = Ticket::new(plan, format, "http://127.0.0.1/data", &BTreeMap::new()).to_json();
    assert!(json.starts_with(r#"{"htsget":{"format":""#), "{json}");

    let ticket: serde_json::Value = serde_json::from_str(&json).unwrap();
    let object = block_on(storage.open(data)).expect("open");
    let mut out = Vec::new();

    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let text = url["url"].as_str().unwrap();

        if let Some(encoded) = text.strip_prefix("data:;base64,") {
            out.extend(STANDARD.decode(encoded).unwrap());
        } else {
            let range = url["headers"]["Range"].as_str().unwrap();
            let (first, last) = range
                .strip_prefix("bytes=")
                .unwrap()
                .split_once('-')
                .unwrap();
            let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
            let len = usize::try_from(last - first + 1).unwrap();
            out.extend(block_on(object.read(first, len)).unwrap());
        }
    }

    let mut direct = Vec::new();
    block_on(load::write_payload(&*object, plan, &mut direct)).expect("payload");
    assert!(direct == out, "ticket and plan payloads differ");

    out
}
