//! Health, readiness and metrics endpoints, request ids and JSON logs.

use std::net::TcpListener;

use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{
    access::fixtures::{AuthServer, fixtures},
    common::{Tool, data_dir, require},
    process::ServerProcess,
    server::{TestServer, get, request},
};

const TICKET: &str = "/reads/bam/htsnexus_test_NA12878?referenceName=11&start=4999999&end=5050000";

/// The value of the metric line `name` (with its labels, exactly as rendered), or 0.
pub(crate) fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn health_and_readiness() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);
    let health = get(server.addr, "/healthz");
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = get(server.addr, "/readyz");
    assert_eq!(
        (ready.status, ready.json()["status"].as_str()),
        (200, Some("ready"))
    );

    // A data root that goes away: unready, named without its path.
    let gone = tempfile::tempdir().unwrap();
    let root = gone.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let server = TestServer::start(Some(&root), |_| {});
    assert_eq!(get(server.addr, "/readyz").status, 200);
    std::fs::remove_dir(&root).unwrap();
    let unready = get(server.addr, "/readyz");
    assert_eq!(unready.status, 503);
    let text = String::from_utf8_lossy(&unready.body).into_owned();
    assert!(
        text.contains("not reachable") && !text.contains(gone.path().to_str().unwrap()),
        "{text}"
    );
    assert_eq!(
        get(server.addr, "/healthz").status,
        200,
        "alive all the same"
    );

    // A bucket that does not answer, and token keys that cannot be fetched: unready, with
    // both reasons.
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("htsget.toml");
    std::fs::write(
        &config,
        "[[roots]]\nprefix = \"s3\"\ndata = \"s3://nowhere\"\n[store-options]\n\
         aws_endpoint = \"http://127.0.0.1:1\"\naws_allow_http = \"true\"\n\
         aws_access_key_id = \"x\"\naws_secret_access_key = \"x\"\naws_region = \"us-east-1\"\n",
    )
    .unwrap();
    let server = ServerProcess::start(
        &args(&[
            "--bind",
            "127.0.0.1:0",
            "--data",
            dir.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--auth-jwks",
            "http://127.0.0.1:1/jwks.json",
            "--auth-issuer",
            "https://issuer.example",
            "--store-timeout",
            "2",
        ]),
        &tmp.path().join("server.log"),
    );
    let unready = get(server.addr, "/readyz");
    assert_eq!(unready.status, 503);
    let reasons = unready.json()["reasons"].to_string();
    assert!(
        reasons.contains("data root \\\"s3\\\"") && reasons.contains("token keys"),
        "{reasons}"
    );
}

#[test]
fn metrics_move_with_traffic() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);
    let before = String::from_utf8(get(server.addr, "/metrics").body).unwrap();
    assert!(
        before.contains("# TYPE htsget_open_streams gauge"),
        "{before}"
    );

    let mut ticket = None;
    for _ in 0..5 {
        let reply = get(server.addr, TICKET);
        assert_eq!(reply.status, 200);
        ticket = Some(reply.json());
    }
    assert_eq!(get(server.addr, "/reads/bam/no_such_file").status, 404);

    // Fetch every URL of the ticket; count the bytes.
    let (mut bytes, mut ranged, mut whole) = (0, 0, 0);
    for url in ticket.unwrap()["htsget"]["urls"].as_array().unwrap() {
        let text = url["url"].as_str().unwrap();
        if text.starts_with("data:") {
            let _ = STANDARD.decode(text.split_once(',').unwrap().1).unwrap();
            continue;
        }
        let reply = crate::server::fetch_url(server.addr, url);
        match reply.status {
            206 => ranged += 1,
            200 => whole += 1,
            other => panic!("{other}"),
        }
        bytes += reply.body.len();
    }

    let after = String::from_utf8(get(server.addr, "/metrics").body).unwrap();
    let delta = |name: &str| metric(&after, name) - metric(&before, name);
    assert_eq!(
        delta(r#"htsget_requests_total{endpoint="reads",status="200"}"#),
        5.0
    );
    assert_eq!(
        delta(r#"htsget_requests_total{endpoint="reads",status="404"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"htsget_request_duration_seconds_count{endpoint="reads"}"#),
        6.0
    );
    assert_eq!(
        delta(r#"htsget_requests_total{endpoint="data",status="206"}"#),
        f64::from(ranged)
    );
    assert_eq!(
        delta(r#"htsget_requests_total{endpoint="data",status="200"}"#),
        f64::from(whole)
    );
    assert_eq!(
        delta(r#"htsget_served_bytes_total{endpoint="data"}"#),
        bytes as f64
    );
    assert_eq!(delta("htsget_facts_cache_misses_total"), 1.0);
    assert_eq!(delta("htsget_facts_cache_hits_total"), 4.0);
    assert_eq!(metric(&after, "htsget_facts_cache_entries"), 1.0);
    assert!(metric(&after, "htsget_facts_cache_weight_bytes") > 0.0);
    assert_eq!(
        metric(&after, "htsget_open_streams"),
        0.0,
        "every stream closed"
    );
    // The histogram's buckets are cumulative and end at the count.
    let inf = metric(
        &after,
        r#"htsget_request_duration_seconds_bucket{le="+Inf",endpoint="reads"}"#,
    );
    assert_eq!(
        inf,
        metric(
            &after,
            r#"htsget_request_duration_seconds_count{endpoint="reads"}"#
        )
    );
}

#[test]
fn store_and_access_metrics() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let auth = format!("Bearer {}", fixtures().token("passport"));
    let addr = server.process.addr;
    for _ in 0..2 {
        let reply = request(addr, "GET", TICKET, &[("Authorization", &auth)], b"");
        assert_eq!(reply.status, 200);
    }
    assert_eq!(get(addr, TICKET).status, 401);
    let text = String::from_utf8(get(addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(
            &text,
            r#"htsget_auth_decisions_total{decision="allow",reason="grant"}"#
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            r#"htsget_auth_decisions_total{decision="deny",reason="no-token"}"#
        ),
        1.0
    );

    let Some(moto) = crate::object_store::moto::Moto::start() else {
        return;
    };
    moto.put_bam(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let options: String = moto
        .settings()
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}\n"))
        .collect();
    let config = tmp.path().join("htsget.toml");
    std::fs::write(&config, format!("[store-options]\n{options}")).unwrap();
    let server = ServerProcess::start(
        &args(&[
            "--bind",
            "127.0.0.1:0",
            "--data",
            "s3://genomes/archive",
            "--config",
            config.to_str().unwrap(),
        ]),
        &tmp.path().join("server.log"),
    );
    assert_eq!(get(server.addr, TICKET).status, 200);
    assert_eq!(get(server.addr, "/reads/bam/missing").status, 404);
    let text = String::from_utf8(get(server.addr, "/metrics").body).unwrap();
    assert!(
        metric(&text, r#"htsget_store_requests_total{operation="head"}"#) >= 2.0,
        "{text}"
    );
    assert!(
        metric(&text, r#"htsget_store_requests_total{operation="get"}"#) >= 1.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"htsget_store_errors_total{operation="head"}"#),
        0.0,
        "a missing object is no error"
    );
}

/// A server process over `dir` with its metrics on their own free port, plus `flags`: the
/// process, the metrics address, and the folder of its log.
fn with_metrics_port(
    dir: &std::path::Path,
    flags: &[&str],
) -> (ServerProcess, std::net::SocketAddr, tempfile::TempDir) {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let metrics_bind = format!("127.0.0.1:{port}");
    let mut all = vec![
        "--bind",
        "127.0.0.1:0",
        "--data",
        dir.to_str().unwrap(),
        "--metrics-bind",
        &metrics_bind,
    ];
    all.extend_from_slice(flags);
    let server = ServerProcess::start(&args(&all), &tmp.path().join("server.log"));
    (server, metrics_bind.parse().unwrap(), tmp)
}

#[test]
fn metrics_on_their_own_address() {
    let Some(dir) = data_dir() else { return };
    let (server, metrics_addr, _tmp) = with_metrics_port(&dir, &[]);
    assert_eq!(get(server.addr, "/metrics").status, 404);
    let reply = get(metrics_addr, "/metrics");
    assert_eq!(reply.status, 200);
    assert!(String::from_utf8_lossy(&reply.body).contains("htsget_requests_total"));
    assert_eq!(get(metrics_addr, "/healthz").status, 200);
    assert_eq!(
        get(metrics_addr, TICKET).status,
        404,
        "tickets only on the main address"
    );
}

/// CPU seconds process `pid` has used (user and system), from `/proc`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces), closed by ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let per_second = crate::common::run("getconf", &["CLK_TCK"]);
    ticks
        / String::from_utf8_lossy(&per_second.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
}

#[test]
fn the_metrics_listener_is_as_hard_as_the_main_one() {
    use std::{
        io::{Read, Write},
        net::TcpStream,
        time::{Duration, Instant},
    };

    let Some(dir) = data_dir() else { return };
    let flags = ["--header-timeout", "1", "--metrics-max-connections", "4"];
    let (server, metrics, _tmp) = with_metrics_port(&dir, &flags);
    assert_eq!(get(metrics, "/healthz").status, 200);

    // Slow clients take every slot: a request line, never the end of the headers.
    let slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = TcpStream::connect(metrics).unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    // And many more connect, idle, past the cap (they wait in the listen backlog).
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(metrics).unwrap())
        .collect();

    // The main port answers at once, and the process does not spin.
    let before = cpu_seconds(server.pid());
    let started = Instant::now();
    assert_eq!(get(server.addr, "/reads/service-info").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the main port took {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(server.pid()) - before;
    assert!(
        used < 0.2,
        "{used:.2} CPU seconds in 2 s with the metrics listener full"
    );

    // The slow clients were closed at the header timeout (1 s; they have waited 2).
    for mut stream in slow {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        // Closed: the end of the stream (after any answer), or a reset; still open: a timeout.
        let read = stream.read_to_end(&mut Vec::new());
        assert!(
            !matches!(&read, Err(e) if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )),
            "a slow client is still connected"
        );
    }
    drop(idle);
    assert_eq!(get(metrics, "/metrics").status, 200, "served again");
}

#[test]
fn a_listener_out_of_descriptors_backs_off() {
    use std::{net::TcpStream, time::Duration};

    let Some(dir) = data_dir() else { return };
    let (server, metrics, _tmp) = with_metrics_port(&dir, &["--metrics-max-connections", "1000"]);
    // Room for 16 more descriptors than it holds now.
    let pid = server.pid();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let limit = format!("--nofile={0}:{0}", open + 16);
    let status = crate::common::run("prlimit", &["--pid", &pid.to_string(), &limit]).status;
    assert!(status.success(), "prlimit");

    // More connections than descriptors left: accepting fails with EMFILE.
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(metrics).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 0.2,
        "{used:.2} CPU seconds in 2 s out of descriptors"
    );

    // Once they go, it serves again.
    drop(idle);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(server.addr, "/reads/service-info").status, 200);
    assert_eq!(get(metrics, "/healthz").status, 200);
    assert!(
        server.log().contains("accept failed"),
        "the descriptor shortage is logged"
    );
}

#[test]
fn request_ids_and_json_logs() {
    let Some(dir) = data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        &args(&[
            "--bind",
            "127.0.0.1:0",
            "--data",
            dir.to_str().unwrap(),
            "--log-format",
            "json",
        ]),
        &tmp.path().join("server.log"),
    );
    let given = request(
        server.addr,
        "GET",
        TICKET,
        &[("X-Request-Id", "trace-42.a")],
        b"",
    );
    assert_eq!(given.header("x-request-id"), Some("trace-42.a"));
    let fresh = get(server.addr, TICKET);
    let id = fresh.header("x-request-id").unwrap().to_owned();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let hostile = request(
        server.addr,
        "GET",
        TICKET,
        &[("X-Request-Id", "a b\"}")],
        b"",
    );
    assert_ne!(hostile.header("x-request-id"), Some("a b\"}"));

    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = server.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("running") && !l.starts_with("test "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request_line = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "trace-42.a")
        .expect("the request's log line carries its id");
    assert_eq!(request_line["fields"]["message"], "request");
    assert_eq!(request_line["fields"]["status"], 200);
    assert!(lines.iter().any(|l| l["span"]["request_id"] == id.as_str()));
}
