//! A region grant serves its region and nothing more: for every ground-truth row with a region,
//! a token whose only grant is that row's region, asking that region, gets a payload whose
//! records — counted over the whole payload, with no region argument — are exactly samtools'
//! or bcftools' count; the same payload encrypted for the client (python crypt4gh decrypts it).
//! CRAM too, its reference found by `M5` among the data root's FASTA files; a CRAM whose
//! reference is not there is refused where a container would need re-encoding, never
//! over-served. Several regions in one POST, and several regions granted, are exact too.

use std::path::Path;

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::fixtures::{AuthServer, fixtures};
use crate::{
    clients::ticket_url,
    common::{Tool, data_dir, require},
    crypt4gh::{crypt4gh, keygen},
    exact::{cram_records_in, records_in},
    ground_truth::{Row, rows},
    server::{payload, request},
};

/// The records in a row's payload `out` (CRAM read against the row's reference, if any).
fn count(dir: &Path, row: &Row, out: &Path) -> Result<u64, String> {
    if row.format == htsget_core::Format::Cram {
        let reference = row.reference.as_ref().map(|r| dir.join(r));
        cram_records_in(out, reference.as_deref())
    } else {
        records_in(out, row.format)
    }
}

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
    let (mut exact, mut sealed, mut refused, mut cram) = (0, 0, 0, 0);
    let mut failures = Vec::new();

    for (i, row) in &rows {
        let bearer = format!("Bearer {}", fixtures().token(&format!("row-{i}")));
        let target = ticket_url("", row);
        let reply = request(addr, "GET", &target, &[("Authorization", &bearer)], b"");
        if reply.status == 403 && reply.text().contains("exact delivery is not possible") {
            // Only a CRAM whose reference is not in the data may be refused.
            if row.format == htsget_core::Format::Cram && row.reference.is_none() {
                refused += 1;
            } else {
                failures.push(format!("{target}: refused, yet it can be cut exactly"));
            }
            continue;
        }
        if reply.status != 200 {
            failures.push(format!("{target}: {} {}", reply.status, reply.text()));
            continue;
        }
        let out = tmp.path().join(format!("{i}.{}", row.format.extension()));
        std::fs::write(&out, payload(addr, &reply.json())).unwrap();
        match count(&dir, row, &out) {
            Ok(count) if count == row.count => {
                exact += 1;
                cram += usize::from(row.format == htsget_core::Format::Cram);
            }
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
        match count(&dir, row, &opened) {
            Ok(count) if count == row.count => sealed += 1,
            Ok(count) => {
                failures.push(format!("{target}: {count} records, expected {}", row.count))
            }
            Err(why) => failures.push(format!("{target}: {why}")),
        }
    }
    println!(
        "region grants: {exact} exact payloads ({cram} CRAM), {sealed} exact Crypt4GH payloads, {refused} CRAM refusals (reference not in the data)"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        exact > 150 && sealed == exact && cram >= 13 && refused > 5,
        "{exact} {sealed} {cram} {refused}"
    );
    server.assert_log_clean(&[]);
}

/// Counts `samtools view -c -M FILE REGIONS` (the multi-region iterator: each read once) or
/// `bcftools view -H -r REGIONS FILE`: the oracle for several regions.
fn oracle(dir: &Path, file: &str, regions: &[&str]) -> u64 {
    let path = dir.join(file);
    let path = path.to_str().unwrap();
    let reference = dir.join("ref/ce.fa");
    if file.ends_with(".bam") || file.ends_with(".cram") {
        let mut args = vec!["view", "-c", "-M", "-T", reference.to_str().unwrap(), path];
        args.extend(regions);
        let out = crate::common::run("samtools", &args);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    } else {
        let joined = regions.join(",");
        let out = crate::common::run("bcftools", &["view", "-H", "-r", &joined, path]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).lines().count() as u64
    }
}

/// An endpoint, an id, a format and the regions asked (name, start, end).
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u32, u32)]);

#[test]
fn several_regions_granted_and_asked_are_exact() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    // Grants of several regions: adjacent ones join.
    let rules = r#"
[[access]]
ids = "bam/htsnexus_test_NA12878"
grants = ["https://datasets.example/row-399"]
regions = ["11:4900000-5000000", "11:5000000-5100000", "11:5200000-5300000"]

[[access]]
ids = "cram/range"
grants = ["https://datasets.example/row-399"]
regions = ["CHROMOSOME_I:1000-2000", "CHROMOSOME_I:2000-2600", "CHROMOSOME_III", "CHROMOSOME_II:1000-3000"]

[[access]]
ids = ["vcf/sample1-bcbio-cancer", "bcf/sample1-bcbio-cancer"]
grants = ["https://datasets.example/row-399"]
regions = ["chrM", "chr22"]
"#;
    let server = AuthServer::start_with_rules(&dir, rules, &[]);
    let addr = server.process.addr;
    let bearer = format!("Bearer {}", fixtures().token("row-399"));
    let tmp = tempfile::tempdir().unwrap();

    // Out of order, overlapping, adjacent, and one across two adjacent grants.
    let cases: &[Case] = &[
        (
            "reads",
            "bam/htsnexus_test_NA12878",
            "BAM",
            &[
                ("11", 5_250_000, 5_260_000),
                ("11", 4_990_000, 5_010_000),
                ("11", 5_005_000, 5_030_000),
                ("11", 5_030_000, 5_040_000),
                ("11", 5_000_000, 5_000_100),
            ],
        ),
        (
            "reads",
            "cram/range",
            "CRAM",
            &[
                ("CHROMOSOME_III", 2000, 2500),
                ("CHROMOSOME_I", 1500, 2200),
                ("CHROMOSOME_I", 1000, 1600),
                ("CHROMOSOME_II", 1200, 2900),
                ("CHROMOSOME_I", 2200, 2500),
            ],
        ),
        (
            "variants",
            "vcf/sample1-bcbio-cancer",
            "VCF",
            &[
                ("chrM", 2000, 4000),
                ("chr22", 0, 2000),
                ("chrM", 100, 3000),
                ("chrM", 4000, 5000),
            ],
        ),
        (
            "variants",
            "bcf/sample1-bcbio-cancer",
            "BCF",
            &[
                ("chrM", 2000, 4000),
                ("chr22", 0, 2000),
                ("chrM", 100, 3000),
                ("chrM", 4000, 5000),
            ],
        ),
    ];
    for (i, (endpoint, id, format, regions)) in cases.iter().enumerate() {
        let body = serde_json::json!({
            "format": format,
            "regions": regions.iter().map(|(name, start, end)| {
                serde_json::json!({"referenceName": name, "start": start, "end": end})
            }).collect::<Vec<_>>(),
        });
        let target = format!("/{endpoint}/{id}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        let reply = request(addr, "POST", &target, &headers, body.to_string().as_bytes());
        reply.expect(200, &target);
        let extension = match *format {
            "BAM" => "bam",
            "CRAM" => "cram",
            "VCF" => "vcf.gz",
            _ => "bcf",
        };
        let out = tmp.path().join(format!("{i}.{extension}"));
        std::fs::write(&out, payload(addr, &reply.json())).unwrap();
        let asked: Vec<String> = regions
            .iter()
            .map(|(name, start, end)| format!("{name}:{}-{end}", start + 1))
            .collect();
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        let expected = oracle(&dir, &format!("{id}.{extension}"), &asked);
        let held = match *format {
            "BAM" => records_in(&out, htsget_core::Format::Bam),
            "CRAM" => cram_records_in(&out, Some(&dir.join("ref/ce.fa"))),
            _ => records_in(&out, htsget_core::Format::Vcf),
        };
        assert_eq!(held.unwrap(), expected, "{target}");
        assert!(expected > 0, "{target}: a case that holds records");
    }

    // A region across the gap between two grants is refused.
    let gap = "/reads/bam/htsnexus_test_NA12878?referenceName=11&start=5090000&end=5210000";
    request(addr, "GET", gap, &[("Authorization", &bearer)], b"").expect(403, gap);
}

/// `--reference`: a data root without the CRAM's FASTA refuses a region grant that needs
/// re-encoding (and says why); given the reference folder, the same request is served exactly.
/// A FASTA reached through a symbolic link in the data root is not read.
#[test]
fn the_reference_flag_gives_exact_cram_where_the_data_root_has_no_fasta() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl, Tool::Samtools]) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("cram")).unwrap();
    for file in ["range.cram", "range.cram.crai"] {
        std::fs::copy(
            dir.join("cram").join(file),
            root.path().join("cram").join(file),
        )
        .unwrap();
    }
    // A link to the reference folder: the catalogue does not follow it.
    std::os::unix::fs::symlink(dir.join("ref"), root.path().join("ref")).unwrap();
    let rules = r#"
[[access]]
ids = "cram/range"
grants = ["https://datasets.example/row-399"]
regions = ["CHROMOSOME_I:1000-2000"]
"#;
    let target = "/reads/cram/range?format=CRAM&referenceName=CHROMOSOME_I&start=1000&end=2000";
    let bearer = format!("Bearer {}", fixtures().token("row-399"));
    let headers = [("Authorization", bearer.as_str())];

    let without = AuthServer::start_with_rules(root.path(), rules, &[]);
    let reply = request(without.process.addr, "GET", target, &headers, b"");
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("exact delivery is not possible"));
    drop(without);

    let reference = dir.join("ref");
    let with = AuthServer::start_with_rules(
        root.path(),
        rules,
        &["--reference", reference.to_str().unwrap()],
    );
    let reply = request(with.process.addr, "GET", target, &headers, b"");
    reply.expect(200, target);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.cram");
    std::fs::write(&out, payload(with.process.addr, &reply.json())).unwrap();
    let expected = oracle(&dir, "cram/range.cram", &["CHROMOSOME_I:1001-2000"]);
    assert!(expected > 0);
    let held = cram_records_in(&out, Some(&reference.join("ce.fa"))).unwrap();
    assert_eq!(held, expected);
    // The file holds more than the region: only the region was served.
    let whole = cram_records_in(&dir.join("cram/range.cram"), Some(&reference.join("ce.fa")));
    assert!(whole.unwrap() > held);
}
