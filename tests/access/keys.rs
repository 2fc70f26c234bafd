//! Key handling: a rotated JWKS is picked up without a restart, and keys come from a URL too.

use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

use super::fixtures::{AuthServer, BAM, REGION, fixtures};
use crate::{
    common::{Tool, data_dir, require},
    process::ServerProcess,
};

#[test]
fn keys_rotate_without_a_restart() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let target = format!("/reads/{BAM}?{REGION}");
    let rotated = Some(fixtures().token("rotated"));
    assert_eq!(
        server.get(&target, rotated).status,
        401,
        "a key not yet published"
    );

    std::fs::copy(
        fixtures().path("jwks-rotated.json"),
        server.dir.path().join("jwks.json"),
    )
    .unwrap();
    // Unknown kids re-read the set at most every 2 s.
    thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        server.get(&target, rotated).status,
        200,
        "the new key is used"
    );
    assert_eq!(
        server
            .get(&target, Some(fixtures().token("passport")))
            .status,
        200
    );
}

/// Serves `body` as `application/json` to every connection; counts the requests.
fn serve_json(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0; 4096];
            let _ = stream.read(&mut buf);
            counter.fetch_add(1, Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, count)
}

#[test]
fn keys_from_a_jwks_url_are_fetched_once_and_unknown_kids_are_rate_limited() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let fixtures = fixtures();
    let (url, fetches) = serve_json(std::fs::read(fixtures.path("jwks.json")).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("htsget.toml");
    std::fs::write(&config, super::fixtures::RULES).unwrap();
    let args = super::fixtures::auth_args(&dir, &config, &url);
    let server = ServerProcess::start(&args, &tmp.path().join("server.log"));
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched once at start");

    let target = format!("/reads/{BAM}?{REGION}");
    let auth = format!("Bearer {}", fixtures.token("passport"));
    for _ in 0..3 {
        let reply = crate::server::request(
            server.addr,
            "GET",
            &target,
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(reply.status, 200);
    }
    // A flood of unknown kids costs at most one fetch per interval.
    let unknown = format!("Bearer {}", fixtures.token("unknown_kid"));
    for _ in 0..20 {
        let reply = crate::server::request(
            server.addr,
            "GET",
            &target,
            &[("Authorization", &unknown)],
            b"",
        );
        assert_eq!(reply.status, 401);
    }
    let count = fetches.load(Ordering::SeqCst);
    assert!((1..=3).contains(&count), "{count} fetches");
}
