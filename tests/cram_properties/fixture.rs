//! The fixture: a generated reference, CRAM file and CRAI on disk, and the checks of a payload
//! against the file, the ground truth known from generation and noodles' own indexed query.

use std::{collections::BTreeSet, io, path::PathBuf};

use htsget_core::{
    CRAM_EOF, Format,
    facts::Aliases,
    load,
    query::{Query, Region},
    resolve,
    storage::{LocalStorage, Storage},
};
use htsget_server::references::Catalogue;
use noodles::{
    cram::{self, crai},
    fasta,
    sam::{self, alignment::RecordBuf},
};
use tempfile::TempDir;

use super::{
    DATA, INDEX, REFERENCE,
    files::{build_index, repository, write_cram, write_fasta},
    spec::{CramSpec, Target},
};
use crate::{
    common::{self, block_on},
    properties::{
        RegionSpec, Window,
        generate::{Site, read_name, sites},
        ordinal,
    },
};

/// What the tests compare records by: name, flags, reference id, position.
type Key = (String, u16, Option<usize>, Option<usize>);

fn key(record: &RecordBuf) -> Key {
    (
        read_name(record.name()),
        record.flags().bits(),
        record.reference_sequence_id(),
        record.alignment_start().map(usize::from),
    )
}

/// A reference, a CRAM file and its index on disk, with what the test knows about them.
pub(super) struct CramFixture {
    dir: TempDir,
    names: Vec<String>,
    lengths: Vec<u32>,
    repository: fasta::Repository,
    /// Where each record lies, by its place in the file.
    placed: Vec<Site>,
    /// The header and records as noodles reads them back from the whole file.
    header: sam::Header,
    records: Vec<RecordBuf>,
    /// The number of records in each container.
    pub(super) sizes: Vec<usize>,
}

impl CramFixture {
    pub(super) fn new(spec: &CramSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let names = spec.reads.names();
        let references = spec.references();
        let header = spec.reads.header();
        let records = spec.records(&references);
        let sizes = spec.container_sizes(records.len());

        write_fasta(&dir.path().join(REFERENCE), &names, &references).expect("FASTA written");
        let repository = repository(&names, &references);

        let data = dir.path().join(DATA);
        write_cram(&data, &header, &records, &sizes, &repository).expect("CRAM written");
        let index = build_index(&data, &records).expect("CRAM indexed");
        crai::fs::write(dir.path().join(INDEX), &index).expect("CRAI written");

        let (header, read_back) =
            decode(&std::fs::read(&data).expect("CRAM read"), &repository).expect("CRAM decoded");
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            names,
            lengths: spec.reads.lengths.clone(),
            repository,
            placed: sites(&records),
            header,
            records: read_back,
            sizes,
            dir,
        }
    }

    pub(super) fn path(&self, key: &str) -> PathBuf {
        self.dir.path().join(key)
    }

    pub(super) fn windows(&self, query: &[Target]) -> Vec<Window> {
        query
            .iter()
            .map(|target| Window::new(&self.region_spec(target), &self.lengths))
            .collect()
    }

    /// The region `target` names in this file.
    fn region_spec(&self, target: &Target) -> RegionSpec {
        match *target {
            Target::Any(ref spec) => spec.clone(),
            Target::NearContainer {
                container,
                at_end,
                shift,
                len,
            } => {
                let Some(n) = container.checked_rem(self.sizes.len()) else {
                    return RegionSpec::Unplaced;
                };
                let first: usize = self.sizes[..n].iter().sum();
                let held = &self.placed[first..first + self.sizes[n]];
                let edge = if at_end {
                    held.last().and_then(|&(last, ..)| {
                        let ends = held.iter().filter(|&&(r, ..)| r == last);
                        Some((last?, ends.map(|&(.., end)| end).max()?))
                    })
                } else {
                    held.first()
                        .and_then(|&(reference, start, _)| Some((reference?, start)))
                };
                let Some((reference, edge)) = edge else {
                    return RegionSpec::Unplaced;
                };
                RegionSpec::Bounded {
                    reference,
                    start: edge.saturating_add_signed(shift.into()),
                    len: len.into(),
                }
            }
        }
    }

    /// The payload the core serves for `windows`, as a client assembles it from the ticket.
    pub(super) fn payload(&self, windows: &[Window]) -> Result<Vec<u8>, String> {
        let storage = LocalStorage::new(self.dir.path());
        let regions: Vec<Region> = windows.iter().map(|w| w.region(&self.names)).collect();

        let facts = block_on(load::facts(&storage, Format::Cram, DATA, INDEX))
            .map_err(|e| format!("facts: {e}"))?;
        let query = Query::new(Format::Cram.endpoint(), Format::Cram).with_regions(regions);
        let selection = resolve(&query, &facts).map_err(|e| format!("resolve: {e}"))?;
        let object = block_on(storage.open(DATA)).map_err(|e| format!("open: {e}"))?;
        let plan =
            block_on(load::inline(&*object, &selection)).map_err(|e| format!("plan: {e}"))?;

        let payload = common::payload(&storage, DATA, Format::Cram, &plan);

        if payload.ends_with(&CRAM_EOF) {
            Ok(payload)
        } else {
            Err("payload does not end with the CRAM end-of-file container".into())
        }
    }

    /// The exact payload (what a grant restricted to the windows gets), re-encoded against the
    /// fixture's reference found by its `M5` in the fixture's folder.
    pub(super) fn exact_payload(&self, windows: &[Window]) -> Result<Vec<u8>, String> {
        let storage = LocalStorage::new(self.dir.path());
        let regions: Vec<Region> = windows.iter().map(|w| w.region(&self.names)).collect();
        let facts = block_on(load::facts(&storage, Format::Cram, DATA, INDEX))
            .map_err(|e| format!("facts: {e}"))?;
        let query = Query::new(Format::Cram.endpoint(), Format::Cram).with_regions(regions);
        let object = block_on(storage.open(DATA)).map_err(|e| format!("open: {e}"))?;
        let references = Catalogue::new(vec![self.dir.path().to_path_buf()], 1 << 28);
        let plan = block_on(load::exact_with(
            &*object,
            &facts,
            &query,
            &Aliases::none(),
            Some(&references),
        ))
        .map_err(|e| format!("exact: {e}"))?
        .ok_or("no exact plan, yet the reference is at hand")?;
        let payload = common::payload(&storage, DATA, Format::Cram, &plan);
        if payload.ends_with(&CRAM_EOF) {
            Ok(payload)
        } else {
            Err("payload does not end with the CRAM end-of-file container".into())
        }
    }

    /// Cuts the regions of `query` exactly and checks that the payload holds every record
    /// overlapping them, as the file holds it, and no other.
    pub(super) fn check_exact(&self, query: &[Target]) -> Result<(), String> {
        let windows = self.windows(query);
        let context = |e: String| {
            format!(
                "exact, regions {windows:?} ({} containers, {} records): {e}",
                self.sizes.len(),
                self.records.len()
            )
        };
        let payload = self.exact_payload(&windows).map_err(context)?;
        let held = self.held(&payload).map_err(context)?;
        let truth = self.truth(&windows);
        if held == truth {
            return Ok(());
        }
        let names = |keys: std::collections::btree_set::Difference<'_, Key>| -> Vec<String> {
            keys.map(|key| key.0.clone()).collect()
        };
        Err(context(format!(
            "missing {:?}, not overlapping {:?}",
            names(truth.difference(&held)),
            names(held.difference(&truth))
        )))
    }

    /// Cuts the regions of `query` and checks the payload.
    pub(super) fn check(&self, query: &[Target]) -> Result<(), String> {
        let windows = self.windows(query);
        let context = |e: String| {
            format!(
                "regions {windows:?} ({} containers, {} records): {e}",
                self.sizes.len(),
                self.records.len()
            )
        };

        let payload = self.payload(&windows).map_err(context)?;
        let held = self.held(&payload).map_err(context)?;
        let truth = self.truth(&windows);
        let found = self.noodles_query(&windows).map_err(context)?;

        let missing = |expected: &BTreeSet<Key>| -> Vec<String> {
            expected
                .difference(&held)
                .map(|key| key.0.clone())
                .collect()
        };

        let by_truth = missing(&truth);
        let by_noodles = missing(&found);

        if by_truth.is_empty() && by_noodles.is_empty() {
            Ok(())
        } else {
            Err(context(format!(
                "records missing from the payload: by generation {by_truth:?}, \
                 by noodles' query {by_noodles:?}"
            )))
        }
    }

    /// The keys of the payload's records, each checked against the file's record of its name
    /// and held at most once.
    pub(super) fn held(&self, payload: &[u8]) -> Result<BTreeSet<Key>, String> {
        let (header, records) = decode(payload, &self.repository)?;

        if header != self.header {
            return Err("the payload's header differs from the file's".into());
        }

        let mut held = BTreeSet::new();

        for record in records {
            let key = key(&record);
            let n = ordinal(&key.0, 'r')?;

            if self.records.get(n) != Some(&record) {
                return Err(format!("payload record {} differs from the file's", key.0));
            }
            if !held.insert(key.clone()) {
                return Err(format!("payload record {} repeated", key.0));
            }
        }

        Ok(held)
    }

    /// The records that overlap the windows by generation.
    fn truth(&self, windows: &[Window]) -> BTreeSet<Key> {
        self.placed
            .iter()
            .zip(&self.records)
            .filter(|&(&(reference, start, end), _)| {
                windows.iter().any(|w| w.holds(reference, start, end))
            })
            .map(|(_, record)| key(record))
            .collect()
    }

    /// The records noodles' own indexed query finds for the windows; for `*`, the unmapped
    /// query's unplaced records.
    fn noodles_query(&self, windows: &[Window]) -> Result<BTreeSet<Key>, String> {
        let index = crai::fs::read(self.path(INDEX)).map_err(|e| format!("CRAI: {e}"))?;
        let mut found = BTreeSet::new();

        for window in windows {
            let mut reader = cram::io::reader::Builder::default()
                .set_reference_sequence_repository(self.repository.clone())
                .build_from_path(self.path(DATA))
                .map_err(|e| e.to_string())?;
            let header = reader.read_header().map_err(|e| e.to_string())?;
            let failed = |e: io::Error| format!("noodles query {window:?}: {e}");

            if window.reference().is_none() {
                // noodles' unmapped query reads past the end of a file with no slice of
                // unplaced records ("failed to fill whole buffer": seen without containers,
                // and with one container of placed reads); such a file has none to find.
                if !index.iter().any(|r| r.reference_sequence_id().is_none()) {
                    continue;
                }
                for result in reader.query_unmapped(&header, &index).map_err(failed)? {
                    let record = result.map_err(failed)?;
                    if record.reference_sequence_id().is_none() {
                        found.insert(key(&record));
                    }
                }
            } else if let Some(region) = window.noodles_region(&self.names, u32::MAX as usize) {
                let query = reader.query(&header, &index, &region).map_err(failed)?;
                for result in query.records() {
                    found.insert(key(&result.map_err(failed)?));
                }
            }
        }

        Ok(found)
    }
}

/// Decodes a whole CRAM stream: its header, then every record.
fn decode(
    bytes: &[u8],
    repository: &fasta::Repository,
) -> Result<(sam::Header, Vec<RecordBuf>), String> {
    let mut reader = cram::io::reader::Builder::default()
        .set_reference_sequence_repository(repository.clone())
        .build_from_reader(bytes);
    let header = reader.read_header().map_err(|e| format!("header: {e}"))?;

    let records = reader
        .records(&header)
        .enumerate()
        .map(|(i, result)| result.map_err(|e| format!("record #{i}: {e}")))
        .collect::<Result<_, _>>()?;

    Ok((header, records))
}
