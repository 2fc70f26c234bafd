//! An in-process server on 127.0.0.1:0 for the end-to-end tests, and a minimal HTTP client.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    thread::JoinHandle,
    time::Duration,
};

use htsget_server::{Config, Server};
use tokio::sync::oneshot;

/// A server running on its own thread and runtime; stopped (gracefully) on drop.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The bound address.
    pub(crate) addr: SocketAddr,
    /// The canonical data root (a temporary folder for the demo dataset).
    pub(crate) root: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over `data` (the demo dataset if `None`) with `adjust` applied to the
    /// default configuration.
    pub(crate) fn start(data: Option<&Path>, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            data: data.map(Path::to_owned),
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Config::default()
        };
        adjust(&mut config);

        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();

        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = Server::bind(config).await.expect("server starts");
                ready_tx
                    .send((server.local_addr(), server.data_root().to_owned()))
                    .unwrap();
                server
                    .serve(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });

        let (addr, root) = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server ready");
        Self {
            url: format!("http://{addr}"),
            addr,
            root,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Starts a server over the public test data folder.
    pub(crate) fn shared(data: &Path) -> Self {
        Self::start(Some(data), |_| {})
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response, as the test client read it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Header names lower-cased.
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the reply's status is `status`, showing `what` and the body if not.
    pub(crate) fn expect(&self, status: u16, what: impl std::fmt::Display) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The body as text (lossily).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The htsget error name of an error reply.
    pub(crate) fn error_name(&self) -> String {
        self.json()["htsget"]["error"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Whether the reply says its body is JSON (`application/json`, any parameters).
    pub(crate) fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Sends one HTTP/1.1 request to `addr` (`target` is the path and query) and reads the reply.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();

    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_reply(&raw, method == "HEAD")
}

/// The headers a ticket URL object (`{"url", "headers", "class"}`) lists, as owned pairs.
pub(crate) fn url_headers(url: &serde_json::Value) -> Vec<(String, String)> {
    url["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// GETs a ticket URL object of the server at `addr` (its path and query from `/data/`), with
/// the headers the ticket lists.
pub(crate) fn fetch_url(addr: SocketAddr, url: &serde_json::Value) -> Reply {
    let text = url["url"].as_str().unwrap();
    let target = &text[text.find("/data/").expect("a data URL")..];
    let headers = url_headers(url);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request(addr, "GET", target, &headers, b"")
}

/// The payload of a ticket from the server at `addr`: inline parts decoded, URLs fetched with
/// their headers only (each must answer 200 or 206).
pub(crate) fn payload(addr: SocketAddr, ticket: &serde_json::Value) -> Vec<u8> {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let mut out = Vec::new();
    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let text = url["url"].as_str().unwrap();
        if let Some(data) = text.strip_prefix("data:;base64,") {
            out.extend(STANDARD.decode(data).unwrap());
            continue;
        }
        let reply = fetch_url(addr, url);
        assert!(
            matches!(reply.status, 200 | 206),
            "{text}: {}",
            reply.status
        );
        out.extend(reply.body);
    }
    out
}

/// GET `target`.
pub(crate) fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target, &[], b"")
}

/// Parses a raw response: status, headers, and the body (dechunked; empty for `HEAD`).
pub(crate) fn parse_reply(raw: &[u8], head_only: bool) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let text = String::from_utf8_lossy(&raw[..split]);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();

    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();

    let mut body = raw[split + 4..].to_vec();
    if head_only {
        body.clear();
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        body = dechunk(&body);
    }

    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16)
            .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}
