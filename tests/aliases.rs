//! Reference names as users type them: every ground-truth row asked under its other name
//! (`chr11` for `11`, `chrM` for `MT`, ...) gets the ticket of its own name; `--no-aliases`
//! turns that off; an operator's alias that stands for two references is refused; a region
//! grant written in the other style admits exactly its region.

use std::collections::BTreeMap;

use crate::{
    access::fixtures::{AuthServer, fixtures},
    clients::ticket_url,
    common::{Tool, data_dir, require},
    ground_truth::rows,
    server::{TestServer, request},
};

/// The name the built-in equivalences give `name` in the other naming style.
fn other_style(name: &str) -> String {
    match name {
        "MT" | "M" => "chrM".to_owned(),
        "chrM" | "chrMT" => "MT".to_owned(),
        _ => match name.strip_prefix("chr") {
            Some(bare) => bare.to_owned(),
            None => format!("chr{name}"),
        },
    }
}

#[test]
fn every_ground_truth_row_under_its_other_name() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);
    let exact = TestServer::start(Some(&dir), |config| config.no_aliases = true);
    let (mut checked, mut failures) = (0, Vec::new());
    for row in rows(&dir) {
        let Some(name) = row.name.as_deref().filter(|n| *n != "*") else {
            continue;
        };
        if row.not_in_header {
            continue;
        }
        let url = ticket_url(&server.url, &row);
        let target = url.strip_prefix(&server.url).unwrap().to_owned();
        let renamed = {
            let encoded =
                |n: &str| form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>();
            target.replace(
                &format!("referenceName={}", encoded(name)),
                &format!("referenceName={}", encoded(&other_style(name))),
            )
        };
        assert_ne!(renamed, target, "{target}");
        let own = request(server.addr, "GET", &target, &[], b"");
        let other = request(server.addr, "GET", &renamed, &[], b"");
        if own.status != 200 || other.status != 200 || own.json() != other.json() {
            failures.push(format!(
                "{renamed}: {} against {} for {target}",
                other.status, own.status
            ));
            continue;
        }
        // Without the built-in equivalences the other name is not the file's.
        let refused = request(exact.addr, "GET", &renamed, &[], b"");
        if refused.status != 404 {
            failures.push(format!("{renamed} with --no-aliases: {}", refused.status));
            continue;
        }
        checked += 1;
    }
    println!("aliases: {checked} ground-truth rows asked under their other name");
    assert!(checked > 100, "too few rows checked: {checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_alias_for_two_references_is_refused() {
    let Some(dir) = data_dir() else { return };
    let table = BTreeMap::from([("both".to_owned(), vec!["1".to_owned(), "11".to_owned()])]);
    let server = TestServer::start(Some(&dir), move |config| config.aliases = table);
    let bam = "/reads/bam/htsnexus_test_NA12878";

    let reply = request(
        server.addr,
        "GET",
        &format!("{bam}?referenceName=both"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_name(), "InvalidInput");
    let message = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(
        message.contains("\\\"1\\\"") && message.contains("\\\"11\\\""),
        "{message}"
    );
    // The file's own names stay themselves.
    for name in ["1", "11"] {
        let target = format!("{bam}?referenceName={name}&start=0&end=1000000");
        assert_eq!(request(server.addr, "GET", &target, &[], b"").status, 200);
    }
}

#[test]
fn a_region_grant_in_the_other_style_admits_exactly_its_region() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    // The test BAM (its references named `11`, ...) under aliased/, whose rule grants
    // `chr11:4900000-5100000`.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("aliased")).unwrap();
    for extension in ["bam", "bam.bai"] {
        std::fs::copy(
            dir.join(format!("bam/htsnexus_test_NA12878.{extension}")),
            root.path().join(format!("aliased/na.{extension}")),
        )
        .unwrap();
    }
    let server = AuthServer::start(root.path(), &[]);
    let token = Some(fixtures().token("restricted"));
    for (query, status) in [
        ("referenceName=11&start=4999999&end=5050000", 200),
        ("referenceName=chr11&start=4999999&end=5050000", 200),
        ("referenceName=11&start=4900000&end=5100000", 200),
        ("referenceName=11&start=4800000&end=5050000", 403),
        ("referenceName=chr11&start=5000000&end=5200000", 403),
        ("referenceName=11", 403),
        ("referenceName=1&start=4999999&end=5050000", 403),
        ("referenceName=chr1&start=4999999&end=5050000", 403),
    ] {
        let reply = server.get(&format!("/reads/aliased/na?{query}"), token);
        assert_eq!(reply.status, status, "{query}");
    }
}
