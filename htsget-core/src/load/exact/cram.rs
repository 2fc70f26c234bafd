//! Exact CRAM payloads: containers are cut whole, so a container whose slices all lie inside
//! the regions (by the CRAI's spans) is served as bytes, and every other selected container is
//! decoded, its records overlapping a region kept and re-encoded as new containers (noodles'
//! CRAM writer) against the reference sequences the header names by `M5`.
//!
//! Re-encoding needs the bases of each touched reference: where the caller's
//! [`ReferenceSequences`] cannot give them, the payload cannot be cut and `Ok(None)` says so.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::{self, Cursor},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
};

use noodles::{
    cram::{self, crai},
    fasta,
    sam::{
        self,
        alignment::{RecordBuf, io::Write as _},
        header::record::value::map::reference_sequence::tag::MD5_CHECKSUM,
    },
};

use super::super::{invalid, io_error};
use crate::{ByteRange, CRAM_EOF, Content, Error, Plan, Reason, Section, Span, facts::CramFacts};

/// The largest container decoded (a larger one is a malformed or hostile file).
const MAX_CONTAINER: u64 = 64 << 20;

/// The most container bytes decoded at once: a longer run of containers to cut is cut in
/// several runs.
const MAX_RUN: u64 = 32 << 20;

/// The most container bytes one payload decodes: regions that cut more are refused as too many
/// for one request.
const MAX_CUT: u64 = 256 << 20;

/// Where the bases of CRAM reference sequences come from, by the MD5 digest of their
/// normalized bases (the `M5` of an `@SQ` line): a catalogue of FASTA files, a cache.
pub trait ReferenceSequences: Send + Sync {
    /// The bases (upper case, no line breaks) of the sequence whose MD5 digest is `md5`, 32
    /// lower-case hexadecimal digits; `Ok(None)` where no such sequence is known.
    ///
    /// # Errors
    ///
    /// Where a known sequence cannot be read.
    fn bases(&self, md5: &str) -> io::Result<Option<Arc<[u8]>>>;
}

/// The regions a payload holds: merged `(reference id, start, end)` intervals, 0-based and end
/// exclusive (`None`: to the reference's end), and whether unplaced reads are asked.
pub(super) struct Regions<'a> {
    pub(super) intervals: &'a [(usize, u32, Option<u32>)],
    pub(super) unplaced: bool,
}

impl Regions<'_> {
    /// Whether a CRAI line's slice may hold records of the regions.
    fn touches(&self, line: &crai::Record) -> bool {
        match line.reference_sequence_id() {
            None => self.unplaced,
            Some(id) => {
                let (start, end) = slice_extent(line);
                self.intervals.iter().any(|&(i, s, e)| {
                    i == id && u64::from(s) < end && e.is_none_or(|e| start < u64::from(e))
                })
            }
        }
    }

    /// Whether every record of a CRAI line's slice overlaps the regions.
    fn holds(&self, line: &crai::Record) -> bool {
        match line.reference_sequence_id() {
            None => self.unplaced,
            Some(id) => {
                let Some(_) = line.alignment_start() else {
                    return false;
                };
                let (start, end) = slice_extent(line);
                self.intervals.iter().any(|&(i, s, e)| {
                    i == id && u64::from(s) <= start && e.is_none_or(|e| end <= u64::from(e))
                })
            }
        }
    }

    /// Whether a decoded record overlaps the regions, as samtools tests it: a read covers its
    /// alignment; an unmapped read placed at a position, or one without a CIGAR, that one base.
    fn keeps(&self, record: &RecordBuf) -> io::Result<bool> {
        let Some(id) = record.reference_sequence_id() else {
            return Ok(self.unplaced);
        };
        let Some(start) = record.alignment_start() else {
            return Ok(false);
        };
        let start = usize::from(start) as u64 - 1;
        let span = if record.flags().is_unmapped() {
            0
        } else {
            sam::alignment::Record::alignment_span(record)
                .transpose()?
                .unwrap_or(0)
        };
        let end = start + span.max(1) as u64;
        Ok(self.intervals.iter().any(|&(i, s, e)| {
            i == id && u64::from(s) < end && e.is_none_or(|e| start < u64::from(e))
        }))
    }
}

/// A CRAI line's 0-based half-open span; a placed slice with no start spans everything.
fn slice_extent(line: &crai::Record) -> (u64, u64) {
    match line.alignment_start() {
        Some(start) => {
            let start = usize::from(start) as u64 - 1;
            (
                start,
                start.saturating_add((line.alignment_span() as u64).max(1)),
            )
        }
        None => (0, u64::MAX),
    }
}

/// The body of an exact CRAM payload for `regions`: containers inside them as byte ranges, the
/// others' overlapping records re-encoded inline. `Ok(None)` where a container must be
/// re-encoded and `references` lacks a sequence it needs.
pub(super) async fn body(
    data: &dyn crate::storage::Object,
    layout: &CramFacts,
    regions: &Regions<'_>,
    references: Option<&dyn ReferenceSequences>,
) -> Result<Option<Plan>, Error> {
    let header_end = layout.header_end();
    let data_end = layout.data_end().max(header_end);
    let mut containers: BTreeMap<u64, Vec<&crai::Record>> = BTreeMap::new();
    for line in layout.index().iter() {
        if line.offset() >= header_end && line.offset() < data_end {
            containers.entry(line.offset()).or_default().push(line);
        }
    }
    let ends: Vec<u64> = containers
        .keys()
        .skip(1)
        .copied()
        .chain([data_end])
        .collect();

    let mut body = Plan::new();
    let mut cutter: Option<Cutter> = None;
    let mut run = Run::default();
    let mut cut = 0;
    for ((&offset, lines), &end) in containers.iter().zip(&ends) {
        let touched = lines.iter().any(|line| regions.touches(line));
        let whole = touched && lines.iter().all(|line| regions.holds(line));
        let len = end - offset;
        // A run is consecutive containers of the payload: it ends at a gap, a whole container,
        // or its size bound.
        if !touched || whole || run.bytes + len > MAX_RUN {
            let flushed = run.flush(
                &mut cutter,
                data,
                header_end,
                references,
                regions,
                &mut body,
            );
            if !flushed.await? {
                return Ok(None);
            }
        }
        if whole {
            body.push(
                Section::Body,
                Content::Span(Span::Bytes(ByteRange::new(offset, end))),
            );
        } else if touched {
            if len > MAX_CONTAINER {
                return Err(too_large("CRAM container"));
            }
            cut += len;
            if cut > MAX_CUT {
                return Err(Error::invalid_input(
                    Reason::TooManyRegions,
                    "the regions cut more CRAM containers than one request may re-encode; ask \
                     for fewer regions",
                ));
            }
            run.containers.push(ByteRange::new(offset, end));
            run.bytes += len;
            run.ids
                .extend(lines.iter().filter_map(|line| line.reference_sequence_id()));
        }
    }
    let flushed = run.flush(
        &mut cutter,
        data,
        header_end,
        references,
        regions,
        &mut body,
    );
    if !flushed.await? {
        return Ok(None);
    }
    Ok(Some(body))
}

/// Consecutive containers to cut, and the references their slices name.
#[derive(Default)]
struct Run {
    containers: Vec<ByteRange>,
    bytes: u64,
    ids: BTreeSet<usize>,
}

impl Run {
    /// Cuts the containers gathered so far into `body`; `false` where a reference sequence
    /// cannot be had.
    async fn flush<'a>(
        &mut self,
        cutter: &mut Option<Cutter<'a>>,
        data: &dyn crate::storage::Object,
        header_end: u64,
        references: Option<&'a dyn ReferenceSequences>,
        regions: &Regions<'_>,
        body: &mut Plan,
    ) -> Result<bool, Error> {
        if self.containers.is_empty() {
            return Ok(true);
        }
        let cutter = match cutter {
            Some(cutter) => cutter,
            None => cutter.insert(Cutter::new(data, header_end, references).await?),
        };
        let Some(bytes) = cutter
            .cut(data, &self.containers, &self.ids, regions)
            .await?
        else {
            return Ok(false);
        };
        body.push(Section::Body, Content::Inline(bytes));
        *self = Self::default();
        Ok(true)
    }
}

/// Decodes containers and re-encodes the records kept: the file's header, and the reference
/// sequences fetched so far.
struct Cutter<'a> {
    header: sam::Header,
    references: Option<&'a dyn ReferenceSequences>,
    /// Bases by reference name; `None` where the sequence cannot be had.
    bases: HashMap<Vec<u8>, Option<Arc<[u8]>>>,
}

impl<'a> Cutter<'a> {
    async fn new(
        data: &dyn crate::storage::Object,
        header_end: u64,
        references: Option<&'a dyn ReferenceSequences>,
    ) -> Result<Self, Error> {
        let len = usize::try_from(header_end).map_err(|_| too_large("CRAM header"))?;
        let bytes = data
            .read(0, len)
            .await
            .map_err(|e| io_error(e, "data file"))?;
        let header = cram::io::Reader::new(Cursor::new(bytes))
            .read_header()
            .map_err(|e| invalid(e, "CRAM header"))?;
        Ok(Self {
            header,
            references,
            bases: HashMap::new(),
        })
    }

    /// The bases of reference `id`, fetched once.
    fn bases_of(&mut self, id: usize) -> Result<Option<Arc<[u8]>>, Error> {
        let Some((name, map)) = self.header.reference_sequences().get_index(id) else {
            return Ok(None);
        };
        if let Some(known) = self.bases.get(name.as_slice()) {
            return Ok(known.clone());
        }
        let md5 = map
            .other_fields()
            .get(&MD5_CHECKSUM)
            .map(|md5| md5.to_string().to_ascii_lowercase());
        let bases = match (md5, self.references) {
            (Some(md5), Some(references)) => references
                .bases(&md5)
                .map_err(|e| io_error(e, "reference sequence"))?,
            _ => None,
        };
        self.bases.insert(name.to_vec(), bases.clone());
        Ok(bases)
    }

    /// The records of the containers `run` (consecutive in the payload), whose slices name the
    /// references `ids`, that overlap `regions`, as new containers; `None` where a reference
    /// sequence cannot be had.
    async fn cut(
        &mut self,
        data: &dyn crate::storage::Object,
        run: &[ByteRange],
        ids: &BTreeSet<usize>,
        regions: &Regions<'_>,
    ) -> Result<Option<Vec<u8>>, Error> {
        // Every reference the containers' slices name (a multi-reference slice has a CRAI line
        // per reference) must be at hand before noodles decodes or encodes their records.
        let mut sequences = HashMap::new();
        for &id in ids {
            let Some(bases) = self.bases_of(id)? else {
                return Ok(None);
            };
            let (name, _) = self
                .header
                .reference_sequences()
                .get_index(id)
                .expect("an id bases_of found");
            sequences.insert(name.to_vec(), bases);
        }

        let mut stream = Vec::new();
        for range in run {
            let bytes = data
                .read(range.start(), range.len() as usize)
                .await
                .map_err(|e| io_error(e, "data file"))?;
            stream.extend_from_slice(&bytes);
        }
        stream.extend_from_slice(&CRAM_EOF);
        let repository = fasta::Repository::new(Sequences(sequences));

        let header = &self.header;
        let recode = || -> io::Result<Vec<u8>> {
            let mut reader = cram::io::reader::Builder::default()
                .set_reference_sequence_repository(repository.clone())
                .build_from_reader(Cursor::new(&stream));
            let mut writer = cram::io::writer::Builder::default()
                .set_reference_sequence_repository(repository.clone())
                .build_from_writer(Vec::new());
            let mut kept = 0usize;
            for record in reader.records(header) {
                let record = record?;
                if regions.keeps(&record)? {
                    writer.write_alignment_record(header, &record)?;
                    kept += 1;
                }
            }
            if kept == 0 {
                return Ok(Vec::new());
            }
            writer.try_finish(header)?;
            let mut out = writer.into_inner();
            if !out.ends_with(&CRAM_EOF) {
                return Err(io::Error::other("the CRAM writer ended without its EOF"));
            }
            out.truncate(out.len() - CRAM_EOF.len());
            Ok(out)
        };
        match catch_unwind(AssertUnwindSafe(recode)) {
            Ok(Ok(bytes)) => Ok(Some(bytes)),
            Ok(Err(e)) => Err(invalid(e, "CRAM container")),
            Err(_) => Err(invalid(
                io::Error::other("a CRAM container could not be decoded"),
                "CRAM container",
            )),
        }
    }
}

fn too_large(what: &'static str) -> Error {
    invalid(
        io::Error::new(io::ErrorKind::InvalidData, "larger than allowed"),
        what,
    )
}

/// A FASTA repository adapter over sequences already fetched, by reference name.
struct Sequences(HashMap<Vec<u8>, Arc<[u8]>>);

impl fasta::repository::Adapter for Sequences {
    fn get(&mut self, name: &[u8]) -> Option<io::Result<fasta::Record>> {
        let bases = self.0.get(name)?;
        Some(Ok(fasta::Record::new(
            fasta::record::Definition::new(name, None),
            fasta::record::Sequence::from(bases.to_vec()),
        )))
    }
}
