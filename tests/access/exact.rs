//! A region grant serves its region and nothing more: for every ground-truth row with a region,
//! a token whose only grant is that row's region, asking that region, gets a payload whose
//! records — counted over the whole payload, with no region argument — are exactly samtools'
//! or bcftools' count; the same payload encrypted for the client (python crypt4gh decrypts it).
//! CRAM under a region grant is refused, never over-served. Several regions in one POST, and
//! several regions granted, are exact too.

use std::path::Path;

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::fixtures::{AuthServer, fixtures};
use crate::{
    clients::ticket_url,
    common::{Tool, data_dir, require},
    crypt4gh::{crypt4gh, keygen},
    exact::{exact_row, records_in},
    ground_truth::{Row, rows},
    server::{payload, request},
};

/// The rows asked here, with their index in the table (the number of their token).
fn asked(dir: &Path) -> Vec<(usize, Row)> {
    rows(dir)
        .into_iter()
        .enumerate()
        .filter(|(_, row)| {
            !row.not_in_header && row.name.as_deref().is_some_and(|name| name != "*")
        })
        .collect()
}

/// The id of a row's file.
fn id_of(row: &Row) -> &str {
    row.file
        .strip_suffix(&format!(".{}", row.format.extension()))
        .unwrap()
}

/// One rule per row: its id, readable by the row's grant only, within the row's region.
fn rules(rows: &[(usize, Row)]) -> String {
    let mut text = String::new();
    for (i, row) in rows {
        let name = row.name.as_deref().unwrap();
        let region = match (row.start, row.end) {
            (start, Some(end)) => format!("{{{name}}}:{}-{end}", start.unwrap_or(0)),
            _ => format!("{{{name}}}"),
        };
        text.push_str(&format!(
            "[[access]]\nids = {:?}\ngrants = [\"https://datasets.example/row-{i}\"]\nregions = [{region:?}]\n\n",
            id_of(row)
        ));
    }
    text
}

#[test]
fn a_region_grant_gets_exactly_the_records_of_its_region() {
    let Some(dir) = data_dir() else { return };
    if !require(&[
        Tool::PyJwt,
        Tool::Openssl,
        Tool::Samtools,
        Tool::Bcftools,
        Tool::Crypt4gh,
    ]) {
        return;
    }
    let rows = asked(&dir);
    let server = AuthServer::start_with_rules(&dir, &rules(&rows), &[]);
    let addr = server.process.addr;
    let tmp = tempfile::tempdir().unwrap();
    let (client_sk, client_pk) = keygen(tmp.path(), "client");
    let client = STANDARD.encode(std::fs::read(&client_pk).unwrap());
    let (mut exact, mut sealed, mut refused) = (0, 0, 0);
    let mut failures = Vec::new();

    for (i, row) in &rows {
        let bearer = format!("Bearer {}", fixtures().token(&format!("row-{i}")));
        let target = ticket_url("", row);
        let reply = request(addr, "GET", &target, &[("Authorization", &bearer)], b"");
        if !exact_row(row) {
            // CRAM: refused, with the reason.
            if reply.status == 403 && reply.text().contains("exact delivery is not possible") {
                refused += 1;
            } else {
                failures.push(format!("{target}: CRAM answered {}", reply.status));
            }
            continue;
        }
        if reply.status != 200 {
            failures.push(format!("{target}: {} {}", reply.status, reply.text()));
            continue;
        }
        let out = tmp.path().join(format!("{i}.{}", row.format.extension()));
        std::fs::write(&out, payload(addr, &reply.json())).unwrap();
        match records_in(&out, row.format) {
            Ok(count) if count == row.count => exact += 1,
            Ok(count) => {
                failures.push(format!("{target}: {count} records, expected {}", row.count))
            }
            Err(why) => failures.push(format!("{target}: {why}")),
        }

        // The same, encrypted for the client.
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Htsget-Context-Public-Key", client.as_str()),
        ];
        let target = format!("{target}&encryptionScheme=crypt4gh");
        let reply = request(addr, "GET", &target, &headers, b"");
        if reply.status != 200 {
            failures.push(format!("{target}: {} {}", reply.status, reply.text()));
            continue;
        }
        let encrypted = tmp.path().join(format!("{i}.c4gh"));
        std::fs::write(&encrypted, payload(addr, &reply.json())).unwrap();
        let opened = tmp
            .path()
            .join(format!("{i}-opened.{}", row.format.extension()));
        if !crypt4gh(
            &["decrypt", "--sk", client_sk.to_str().unwrap()],
            &encrypted,
            &opened,
        ) {
            failures.push(format!("{target}: python crypt4gh cannot decrypt it"));
            continue;
        }
        match records_in(&opened, row.format) {
            Ok(count) if count == row.count => sealed += 1,
            Ok(count) => {
                failures.push(format!("{target}: {count} records, expected {}", row.count))
            }
            Err(why) => failures.push(format!("{target}: {why}")),
        }
    }
    println!(
        "region grants: {exact} exact payloads, {sealed} exact Crypt4GH payloads, {refused} CRAM refusals"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        exact > 150 && sealed == exact && refused > 20,
        "{exact} {sealed} {refused}"
    );
    server.assert_log_clean(&[]);
}
