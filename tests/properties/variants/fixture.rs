//! The fixture: a variant file and its index on disk, and the checks of a payload against the
//! file, the ground truth known from generation and noodles' own indexed query.

use std::{collections::BTreeSet, fs::File};

use htsget_core::storage::LocalStorage;
use noodles::{
    csi::BinningIndex,
    vcf::{self, variant::RecordBuf},
};
use tempfile::TempDir;

use super::{flavour::Flavour, spec::VariantsSpec};
use crate::properties::{
    Extent, RegionSpec, Window, check_records, cut, max_position, ordinal, read_index,
};

/// A variant file and its index on disk, with what the test knows about them.
pub(super) struct VariantsFixture {
    flavour: Flavour,
    dir: TempDir,
    names: Vec<String>,
    lengths: Vec<u32>,
    /// Where each record lies, by its place in the file.
    placed: Vec<(usize, u32, u32)>,
    /// The header and records as noodles reads them back from the file.
    header: vcf::Header,
    records: Vec<RecordBuf>,
}

impl VariantsFixture {
    pub(super) fn new(flavour: Flavour, spec: &VariantsSpec) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let records = spec.records();

        let chunks = flavour.write(dir.path(), &spec.header(), &records, &spec.layout);
        let extents: Vec<Extent> = records
            .iter()
            .zip(chunks)
            .map(|(placed, chunk)| Extent {
                reference: Some(placed.contig),
                start: placed.start,
                end: placed.end,
                mapped: true,
                chunk,
            })
            .collect();
        flavour.build_index(dir.path(), spec, &extents);

        let file = File::open(dir.path().join(flavour.data())).expect("data file");
        let (header, read_back) = flavour.read_all(file).expect("data file read back");
        assert_eq!(read_back.len(), records.len(), "records read back");

        Self {
            flavour,
            names: spec.names(),
            lengths: spec.lengths.clone(),
            placed: records
                .iter()
                .map(|placed| (placed.contig, placed.start, placed.end))
                .collect(),
            header,
            records: read_back,
            dir,
        }
    }

    /// Cuts the regions of `query` and checks the payload.
    pub(super) fn check(&self, query: &[RegionSpec]) -> Result<(), String> {
        let windows: Vec<Window> = query
            .iter()
            .map(|spec| Window::new(spec, &self.lengths))
            .collect();
        let regions: Vec<_> = windows.iter().map(|w| w.region(&self.names)).collect();
        let storage = LocalStorage::new(self.dir.path());
        let (format, data, index) = (
            self.flavour.format(),
            self.flavour.data(),
            self.flavour.index(),
        );
        let truth = self.truth(&windows);
        for exact in [false, true] {
            let context = |e: String| format!("{index}, exact {exact}, regions {windows:?}: {e}");
            let payload =
                cut(&storage, format, data, index, regions.clone(), exact).map_err(context)?;
            let held = self.decode(&payload).map_err(context)?;
            let found = self.noodles_query(&windows).map_err(context)?;
            check_records(&held, &truth, &found, exact).map_err(context)?;
        }
        Ok(())
    }

    fn truth(&self, windows: &[Window]) -> BTreeSet<usize> {
        (0..self.placed.len())
            .filter(|&i| {
                let (contig, start, end) = self.placed[i];
                windows.iter().any(|w| w.holds(Some(contig), start, end))
            })
            .collect()
    }

    /// Reads the payload to its end; returns its records' places in the file.
    fn decode(&self, payload: &[u8]) -> Result<Vec<usize>, String> {
        let (header, records) = self
            .flavour
            .read_all(payload)
            .map_err(|e| format!("payload does not decode: {e}"))?;

        if header != self.header {
            return Err("the payload's header differs from the file's".into());
        }

        records
            .iter()
            .map(|record| {
                let id = record.ids().as_ref().first().cloned().unwrap_or_default();
                let n = ordinal(&id, 'v')?;

                if self.records.get(n) == Some(record) {
                    Ok(n)
                } else {
                    Err(format!("payload record {id} differs from the file's"))
                }
            })
            .collect()
    }

    /// The records noodles' own indexed query finds for the windows.
    fn noodles_query(&self, windows: &[Window]) -> Result<BTreeSet<usize>, String> {
        let index = read_index(&self.dir.path().join(self.flavour.index()))?;
        let max = max_position(index.min_shift(), index.depth());
        let data = self.dir.path().join(self.flavour.data());
        let mut found = BTreeSet::new();

        for window in windows {
            // A tabix index names only contigs with records; noodles cannot query the others.
            let contig = window.reference().expect("variant regions name a contig");
            if !self.placed.iter().any(|&(c, ..)| c == contig) {
                continue;
            }

            let Some(region) = window.noodles_region(&self.names, max) else {
                continue;
            };

            let ids = self
                .flavour
                .query(&data, &index, &region)
                .map_err(|e| format!("noodles query {region}: {e}"))?;

            for id in ids {
                found.insert(ordinal(&id, 'v')?);
            }
        }

        Ok(found)
    }
}
