//! Live reload on SIGHUP: a rule change takes effect, a broken file is refused while the old
//! configuration keeps serving, and kept-alive clients under load see no failure across
//! reloads.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

use super::endpoints::metric;
use crate::{
    access::fixtures::{AuthServer, BAM, REGION, RULES, fixtures},
    common::{Tool, data_dir, require},
    server::get,
};

const PUBLIC: &str = "/variants/vcf/spec-v4.3?referenceName=20";

/// One GET on a kept-alive connection: the status, the body read whole.
fn get_on(
    stream: &mut BufReader<TcpStream>,
    target: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<u16> {
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.get_mut().write_all(head.as_bytes())?;
    let mut status = 0;
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some(rest) = trimmed.strip_prefix("HTTP/1.1 ") {
            status = rest[..3].parse().unwrap_or(0);
        } else if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok(status)
}

#[test]
fn reload_applies_rules_refuses_broken_files_and_fails_no_request() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let config = server.dir.path().join("htsget.toml");
    let addr = server.process.addr;
    let auth = format!("Bearer {}", fixtures().token("passport"));
    assert_eq!(get(addr, PUBLIC).status, 200);

    // Load: kept-alive clients fetching tickets and public variants throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (stop, ok, failed, auth) = (
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&failed),
                auth.clone(),
            );
            thread::spawn(move || {
                let mut stream = BufReader::new(TcpStream::connect(addr).unwrap());
                let target = if i % 2 == 0 {
                    format!("/reads/{BAM}?{REGION}")
                } else {
                    format!("/reads/{BAM}?class=header")
                };
                let headers = [("Authorization", auth.as_str())];
                while !stop.load(Ordering::Relaxed) {
                    match get_on(&mut stream, &target, &headers) {
                        Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();

    // A harmless change, twice, under load.
    let extra = format!("{RULES}\n[[access]]\nids = \"extra/*\"\npublic = true\n");
    for (i, text) in [&extra, &RULES.to_owned()].into_iter().enumerate() {
        std::fs::write(&config, text).unwrap();
        server.process.hangup();
        server.process.await_log("configuration reloaded", i + 1);
        thread::sleep(Duration::from_millis(200));
    }

    // A rule change: the public variants now need a grant.
    std::fs::write(
        &config,
        RULES.replace(
            "ids = \"vcf/*\"\npublic = true",
            "ids = \"vcf/*\"\ngrants = [\"https://datasets.example/vcf\"]",
        ),
    )
    .unwrap();
    server.process.hangup();
    server.process.await_log("configuration reloaded", 3);
    assert_eq!(get(addr, PUBLIC).status, 401, "the new rule applies");

    // A broken file: refused, logged, the last good configuration keeps serving.
    std::fs::write(&config, "[[access]\nids = ").unwrap();
    server.process.hangup();
    server.process.await_log("configuration reload refused", 1);
    assert_eq!(get(addr, PUBLIC).status, 401, "still the last good rules");
    // One that parses but does not validate (a rule without grants) is refused too.
    std::fs::write(&config, "[[access]]\nids = \"bam/*\"\n").unwrap();
    server.process.hangup();
    server.process.await_log("configuration reload refused", 2);
    thread::sleep(Duration::from_millis(200));

    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "during 5 reloads: {ok} requests answered on 4 kept-alive connections, {failed} failed"
    );
    assert_eq!(failed, 0);
    assert!(ok > 40, "{ok}");

    let metrics = String::from_utf8(get(addr, "/metrics").body).unwrap();
    assert_eq!(
        metric(&metrics, r#"htsget_reloads_total{outcome="applied"}"#),
        3.0
    );
    assert_eq!(
        metric(&metrics, r#"htsget_reloads_total{outcome="refused"}"#),
        2.0
    );
}
