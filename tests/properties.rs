//! Property tests: BAM, VCF.gz and BCF files written with noodles from random parameters, with
//! random BGZF block layouts and indexes built by noodles, cut through the core for random
//! regions. Every payload must decode to the end, end with the BGZF end-of-file block, hold its
//! records once each in file order, and hold every record that overlaps a region, both by the
//! ground truth known from generation and by noodles' own indexed query. The exact payload
//! (`load::exact`, what a region grant gets) must hold those records and no other.
//!
//! Strategies generate parameters only; files are built from them deterministically, so a
//! failing case shrinks to a small file.

mod blocks;
pub(crate) mod generate;
mod indexes;
mod reads;
mod regions;
mod variants;

use std::collections::BTreeSet;

use htsget_core::{
    Format, load,
    query::{Query, Region},
    resolve,
    storage::{LocalStorage, Storage},
};
use proptest::prelude::*;

use crate::common::block_on;
use blocks::{BlockLayout, Blocked, block_layout};
use indexes::{Extent, bai, csi, csi_depth, max_position, read_index};
pub(crate) use regions::{RegionSpec, Window, region_spec};
use regions::{coordinate, query_spec};

/// The configuration of every property: 24 cases, as each writes files, unless
/// `PROPTEST_CASES` says otherwise; a failure shrinks for long, and its seed is saved beside
/// the test's source (`*.proptest-regressions`).
pub(crate) fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        24
    };

    ProptestConfig {
        cases,
        max_shrink_iters: 4_096,
        ..default
    }
}

/// The BGZF end-of-file block every payload ends with.
const BGZF_EOF: &[u8] = &htsget_core::BGZF_EOF;

/// The payload the core serves for `regions` of `data` through `index`.
pub(crate) fn cut(
    storage: &LocalStorage,
    format: Format,
    data: &str,
    index: &str,
    regions: Vec<Region>,
    exact: bool,
) -> Result<Vec<u8>, String> {
    let facts =
        block_on(load::facts(storage, format, data, index)).map_err(|e| format!("facts: {e}"))?;
    let query = Query::new(format.endpoint(), format).with_regions(regions);
    let object = block_on(storage.open(data)).map_err(|e| format!("open: {e}"))?;
    let selection = if exact {
        block_on(load::exact(
            &*object,
            &facts,
            &query,
            &htsget_core::facts::Aliases::none(),
        ))
        .map_err(|e| format!("exact: {e}"))?
        .ok_or("no exact plan for a BGZF file")?
    } else {
        resolve(&query, &facts).map_err(|e| format!("resolve: {e}"))?
    };
    let plan = block_on(load::inline(&*object, &selection)).map_err(|e| format!("plan: {e}"))?;

    let mut payload = Vec::new();
    block_on(load::write_payload(&*object, &plan, &mut payload))
        .map_err(|e| format!("payload: {e}"))?;

    if payload.ends_with(BGZF_EOF) {
        Ok(payload)
    } else {
        Err("payload does not end with the BGZF end-of-file block".into())
    }
}

/// Checks the records of a payload (their indexes in the file, in payload order) against the
/// records the regions overlap by generation (`truth`) and by noodles' indexed query.
pub(crate) fn check_records(
    payload: &[usize],
    truth: &BTreeSet<usize>,
    noodles: &BTreeSet<usize>,
    exact: bool,
) -> Result<(), String> {
    if truth != noodles {
        return Err(format!(
            "the test's ground truth and noodles disagree: truth {truth:?}, noodles {noodles:?}"
        ));
    }

    if let Some(pair) = payload.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "payload records out of file order or repeated: record {} then {}",
            pair[0], pair[1]
        ));
    }

    let held: BTreeSet<usize> = payload.iter().copied().collect();
    let missing: Vec<usize> = truth.difference(&held).copied().collect();
    let extra: Vec<usize> = held.difference(truth).copied().collect();
    if exact && !extra.is_empty() {
        return Err(format!(
            "records outside the regions in the exact payload: {extra:?}"
        ));
    }

    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("records missing from the payload: {missing:?}"))
    }
}

/// The index of a record from its name or ID, `{prefix}{n}`.
pub(crate) fn ordinal(name: &str, prefix: char) -> Result<usize, String> {
    name.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unexpected record name {name:?}"))
}

/// Bases for a sequence of `len`, varied by `seed`.
pub(crate) fn bases(len: usize, seed: usize) -> Vec<u8> {
    b"ACGT"
        .iter()
        .cycle()
        .skip(seed % 4)
        .take(len)
        .copied()
        .collect()
}
