//! Re-keyed tickets under a region-restricted grant: the granted region's ticket decrypts (python
//! crypt4gh, the client's key) to a file where samtools finds exactly the plain file's reads of
//! that region; anything reaching outside gets no ticket, so no key; and the ticket's URLs,
//! signed, serve nothing else: widened, moved to another ticket's nonce, or stripped of their
//! signature, they are refused.

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::{crypt4gh, keygen};
use crate::{
    access::fixtures::{AuthServer, BAM, REGION, fixtures},
    common::{Tool, data_dir, require, run},
    server::{payload, request},
};

#[test]
fn region_grants_get_keys_for_their_regions_only() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh, Tool::PyJwt, Tool::Openssl, Tool::Samtools]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server_sk, server_pk) = keygen(tmp.path(), "server");
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("bam")).unwrap();
    let plain = dir.join(format!("{BAM}.bam"));
    assert!(crypt4gh(
        &["encrypt", "--recipient_pk", server_pk.to_str().unwrap()],
        &plain,
        &root.join(format!("{BAM}.bam.c4gh"))
    ));
    std::fs::copy(
        dir.join(format!("{BAM}.bam.bai")),
        root.join(format!("{BAM}.bam.bai")),
    )
    .unwrap();
    let server = AuthServer::start(&root, &["--c4gh-key", server_sk.to_str().unwrap()]);
    let addr = server.process.addr;
    let bearer = format!("Bearer {}", fixtures().token("restricted"));
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Htsget-Context-Public-Key", client.as_str()),
    ];
    let ticket_of = |query: &str| {
        let target = format!("/reads/{BAM}?{query}&encryptionScheme=C4GH");
        request(addr, "GET", &target, &headers, b"")
    };

    // The granted region (11:4,900,000-5,100,000 holds it): its payload decrypts to the reads
    // samtools finds there in the plain file.
    let reply = ticket_of(REGION);
    reply.expect(200, "ticket");
    let ticket = reply.json();
    let sealed = tmp.path().join("granted.c4gh");
    std::fs::write(&sealed, payload(addr, &ticket)).unwrap();
    let opened = tmp.path().join("granted.bam");
    assert!(crypt4gh(
        &["decrypt", "--sk", client_sk.to_str().unwrap()],
        &sealed,
        &opened
    ));
    let count = |args: &[&str]| -> u64 {
        let out = run("samtools", args);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let region = "11:5000000-5050000";
    let expected = count(&["view", "-c", plain.to_str().unwrap(), region]);
    assert!(expected > 0);
    let opened = opened.to_str().unwrap();
    // More reads than the region's (whole blocks of the index's bins), none beyond the grant.
    let total = count(&["view", "-c", opened]);
    assert!(total >= expected);
    let granted = count(&["view", "-c", plain.to_str().unwrap(), "11:4900001-5100000"]);
    let whole = count(&["view", "-c", plain.to_str().unwrap()]);
    assert!(
        total <= granted && granted < whole,
        "{total} {granted} {whole}"
    );
    assert!(run("samtools", &["index", opened]).status.success());
    assert_eq!(count(&["view", "-c", opened, region]), expected);

    // Reaching outside the grant, or the whole file: refused before any key is made.
    for query in [
        "referenceName=11&start=6000000&end=6100000",
        "referenceName=11&start=5000000&end=5200000",
        "referenceName=11",
        "format=BAM",
    ] {
        let reply = ticket_of(query);
        assert_eq!(
            (reply.status, reply.error_name().as_str()),
            (403, "PermissionDenied"),
            "{query}"
        );
        assert!(!String::from_utf8_lossy(&reply.body).contains("data:"));
    }

    // The ticket's re-keyed URLs serve what they name and nothing else.
    let urls: Vec<&str> = ticket["htsget"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .filter(|u| u.contains("/data/"))
        .map(|u| &u[u.find("/data/").unwrap()..])
        .collect();
    assert!(!urls.is_empty());
    let other_nonce = "0123456789abcdef0123456789abcdef";
    for target in urls {
        assert!(target.contains("sig="), "an unsigned URL: {target}");
        assert_eq!(request(addr, "GET", target, &[], b"").status, 200);
        let (name, value) = ["c4=", "span="]
            .into_iter()
            .find_map(|name| {
                let value = target.split(name).nth(1)?.split('&').next()?;
                Some((name, value))
            })
            .expect("a re-keyed URL names what it serves");
        let (start, end) = value.split_once('-').unwrap();
        let wider = format!("{start}-{}", end.parse::<u64>().unwrap() + (1 << 16));
        let nonce = target
            .split("k=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let unsigned = target.split("&sig=").next().unwrap();
        for (what, tampered) in [
            (
                "widened",
                target.replace(&format!("{name}{value}"), &format!("{name}{wider}")),
            ),
            ("another nonce", target.replace(nonce, other_nonce)),
            ("no signature", unsigned.to_owned()),
        ] {
            let status = request(addr, "GET", &tampered, &[], b"").status;
            assert_eq!(status, 403, "{what}: {tampered}");
        }
    }
    drop(server);

    // On a pass-through root, the region grant is re-keyed all the same: no stored segment
    // (which the file's key would open whole) and no file key reach it; its payload holds the
    // region's reads exactly.
    let server = AuthServer::start(
        &root,
        &[
            "--c4gh-key",
            server_sk.to_str().unwrap(),
            "--c4gh-passthrough",
        ],
    );
    let target = format!("/reads/{BAM}?{REGION}&encryptionScheme=C4GH");
    let reply = request(server.process.addr, "GET", &target, &headers, b"");
    reply.expect(200, "pass-through root");
    let ticket = reply.json();
    for url in ticket["htsget"]["urls"].as_array().unwrap() {
        let url = url["url"].as_str().unwrap();
        assert!(
            url.starts_with("data:") || url.contains("&k="),
            "not re-keyed: {url}"
        );
    }
    std::fs::write(&sealed, payload(server.process.addr, &ticket)).unwrap();
    let again = tmp.path().join("granted-again.bam");
    assert!(crypt4gh(
        &["decrypt", "--sk", client_sk.to_str().unwrap()],
        &sealed,
        &again
    ));
    assert_eq!(count(&["view", "-c", again.to_str().unwrap()]), expected);
}
