//! Exact payloads (what a grant restricted to regions gets): for every ground-truth row of a
//! BAM, VCF.gz or BCF file with a region, the payload `load::exact` plans holds exactly the
//! records samtools or bcftools count for that region: counted over the whole payload, with no
//! region argument, every index of the row.

use std::{fmt::Write as _, path::Path};

use htsget_core::{
    Format,
    facts::Aliases,
    load,
    query::{Query, Region},
    storage::{LocalStorage, Storage},
};

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
