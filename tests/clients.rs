//! Real clients against the in-process server: samtools and bcftools given htsget URLs for every
//! ground-truth row, and the python `htsget` client (PyPI htsget 0.2.6) for BAM and VCF regions.

use std::{fmt::Write as _, net::SocketAddr, path::Path};

use htsget_core::Format;

use crate::{
    common::{Tool, data_dir, require, run_with},
    ground_truth::{Row, clean, count_reads, count_variants, rows},
    server::{TestServer, get},
};

/// The ticket URL for a row, with the region in its query string, as users write it.
pub(crate) fn ticket_url(base: &str, row: &Row) -> String {
    let id = row
        .file
        .strip_suffix(&format!(".{}", row.format.extension()))
        .unwrap();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("format", row.format.as_str());
    if let Some(name) = &row.name {
        query.append_pair("referenceName", name);
    }
    if let Some(start) = row.start {
        query.append_pair("start", &start.to_string());
    }
    if let Some(end) = row.end {
        query.append_pair("end", &end.to_string());
    }
    format!("{base}/{}/{id}?{}", row.format.endpoint(), query.finish())
}

#[test]
fn ground_truth_rows_through_samtools_and_bcftools_urls() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let server = TestServer::shared(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let rows = rows(&dir);
    let (mut passed, mut failures) = (0, String::new());

    for (i, row) in rows.iter().enumerate() {
        let url = ticket_url(&server.url, row);
        match check_row(
            server.addr,
            &dir,
            row,
            &url,
            &[],
            &tmp.path().join(i.to_string()),
        ) {
            Ok(()) => passed += 1,
            Err(why) => {
                let _ = writeln!(failures, "{url}: {why}");
            }
        }
    }

    println!(
        "htsget URLs: {passed} of {} ground-truth rows right through samtools/bcftools",
        rows.len()
    );
    assert!(failures.is_empty(), "failures:\n{failures}");
}

/// Checks one ground-truth row through its htsget `url` with samtools or bcftools (run with
/// `env` added); rows whose reference is not in the header must answer 404 from `addr`.
pub(crate) fn check_row(
    addr: SocketAddr,
    dir: &Path,
    row: &Row,
    url: &str,
    env: &[(&str, &str)],
    out: &Path,
) -> Result<(), String> {
    if row.not_in_header {
        let path = url.splitn(4, '/').nth(3).unwrap_or_default();
        let reply = get(addr, &format!("/{path}"));
        return if reply.status == 404 && reply.error_name() == "NotFound" {
            Ok(())
        } else {
            Err(format!("expected 404 NotFound, got {}", reply.status))
        };
    }

    let count = match row.format {
        Format::Bam | Format::Cram => {
            let out = out.with_extension("bam");
            let out = out.to_str().unwrap();
            let mut args = vec!["view", "-b", "-o", out];
            let reference = row
                .reference
                .as_ref()
                .map(|r| dir.join(r).to_string_lossy().into_owned());
            if let Some(reference) = &reference {
                args.extend(["-T", reference.as_str()]);
            }
            args.push(url);
            clean(run_with("samtools", &args, env), "samtools view URL")?;
            count_reads(out, row, None)?
        }
        Format::Vcf | Format::Bcf => {
            let (extension, kind) = if row.format == Format::Vcf {
                ("vcf.gz", "z")
            } else {
                ("bcf", "b")
            };
            let out = out.with_extension(extension);
            let out = out.to_str().unwrap();
            clean(
                run_with("bcftools", &["view", "-O", kind, "-o", out, url], env),
                "bcftools view URL",
            )?;
            count_variants(out, row)?
        }
    };

    if count == row.count {
        Ok(())
    } else {
        Err(format!("count {count}, expected {}", row.count))
    }
}

#[test]
fn python_htsget_client_downloads_regions() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Htsget]) {
        return;
    }
    let server = TestServer::shared(&dir);
    let checked = python_client_rows(&server.url, &dir, &[], &[]);
    println!("python htsget client: {checked} BAM/VCF regions right");
    assert!(checked >= 20, "too few rows checked: {checked}");
}

/// Downloads the BAM and VCF regions of the ground truth with the python `htsget` client from
/// the server at `base` (with `flags` and `env` added), asserting each count; the number of
/// rows checked.
pub(crate) fn python_client_rows(
    base: &str,
    dir: &Path,
    flags: &[&str],
    env: &[(&str, &str)],
) -> usize {
    let tmp = tempfile::tempdir().unwrap();

    let wanted = |row: &Row| {
        matches!(row.format, Format::Bam | Format::Vcf)
            && !row.not_in_header
            && row.name.as_deref() != Some("*")
            && (row.file.contains("htsnexus")
                || row.file.contains("sample1")
                || row.file.contains("index_level0"))
    };
    let rows: Vec<Row> = rows(dir).into_iter().filter(wanted).collect();
    let mut checked = 0;

    for (i, row) in rows.iter().enumerate() {
        let id = row
            .file
            .strip_suffix(&format!(".{}", row.format.extension()))
            .unwrap();
        let url = format!("{base}/{}/{id}", row.format.endpoint());
        let out = tmp.path().join(format!("{i}.{}", row.format.extension()));
        let out = out.to_str().unwrap();

        let mut args = vec![
            url.clone(),
            "-f".into(),
            row.format.as_str().into(),
            "-O".into(),
            out.into(),
        ];
        if let Some(name) = &row.name {
            args.extend(["-r".into(), name.clone()]);
        }
        if let Some(start) = row.start {
            args.extend(["-s".into(), start.to_string()]);
        }
        if let Some(end) = row.end {
            args.extend(["-e".into(), end.to_string()]);
        }
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(flags);
        let output = run_with("htsget", &args, env);
        assert!(
            output.status.success(),
            "htsget {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        let count = match row.format {
            Format::Bam => count_reads(out, row, None),
            _ => count_variants(out, row),
        }
        .unwrap_or_else(|e| panic!("htsget {args:?}: {e}"));
        assert_eq!(count, row.count, "htsget {args:?}");
        checked += 1;
    }

    checked
}
