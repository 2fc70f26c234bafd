//! A server as a child process: this test binary re-run as [`server_process`], which parses a
//! real command line, logs as the `htsget-server` binary does, reloads on SIGHUP and serves
//! until SIGTERM, so tests can read its log and send it signals.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
};

use clap::Parser as _;
use htsget_server::{Cli, Config, Server};

/// The environment variable that carries the child's arguments (a JSON array).
const ARGS: &str = "HTSGET_TEST_SERVER_ARGS";

/// A running server process; killed on drop.
pub(crate) struct ServerProcess {
    child: Child,
    /// The bound address.
    pub(crate) addr: SocketAddr,
    /// The base URL of its tickets.
    pub(crate) url: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `htsget-server ARGS` (add `--bind 127.0.0.1:0`), its standard error in `log`.
    pub(crate) fn start(args: &[String], log: &Path) -> Self {
        Self::start_with_env(args, log, &[])
    }

    /// [`ServerProcess::start`] with `env` set in its environment.
    pub(crate) fn start_with_env(args: &[String], log: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "process::server_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(ARGS, serde_json::to_string(args).unwrap())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(Ok(line)) = lines.next() {
            if let Some(rest) = line.strip_prefix("LISTENING ") {
                let (addr, url) = rest.split_once(' ').unwrap();
                let (addr, url) = (addr.parse().unwrap(), url.to_owned());
                // Keep reading its output so it never blocks on a full pipe.
                thread::spawn(move || lines.for_each(drop));
                return Self {
                    child,
                    addr,
                    url,
                    log: log.to_owned(),
                };
            }
        }
        let _ = child.wait();
        panic!(
            "the server did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit; whether it exited cleanly.
    pub(crate) fn wait(mut self) -> bool {
        self.child.wait().unwrap().success()
    }

    /// Everything it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// Sends it SIGHUP (reload its configuration).
    pub(crate) fn hangup(&self) {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (up to 10 s) until its log holds `needle` `count` times.
    pub(crate) fn await_log(&self, needle: &str, count: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.log().matches(needle).count() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child: `htsget-server` with the arguments of [`ARGS`]. Run by [`ServerProcess`] only.
#[test]
#[ignore = "a server process, started by ServerProcess"]
fn server_process() {
    let Ok(args) = std::env::var(ARGS) else {
        return;
    };
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    let load = move || {
        let cli = Cli::parse_from(std::iter::once("htsget-server".to_owned()).chain(args.clone()));
        Config::from_cli(cli)
    };
    let config = load().unwrap_or_else(|e| panic!("{e}"));
    htsget_server::logging::init(config.log_format);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = Server::bind(config).await.unwrap_or_else(|e| panic!("{e}"));
        println!("LISTENING {} {}", server.local_addr(), server.public_url());
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        let shutdown = async move {
            terminate.recv().await;
        };
        // SIGHUP reloads, as in the binary.
        server
            .serve_with_reload(shutdown, Some(load))
            .await
            .unwrap();
    });
}
