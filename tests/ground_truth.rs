//! Every row of `ground_truth.tsv`, through the core: resolve the region, assemble the
//! payload, check that samtools/bcftools read it without a word, index it, query the row's
//! region, and compare the count.

use std::{fmt::Write as _, path::Path};

use htsget_core::{
    Endpoint, ErrorKind, Format, load,
    query::{Query, Region},
    resolve,
    storage::{LocalStorage, Storage},
};

use crate::common::{Tool, block_on, data_dir, payload, require, run};

/// One row of the table.
pub(crate) struct Row {
    pub(crate) file: String,
    pub(crate) format: Format,
    pub(crate) indexes: Vec<String>,
    pub(crate) reference: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) start: Option<u32>,
    pub(crate) end: Option<u32>,
    pub(crate) count: u64,
    pub(crate) not_in_header: bool,
}

pub(crate) fn rows(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("ground_truth.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, format, indexes, reference, name, start, end, count, note) = (
        col("file"),
        col("format"),
        col("indexes"),
        col("reference"),
        col("ref"),
        col("start"),
        col("end"),
        col("count"),
        col("note"),
    );

    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());

    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Row {
                file: f[file].to_owned(),
                format: f[format].parse().unwrap(),
                indexes: f[indexes].split(',').map(str::to_owned).collect(),
                reference: opt(f[reference]),
                name: opt(f[name]),
                start: opt(f[start]).map(|s| s.parse().unwrap()),
                end: opt(f[end]).map(|s| s.parse().unwrap()),
                count: f[count].parse().unwrap(),
                not_in_header: f[note].contains("REF NOT IN HEADER"),
            }
        })
        .collect()
}

#[test]
fn ground_truth_rows_match_samtools_and_bcftools() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let rows = rows(&dir);
    let storage = LocalStorage::new(&dir);
    let tmp = tempfile::tempdir().unwrap();

    let (mut checked, mut passed) = (0, 0);
    let mut failures = String::new();

    for (i, row) in rows.iter().enumerate() {
        for (k, index) in row.indexes.iter().enumerate() {
            checked += 1;
            let folder = Path::new(&row.file).parent().unwrap();
            let index_key = folder.join(index).to_string_lossy().into_owned();
            let out = tmp
                .path()
                .join(format!("{i}-{k}.{}", row.format.extension()));

            match check(&storage, &dir, row, &index_key, &out) {
                Ok(()) => passed += 1,
                Err(why) => {
                    let _ = writeln!(
                        failures,
                        "{} [{}] {:?}:{:?}-{:?}: {why}",
                        row.file, index, row.name, row.start, row.end
                    );
                }
            }
        }
    }

    println!(
        "ground truth: checked {checked} row/index pairs of {} rows, passed {passed}",
        rows.len()
    );
    assert!(failures.is_empty(), "ground truth failures:\n{failures}");
    assert!(checked > 200, "expected the whole table, checked {checked}");
}

fn check(
    storage: &LocalStorage,
    dir: &Path,
    row: &Row,
    index: &str,
    out: &Path,
) -> Result<(), String> {
    let endpoint = row.format.endpoint();
    let mut query = Query::new(endpoint, row.format);

    if let Some(name) = &row.name {
        let region = Region::new(name.clone(), row.start, row.end).map_err(|e| e.to_string())?;
        query = query.with_region(region);
    }

    let facts = block_on(load::facts(storage, row.format, &row.file, index))
        .map_err(|e| format!("facts: {e}"))?;

    let selection = match resolve(&query, &facts) {
        Err(e) if row.not_in_header && e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("resolve: {e}")),
        Ok(_) if row.not_in_header => return Err("expected NotFound".into()),
        Ok(selection) => selection,
    };

    let object = block_on(storage.open(&row.file)).map_err(|e| format!("open: {e}"))?;
    let plan = block_on(load::inline(&*object, &selection)).map_err(|e| format!("plan: {e}"))?;
    let bytes = payload(storage, &row.file, row.format, &plan);

    // The deferred layout (what the server's tickets use) must give the same bytes.
    let mut deferred = Vec::new();
    block_on(load::write_payload(&*object, &selection, &mut deferred))
        .map_err(|e| format!("deferred payload: {e}"))?;
    if deferred != bytes {
        return Err("deferred and inline layouts give different payloads".into());
    }

    std::fs::write(out, bytes).unwrap();
    let out = out.to_str().unwrap();

    let reference = row
        .reference
        .as_ref()
        .map(|r| dir.join(r).to_string_lossy().into_owned());

    let count = match endpoint {
        Endpoint::Reads => count_reads(out, row, reference.as_deref())?,
        Endpoint::Variants => count_variants(out, row)?,
    };

    if count == row.count {
        Ok(())
    } else {
        Err(format!("count {count}, expected {}", row.count))
    }
}

pub(crate) fn clean(output: std::process::Output, what: &str) -> Result<String, String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || !stderr.trim().is_empty() {
        return Err(format!("{what}: {} {}", output.status, stderr.trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(crate) fn count_reads(out: &str, row: &Row, reference: Option<&str>) -> Result<u64, String> {
    let mut base = vec!["view", "-c"];
    if let Some(reference) = reference {
        base.extend(["-T", reference]);
    }

    // The whole payload must read without a warning.
    let mut whole = base.clone();
    whole.push(out);
    let total: u64 = clean(run("samtools", &whole), "samtools view")?
        .trim()
        .parse()
        .unwrap();

    let Some(name) = &row.name else {
        return Ok(total);
    };

    clean(run("samtools", &["index", "-c", out]), "samtools index")?;

    let region = match (name.as_str(), row.start, row.end) {
        ("*", _, _) => "*".to_owned(),
        (name, None, None) => format!("{{{name}}}"),
        (name, start, end) => format!(
            "{{{name}}}:{}-{}",
            start.map_or(1, |s| u64::from(s) + 1),
            end.map_or(u64::from(u32::MAX), u64::from)
        ),
    };

    let mut args = base;
    args.extend([out, region.as_str()]);
    let output = run("samtools", &args);

    // samtools warns about "*" when the index records no unplaced read; the count stands.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if name == "*" && output.status.success() && stderr.contains("region \"*\" specifies") {
        return Ok(String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap());
    }

    Ok(clean(output, "samtools view region")?
        .trim()
        .parse()
        .unwrap())
}

pub(crate) fn count_variants(out: &str, row: &Row) -> Result<u64, String> {
    let lines = |s: String| s.lines().count() as u64;

    let total = lines(clean(
        run("bcftools", &["view", "-H", out]),
        "bcftools view",
    )?);
    let Some(name) = &row.name else {
        return Ok(total);
    };

    clean(run("bcftools", &["index", out]), "bcftools index")?;

    let region = match (row.start, row.end) {
        (None, None) => name.clone(),
        (start, end) => format!(
            "{name}:{}-{}",
            start.map_or(1, |s| u64::from(s) + 1),
            end.map_or(u64::from(u32::MAX), u64::from)
        ),
    };

    Ok(lines(clean(
        run("bcftools", &["view", "-H", "-r", &region, out]),
        "bcftools view -r",
    )?))
}
