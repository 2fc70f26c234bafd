//! Scale-out: two server processes over one bucket behind a real nginx (round robin, retrying
//! idempotent requests), mixed ticket and data traffic, and one replica stopped midway.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use super::moto::{Moto, settings};
use crate::{
    common::{Tool, data_dir, require},
    process::ServerProcess,
    server::request,
};

const TICKET: &str = "/reads/bam/htsnexus_test_NA12878?referenceName=11&start=4999999&end=5050000";
const BIG: usize = 24 << 20;

/// One replica: a server process over the bucket (see [`ServerProcess`]).
struct Replica {
    process: ServerProcess,
    _dir: tempfile::TempDir,
}

impl Replica {
    fn start(port: u16, public_url: &str, endpoint: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let options: String = settings(endpoint)
            .iter()
            .map(|(k, v)| format!("{k} = {v:?}\n"))
            .collect();
        let config = dir.path().join("htsget.toml");
        std::fs::write(&config, format!("[store-options]\n{options}")).unwrap();
        let args: Vec<String> = [
            "--data",
            "s3://genomes/archive",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            public_url,
            "--urls",
            "server",
            "--config",
            config.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let process = ServerProcess::start(&args, &dir.path().join("replica.log"));
        Self { process, _dir: dir }
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.pid().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits for the process; whether it exited cleanly.
    fn wait(self) -> bool {
        self.process.wait()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx: in front of the replicas, as `../shared/OBJECT-STORE.md` checked it, or with any
/// `location` of one's own.
pub(super) struct Nginx {
    child: Child,
}

impl Nginx {
    /// nginx on `port` serving `location` (a whole `location { ... }` block).
    pub(super) fn start_with(dir: &Path, port: u16, location: &str) -> Self {
        Self::run(dir, port, "", location)
    }

    fn start(dir: &Path, port: u16, upstreams: [u16; 2]) -> Self {
        let [a, b] = upstreams;
        let upstream = format!(
            "upstream htsget {{ server 127.0.0.1:{a} max_fails=1 fail_timeout=2s;\n\
             server 127.0.0.1:{b} max_fails=1 fail_timeout=2s; keepalive 16; }}\n"
        );
        let location = "location / { proxy_pass http://htsget;\n\
             proxy_http_version 1.1; proxy_set_header Connection \"\";\n\
             proxy_set_header Host $http_host;\n\
             proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;\n\
             proxy_next_upstream_tries 2; proxy_next_upstream_timeout 10s;\n\
             proxy_connect_timeout 1s; proxy_read_timeout 30s; proxy_buffering off; }";
        Self::run(dir, port, &upstream, location)
    }

    fn run(dir: &Path, port: u16, upstream: &str, location: &str) -> Self {
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let user = if Command::new("id").arg("-u").output().unwrap().stdout == b"0\n" {
            "user root;"
        } else {
            ""
        };
        let conf = format!(
            "{user}\nworker_processes 1; pid logs/nginx.pid; error_log logs/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path logs/b; proxy_temp_path logs/p;\n\
             fastcgi_temp_path logs/f; uwsgi_temp_path logs/u; scgi_temp_path logs/s;\n\
             {upstream} server {{ listen 127.0.0.1:{port};\n {location} }} }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .args(["-c", "nginx.conf", "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (apt-get install nginx)");
        let nginx = Self { child };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return nginx;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not start");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, so the master takes its workers down with it (SIGKILL would orphan them).
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }
}

/// What failed in [`ticket_and_data`].
#[derive(Debug)]
enum Failure {
    /// The ticket request.
    Ticket(String),
    /// A data URL: its body short of its `Content-Length`, or an error status.
    Data(String),
}

impl Failure {
    /// What happened.
    fn text(&self) -> &str {
        match self {
            Self::Ticket(text) | Self::Data(text) => text,
        }
    }
}

/// One ticket through the balancer, and every data URL it lists: `Err` on any failure.
fn ticket_and_data(lb: SocketAddr) -> Result<(), Failure> {
    let reply = request(lb, "GET", TICKET, &[], b"");
    if reply.status != 200 {
        return Err(Failure::Ticket(format!("ticket: {}", reply.status)));
    }
    let prefix = format!("http://{lb}");
    for url in reply.json()["htsget"]["urls"].as_array().unwrap() {
        let Some(target) = url["url"].as_str().unwrap().strip_prefix(&prefix) else {
            continue;
        };
        let range = url["headers"]["Range"].as_str();
        let headers: Vec<(&str, &str)> = range.map(|r| ("Range", r)).into_iter().collect();
        let data = request(lb, "GET", target, &headers, b"");
        let expected = data.header("content-length").and_then(|l| l.parse().ok());
        if data.status >= 300 || expected != Some(data.body.len()) {
            let got = data.body.len();
            return Err(Failure::Data(format!(
                "data {target}: {} ({got} of {expected:?} bytes)",
                data.status
            )));
        }
    }
    Ok(())
}

/// A slow download of the big object through the balancer: `Ok` when whole, `Err` when it
/// ended short or failed (visibly: fewer bytes than its Content-Length, or an error).
fn slow_download(lb: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(lb).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = "GET /data/big.bam HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n";
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let (mut got, mut buf) = (Vec::new(), vec![0; 256 << 10]);
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read failed after {} bytes: {e}", got.len())),
        }
        thread::sleep(Duration::from_millis(20));
    }
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no head")?;
    let body = got.len() - split - 4;
    if body == BIG {
        Ok(())
    } else {
        Err(format!("ended after {body} of {BIG} bytes"))
    }
}

/// The ticket loop's failures.
type Tickets = thread::JoinHandle<Vec<Failure>>;

/// One slow download's outcome.
type Download = thread::JoinHandle<Result<(), String>>;

/// Runs ticket loops and slow downloads until told to stop; the failures of each kind.
fn drive(lb: SocketAddr, stop: &Arc<AtomicBool>) -> (Tickets, Vec<Download>) {
    let tickets = {
        let stop = Arc::clone(stop);
        thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = ticket_and_data(lb) {
                    failures.push(e);
                }
            }
            failures
        })
    };
    let downloads = (0..4)
        .map(|_| {
            let download = thread::spawn(move || slow_download(lb));
            thread::sleep(Duration::from_millis(50));
            download
        })
        .collect();
    (tickets, downloads)
}

#[test]
fn replicas_behind_nginx_survive_a_stopped_replica() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Nginx]) {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    moto.put_bam(&dir);
    let big: Vec<u8> = (0..BIG as u32).map(|i| (i % 253) as u8).collect();
    moto.put("genomes", "archive/big.bam", Some(&big));

    let (lb_port, ports) = (free_port(), [free_port(), free_port()]);
    let lb = SocketAddr::from(([127, 0, 0, 1], lb_port));
    let public = format!("http://{lb}");
    let start = |port| Replica::start(port, &public, &moto.endpoint());
    let (a, b) = (start(ports[0]), start(ports[1]));
    let tmp = tempfile::tempdir().unwrap();
    let _nginx = Nginx::start(tmp.path(), lb_port, ports);
    if let Err(failure) = ticket_and_data(lb) {
        panic!("traffic before any stop: {}", failure.text());
    }

    // SIGTERM: the replica stops accepting and finishes its streams: nothing fails.
    let stop = Arc::new(AtomicBool::new(false));
    let (tickets, downloads) = drive(lb, &stop);
    thread::sleep(Duration::from_millis(500));
    a.signal("-TERM");
    assert!(a.wait(), "the replica did not shut down cleanly");
    let downloads: Vec<_> = downloads.into_iter().map(|d| d.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = tickets
        .join()
        .unwrap()
        .iter()
        .map(|f| f.text().to_owned())
        .collect();
    assert!(
        failures.is_empty(),
        "requests failed across a SIGTERM: {failures:?}"
    );
    for download in &downloads {
        assert!(
            download.is_ok(),
            "a download failed across a SIGTERM: {download:?}"
        );
    }

    // SIGKILL: no ticket fails (the balancer retries them); a download in flight on the
    // killed replica fails visibly, never as a silently short file.
    let a = start(ports[0]);
    thread::sleep(Duration::from_millis(2500)); // nginx's fail_timeout for the restarted one
    let stop = Arc::new(AtomicBool::new(false));
    let (tickets, downloads) = drive(lb, &stop);
    thread::sleep(Duration::from_millis(500));
    b.signal("-KILL");
    let downloads: Vec<_> = downloads.into_iter().map(|d| d.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    // Data fetches in flight on the killed replica are cut: each was seen short of its
    // Content-Length (that is how `ticket_and_data` tells), which is the visible failure.
    let failures = tickets.join().unwrap();
    let tickets_failed: Vec<&str> = failures
        .iter()
        .filter(|f| matches!(f, Failure::Ticket(_)))
        .map(Failure::text)
        .collect();
    assert!(
        tickets_failed.is_empty(),
        "ticket requests failed across a SIGKILL: {tickets_failed:?}"
    );
    let cut = downloads.iter().filter(|d| d.is_err()).count();
    println!(
        "SIGKILL: {cut} of {} slow downloads were cut, visibly: {downloads:?}",
        downloads.len()
    );
    assert!(
        cut >= 1,
        "no download was on the killed replica: {downloads:?}"
    );
    drop(a);
}
