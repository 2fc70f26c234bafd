//! Exact payloads (what a grant restricted to regions gets): for every ground-truth row of a
//! BAM, VCF.gz or BCF file with a region, the payload `load::exact` plans holds exactly the
//! records samtools or bcftools count for that region: counted over the whole payload, with no
//! region argument, every index of the row.

use std::{fmt::Write as _, path::Path};

use htsget_core::{
    Content, Format, Section,
    facts::Aliases,
    load,
    query::{Query, Region},
    storage::{LocalStorage, Storage},
};

use htsget_server::references::Catalogue;

use crate::{
    common::{Tool, block_on, data_dir, require, run},
    ground_truth::{Row, clean, rows},
};

/// Whether `row` asks for a region of a BGZF file that its header names.
pub(crate) fn exact_row(row: &Row) -> bool {
    row.format != Format::Cram
        && !row.not_in_header
        && row.name.as_deref().is_some_and(|n| n != "*")
}

/// The records in the payload file `out`: `samtools view -c` or `bcftools view -H`, which must
/// read it without a warning.
pub(crate) fn records_in(out: &Path, format: Format) -> Result<u64, String> {
    let out = out.to_str().unwrap();
    match format {
        Format::Bam | Format::Cram => Ok(clean(
            run("samtools", &["view", "-c", out]),
            "samtools view",
        )?
        .trim()
        .parse()
        .unwrap()),
        _ => Ok(
            clean(run("bcftools", &["view", "-H", out]), "bcftools view")?
                .lines()
                .count() as u64,
        ),
    }
}

#[test]
fn exact_payloads_hold_exactly_the_records_of_every_ground_truth_region() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let storage = LocalStorage::new(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let (mut checked, mut failures) = (0, String::new());
    // Rows whose index-cut payload (what an unrestricted grant gets) holds more records: the
    // check below tells the two apart.
    let mut wider = 0;
    for (i, row) in rows(&dir)
        .iter()
        .enumerate()
        .filter(|(_, row)| exact_row(row))
    {
        for (k, index) in row.indexes.iter().enumerate() {
            let folder = Path::new(&row.file).parent().unwrap();
            let index = folder.join(index).to_string_lossy().into_owned();
            let region = Region::new(row.name.clone().unwrap(), row.start, row.end).unwrap();
            let query = Query::new(row.format.endpoint(), row.format).with_region(region);
            let facts = block_on(load::facts(&storage, row.format, &row.file, &index)).unwrap();
            let object = block_on(storage.open(&row.file)).unwrap();
            let plan = block_on(load::exact(&*object, &facts, &query, &Aliases::none()))
                .unwrap()
                .expect("BGZF formats are cut exactly");
            let mut bytes = Vec::new();
            block_on(load::write_payload(&*object, &plan, &mut bytes)).unwrap();
            let cut = htsget_core::resolve(&query, &facts).unwrap();
            let mut cut_bytes = Vec::new();
            block_on(load::write_payload(&*object, &cut, &mut cut_bytes)).unwrap();
            let cut_out = tmp
                .path()
                .join(format!("cut-{i}-{k}.{}", row.format.extension()));
            std::fs::write(&cut_out, cut_bytes).unwrap();
            if records_in(&cut_out, row.format).is_ok_and(|count| count > row.count) {
                wider += 1;
            }
            let out = tmp
                .path()
                .join(format!("{i}-{k}.{}", row.format.extension()));
            std::fs::write(&out, bytes).unwrap();
            checked += 1;
            match records_in(&out, row.format) {
                Ok(count) if count == row.count => {}
                Ok(count) => {
                    let _ = writeln!(
                        failures,
                        "{} [{index}] {:?}:{:?}-{:?}: {count} records, expected {}",
                        row.file, row.name, row.start, row.end, row.count
                    );
                }
                Err(why) => {
                    let _ = writeln!(
                        failures,
                        "{} [{index}] {:?}:{:?}-{:?}: {why}",
                        row.file, row.name, row.start, row.end
                    );
                }
            }
        }
    }
    println!(
        "exact payloads: {checked} row/index pairs checked; the index cut holds more records in {wider}"
    );
    assert!(failures.is_empty(), "{failures}");
    assert!(
        checked > 150,
        "expected most of the table, checked {checked}"
    );
}

/// The records in the CRAM payload `out`, read against `reference` where given (without a
/// warning).
pub(crate) fn cram_records_in(out: &Path, reference: Option<&Path>) -> Result<u64, String> {
    let mut args = vec!["view", "-c"];
    if let Some(reference) = reference {
        args.extend(["-T", reference.to_str().unwrap()]);
    }
    args.push(out.to_str().unwrap());
    Ok(clean(run("samtools", &args), "samtools view")?
        .trim()
        .parse()
        .unwrap())
}

/// CRAM, cut exactly with the data folder's FASTA files as the reference catalogue: a row whose
/// file's reference is in the data gets exactly the region's records (containers inside the
/// region whole, the others' overlapping records re-encoded); a row of a file whose reference
/// is not there gets the payload only where no container needs re-encoding, else `None` (the
/// server's 403), and never a payload with other records.
#[test]
fn exact_cram_payloads_hold_exactly_the_records_of_their_region_or_none() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Samtools]) {
        return;
    }
    let storage = LocalStorage::new(&dir);
    let catalogue = Catalogue::new(vec![dir.clone()], 1 << 30);
    let nothing = Catalogue::new(Vec::new(), 1 << 20);
    let tmp = tempfile::tempdir().unwrap();
    let (mut exact, mut recoded, mut refused, mut failures) = (0, 0, 0, String::new());
    let mut refused_without_references = 0;
    for (i, row) in rows(&dir)
        .iter()
        .enumerate()
        .filter(|(_, row)| row.format == Format::Cram && !row.not_in_header && row.name.is_some())
    {
        let index = Path::new(&row.file)
            .parent()
            .unwrap()
            .join(&row.indexes[0])
            .to_string_lossy()
            .into_owned();
        let region = Region::new(row.name.clone().unwrap(), row.start, row.end).unwrap();
        let query = Query::new(row.format.endpoint(), row.format).with_region(region);
        let facts = block_on(load::facts(&storage, row.format, &row.file, &index)).unwrap();
        let object = block_on(storage.open(&row.file)).unwrap();
        let aliases = Aliases::none();
        let what = format!("{} {:?}:{:?}-{:?}", row.file, row.name, row.start, row.end);
        let cut = |references: &Catalogue| {
            block_on(load::exact_with(
                &*object,
                &facts,
                &query,
                &aliases,
                Some(references),
            ))
            .unwrap()
        };
        let without_references = cut(&nothing);
        if without_references.is_none() {
            refused_without_references += 1;
        }
        let Some(plan) = cut(&catalogue) else {
            if row.reference.is_some() {
                let _ = writeln!(
                    failures,
                    "{what}: refused, yet its reference is in the data"
                );
            }
            refused += 1;
            continue;
        };
        // Inline body parts before the end-of-file marker: re-encoded containers.
        let parts = plan.parts();
        if parts[..parts.len() - 1].iter().any(|part| {
            part.section() == Section::Body && matches!(part.content(), Content::Inline(_))
        }) {
            recoded += 1;
            if without_references.is_some() {
                let _ = writeln!(failures, "{what}: re-encoded without reference sequences");
            }
        }
        let mut bytes = Vec::new();
        block_on(load::write_payload(&*object, &plan, &mut bytes)).unwrap();
        let out = tmp.path().join(format!("{i}.cram"));
        std::fs::write(&out, bytes).unwrap();
        let reference = row.reference.as_ref().map(|r| dir.join(r));
        match cram_records_in(&out, reference.as_deref()) {
            Ok(count) if count == row.count => {
                exact += 1;
                // Re-encoded records are the same records: the mandatory fields samtools
                // prints for the payload and for the region of the file agree.
                if let Some(reference) = &reference {
                    let region = match (row.start, row.end) {
                        (start, Some(end)) => format!(
                            "{{{}}}:{}-{end}",
                            row.name.as_deref().unwrap(),
                            start.unwrap_or(0) + 1
                        ),
                        _ => format!("{{{}}}", row.name.as_deref().unwrap()),
                    };
                    let file = dir.join(&row.file);
                    let mine = fields(&[&out, reference], None);
                    let theirs = fields(&[&file, reference], Some(&region));
                    if mine != theirs {
                        let _ = writeln!(failures, "{what}: records differ from samtools' own");
                    }
                }
            }
            Ok(count) => {
                let _ = writeln!(failures, "{what}: {count} records, expected {}", row.count);
            }
            Err(why) => {
                let _ = writeln!(failures, "{what}: {why}");
            }
        }
    }
    println!(
        "exact CRAM: {exact} rows exact ({recoded} with re-encoded containers), {refused} refused \
         (reference not in the data); {refused_without_references} refused with no references"
    );
    assert!(failures.is_empty(), "{failures}");
    assert!(recoded >= 5, "too few rows needed re-encoding: {recoded}");
    assert!(refused_without_references >= recoded + refused);
}

/// The first eleven fields of each record `samtools view -T REFERENCE FILE [REGION]` prints.
fn fields(paths: &[&Path; 2], region: Option<&str>) -> Vec<String> {
    let [file, reference] = paths;
    let mut args = vec![
        "view",
        "-T",
        reference.to_str().unwrap(),
        file.to_str().unwrap(),
    ];
    args.extend(region);
    let output = run("samtools", &args);
    assert!(output.status.success(), "samtools view {args:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').take(11).collect::<Vec<_>>().join("\t"))
        .collect()
}
