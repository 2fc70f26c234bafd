//! Helpers shared by the fuzz targets: an in-memory [`Storage`], the fixed data files the
//! index targets put fuzzed indexes next to, queries drawn from fuzz bytes, and the checks
//! every plan must pass.

use std::{
    collections::HashMap,
    future::Future,
    io::{self, Write},
    pin::pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll, Waker},
};

use htsget_core::{
    Content, Endpoint, Format, Plan, Span,
    facts::FileFacts,
    load,
    query::{Class, Query, Region},
    resolve,
    storage::{BoxFuture, Identity, Metadata, Object, Storage},
};
use noodles::bgzf::VirtualPosition;

/// Runs a future of the core's I/O layer over a [`MemoryStorage`], whose reads are always
/// ready, to completion on this thread.
///
/// # Panics
///
/// Panics if the future waits on anything (it would wait forever here).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a memory read never waits"),
    }
}

/// Objects held in memory, by key.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    objects: HashMap<String, Arc<[u8]>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `bytes` under `key`, replacing what was there.
    pub fn insert(&mut self, key: impl Into<String>, bytes: Vec<u8>) {
        self.objects.insert(key.into(), bytes.into());
    }

    /// The bytes stored under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.objects.get(key).map(|bytes| &bytes[..])
    }

    fn object(&self, key: &str) -> io::Result<MemoryObject> {
        let bytes = self
            .objects
            .get(key)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such object"))?;
        let metadata = Metadata::new(bytes.len() as u64, Identity::new("memory"));
        Ok(MemoryObject {
            bytes: Arc::clone(bytes),
            metadata,
        })
    }
}

impl Storage for MemoryStorage {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Metadata>> {
        Box::pin(std::future::ready(self.object(key).map(|o| o.metadata)))
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Arc<dyn Object>>> {
        let object = self
            .object(key)
            .map(|object| Arc::new(object) as Arc<dyn Object>);
        Box::pin(std::future::ready(object))
    }
}

/// An object of a [`MemoryStorage`].
#[derive(Debug)]
struct MemoryObject {
    bytes: Arc<[u8]>,
    metadata: Metadata,
}

impl Object for MemoryObject {
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn read_at(&self, offset: u64, mut buf: Vec<u8>) -> BoxFuture<'static, io::Result<Vec<u8>>> {
        let len = self.bytes.len();
        let start = usize::try_from(offset).map_or(len, |o| o.min(len));
        let end = start.saturating_add(buf.len()).min(len);
        buf.truncate(end - start);
        buf.copy_from_slice(&self.bytes[start..end]);
        Box::pin(std::future::ready(Ok(buf)))
    }
}

/// `bytes` as BGZF blocks (which a gzip reader also reads), with an end-of-file block.
fn compress(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut writer = noodles::bgzf::io::Writer::new(Vec::new());
    writer.write_all(bytes)?;
    writer.finish()
}

/// The `index_plan` target: a selector byte, a byte `n`, the index bytes, and `n` trailing
/// bytes from which queries are drawn ([`queries`]).
///
/// The selector's low two bits pick the data file ([`format_for`]: BAM, VCF.gz, BCF, CRAM; the
/// index kind is told by content, so a BAM takes a BAI or a CSI, a VCF.gz a TBI or a CSI). Its
/// bit 2 says the index bytes are uncompressed and must be compressed first (BGZF, which a
/// gzip reader also reads): the fuzzer cannot mutate inside compressed CSI, TBI and CRAI files
/// without breaking their checksums, so this is how it reaches their parsers.
///
/// The index is put next to the fixed data file of the selected format. Loading its facts may
/// fail; if it does not, every query must resolve and plan without panicking (or fail with an
/// error), and every plan must pass [`check_plan`].
pub fn index_plan(input: &[u8]) {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Some((&query_len, rest)) = rest.split_first() else {
        return;
    };
    let split = rest.len().saturating_sub(usize::from(query_len));
    let (index, query_bytes) = rest.split_at(split);

    if selector & COMPRESS == 0 {
        plan_with_index(format_for(selector), index, query_bytes);
    } else if let Ok(compressed) = compress(index) {
        plan_with_index(format_for(selector), &compressed, query_bytes);
    }
}

/// The selector bit that asks for the index bytes to be compressed.
pub const COMPRESS: u8 = 4;

/// Loads the facts of the data file of `format` with `index` beside it, then resolves and
/// plans the fixed queries and those drawn from `query_bytes`, checking every plan.
pub fn plan_with_index(format: Format, index: &[u8], query_bytes: &[u8]) {
    let files = DemoFiles::get();
    let storage = files.with_index(format, index);
    let data = data_key(format);
    let size = files.data(format).len() as u64;

    let Ok(facts) = block_on(load::facts(&storage, format, data, INDEX_KEY)) else {
        return;
    };
    let object = block_on(storage.open(data)).expect("the data file is there");

    for query in queries(format, &facts, query_bytes) {
        let Ok(plan) = resolve(&query, &facts) else {
            continue;
        };
        if let Ok(inline) = block_on(load::inline(&*object, &plan)) {
            check_plan(&inline, size);
        }
        check_deferred(&*object, &plan, size);
    }
}

/// Checks a deferred plan (what tickets are made from), then the pieces each of its BGZF
/// spans is served as (what the data endpoint does on fetch), which may fail but must stay
/// inside the file.
fn check_deferred(data: &dyn Object, plan: &Plan, size: u64) {
    check_plan(plan, size);

    for part in plan.parts() {
        if let Content::Span(Span::Bgzf(span)) = part.content()
            && let Ok(contents) = block_on(load::span_contents(data, span))
        {
            let mut contents_plan = Plan::new();
            for content in contents {
                contents_plan.push(part.section(), content.into());
            }
            check_plan(&contents_plan, size);
        }
    }
}

/// The key of the fuzzed index in a target's storage.
pub const INDEX_KEY: &str = "fuzzed.index";

/// The formats `index_plan` picks from, by the selector's low two bits.
pub const FORMATS: [Format; 4] = [Format::Bam, Format::Vcf, Format::Bcf, Format::Cram];

/// The format a selector byte picks.
pub fn format_for(selector: u8) -> Format {
    FORMATS[usize::from(selector) % FORMATS.len()]
}

/// The environment variable naming a folder the demo dataset's indexes are written to when a
/// target first generates it: `seed.sh` gets them from the built `index_plan` target this way
/// (no separate build of the tree for them).
pub const DEMO_INDEXES_VAR: &str = "HTSGET_FUZZ_DEMO_INDEXES";

/// The fixed data files: the server's built-in demo dataset (BAM, CRAM, VCF.gz and BCF, with
/// the indexes noodles built for them), generated once per process and held in memory.
pub struct DemoFiles {
    storage: MemoryStorage,
}

impl DemoFiles {
    /// The data files, generated on first use.
    ///
    /// # Panics
    ///
    /// Panics if the demo dataset cannot be written or read back (a broken fuzz setup, not a
    /// finding).
    pub fn get() -> &'static DemoFiles {
        static FILES: OnceLock<DemoFiles> = OnceLock::new();
        FILES.get_or_init(|| Self::generate().expect("demo dataset"))
    }

    fn generate() -> io::Result<Self> {
        let dataset = htsget_server::demo::Dataset::generate()?;
        let mut storage = MemoryStorage::new();

        for format in FORMATS {
            let data = data_key(format);
            let index = demo_index_key(format);
            storage.insert(data, std::fs::read(dataset.root().join(data))?);
            let bytes = std::fs::read(dataset.root().join(index))?;
            if let Some(dir) = std::env::var_os(DEMO_INDEXES_VAR) {
                std::fs::write(std::path::Path::new(&dir).join(index), &bytes)?;
            }
            storage.insert(index, bytes);
        }

        Ok(Self { storage })
    }

    /// A store holding the data file of `format` and `index` as [`INDEX_KEY`].
    pub fn with_index(&self, format: Format, index: &[u8]) -> MemoryStorage {
        let mut storage = MemoryStorage::new();
        let data = data_key(format);
        storage.insert(data, self.data(format).to_vec());
        storage.insert(INDEX_KEY, index.to_vec());
        storage
    }

    /// The data file of `format`.
    pub fn data(&self, format: Format) -> &[u8] {
        self.storage.get(data_key(format)).unwrap_or_default()
    }
}

/// The key (file name) of the demo data file of `format`.
pub fn data_key(format: Format) -> &'static str {
    match format {
        Format::Bam => "sample.bam",
        Format::Cram => "sample.cram",
        Format::Vcf => "sample.vcf.gz",
        Format::Bcf => "sample.bcf",
    }
}

fn demo_index_key(format: Format) -> &'static str {
    match format {
        Format::Bam => "sample.bam.bai",
        Format::Cram => "sample.cram.crai",
        Format::Vcf => "sample.vcf.gz.tbi",
        Format::Bcf => "sample.bcf.csi",
    }
}

/// The bytes one fuzzed query takes: reference pick, flags, start and end (`u32` LE each).
const QUERY_BYTES: usize = 10;

/// The most queries drawn from one input.
const MAX_DRAWN_QUERIES: usize = 8;

/// How many of a file's reference names get a fixed whole-reference query.
const FIXED_NAMES: usize = 4;

/// The fixed queries every input runs (header only, whole file, unplaced reads for a reads
/// format, and each of the first few references whole), then those drawn from `bytes`.
pub fn queries(format: Format, facts: &FileFacts, bytes: &[u8]) -> Vec<Query> {
    let names: Vec<&str> = facts.references().names().collect();
    let base = || Query::new(format.endpoint(), format);

    let mut queries = vec![base().with_class(Class::Header), base()];
    if format.endpoint() == Endpoint::Reads {
        queries.push(base().with_region(Region::unplaced()));
    }
    for name in names.iter().take(FIXED_NAMES) {
        if let Ok(region) = Region::new(*name, None, None) {
            queries.push(base().with_region(region));
        }
    }

    let drawn: Vec<Region> = bytes
        .chunks_exact(QUERY_BYTES)
        .take(MAX_DRAWN_QUERIES)
        .filter_map(|chunk| drawn_region(&names, chunk))
        .collect();
    for region in &drawn {
        queries.push(base().with_region(region.clone()));
    }
    if drawn.len() > 1 {
        queries.push(base().with_regions(drawn));
    }

    queries
}

/// One region from [`QUERY_BYTES`] bytes: the first picks a reference name (or `*`, or a name
/// the file does not know), the second says which bounds are present, then start and end.
fn drawn_region(names: &[&str], chunk: &[u8]) -> Option<Region> {
    let pick = usize::from(chunk[0]) % (names.len() + 2);
    let flags = chunk[1];
    let number = |at: usize| u32::from_le_bytes(chunk[at..at + 4].try_into().expect("4 bytes"));
    let start = (flags & 1 != 0).then(|| number(2));
    let end = (flags & 2 != 0).then(|| number(6));

    let name = match pick.checked_sub(names.len()) {
        None => names[pick],
        Some(0) => return Some(Region::unplaced()),
        Some(_) => "no-such-reference",
    };

    Region::new(name, start, end).ok()
}

/// Asserts what every plan must satisfy: each file range or BGZF span is non-empty and inside
/// the file, and they come in ascending, non-overlapping order (BGZF spans may share the block
/// one cuts inside, so order is checked on `(compressed, uncompressed)` positions).
///
/// # Panics
///
/// Panics (the fuzzer's finding) when the plan breaks one of these.
pub fn check_plan(plan: &Plan, size: u64) {
    let mut previous_end = (0, 0);

    for part in plan.parts() {
        let Some((start, end)) = extent(part.content()) else {
            continue;
        };
        assert!(start < end, "empty part {part:?}");
        assert!(
            end.0 < size || (end.0 == size && end.1 == 0),
            "part {part:?} past the file's {size} bytes"
        );
        assert!(
            start >= previous_end,
            "part {part:?} starts before the previous one ends at {previous_end:?}"
        );
        previous_end = end;
    }
}

/// Where a part's bytes lie in the file as `(compressed, uncompressed)` positions, end
/// exclusive; `None` for inline bytes.
fn extent(content: &Content) -> Option<((u64, u16), (u64, u16))> {
    let position = |p: VirtualPosition| (p.compressed(), p.uncompressed());

    match content {
        Content::Span(Span::Bytes(range)) => Some(((range.start(), 0), (range.end(), 0))),
        Content::Span(Span::Bgzf(span)) => Some((position(span.start()), position(span.end()))),
        Content::Inline(_) => None,
    }
}
