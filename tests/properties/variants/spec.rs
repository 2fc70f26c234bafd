//! Variant files as parameters: their strategies, and the header and records built from them.

use noodles::{
    core::Position,
    vcf::{
        self,
        header::{
            FileFormat,
            record::value::{
                Map,
                map::{Contig, Info},
            },
        },
        variant::{
            RecordBuf,
            record::info::field::key::END_POSITION,
            record_buf::{AlternateBases, Info as InfoBuf, info::field::Value},
        },
    },
};
use proptest::prelude::*;

use crate::properties::{
    BlockLayout, bases, block_layout, coordinate,
    generate::{Spot, names, site},
};

/// A variant; `contig` and `start` are reduced to the file's when it is built.
#[derive(Clone, Debug)]
struct VariantSpec {
    contig: usize,
    start: u32,
    /// The length of the reference allele: usually a few bases, sometimes a long deletion.
    ref_len: u32,
    /// The BGZF block ends right after this record.
    flush_after: bool,
}

fn variant_spec() -> impl Strategy<Value = VariantSpec> {
    let ref_len = prop_oneof![12 => 1u32..=4, 1 => 100u32..=20_000];

    (
        any::<usize>(),
        coordinate(),
        ref_len,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(contig, start, ref_len, flush_after)| VariantSpec {
            contig,
            start,
            ref_len,
            flush_after,
        })
}

impl Spot for VariantSpec {
    fn spot(&self) -> (usize, u32) {
        (self.contig, self.start)
    }
}

/// A variant file, as parameters.
#[derive(Clone, Debug)]
pub(super) struct VariantsSpec {
    /// Contig lengths, in header order; the one at `empty` (modulo) has no records.
    pub(super) lengths: Vec<u32>,
    empty: usize,
    variants: Vec<VariantSpec>,
    pub(super) layout: BlockLayout,
    /// The BCF's CSI: its `min_shift`, and how many levels it has beyond the fewest that cover
    /// the longest contig. The tabix index of the VCF has noodles' defaults.
    pub(super) min_shift: u8,
    pub(super) extra_depth: u8,
}

pub(super) fn variants_spec() -> impl Strategy<Value = VariantsSpec> {
    (
        prop::collection::vec(2_000u32..200_000, 4),
        any::<usize>(),
        prop::collection::vec(variant_spec(), 0..300),
        block_layout(),
        12u8..=16,
        0u8..=2,
    )
        .prop_map(
            |(lengths, empty, variants, layout, min_shift, extra_depth)| VariantsSpec {
                lengths,
                empty,
                variants,
                layout,
                min_shift,
                extra_depth,
            },
        )
}

/// A record as generated: where it lies (0-based, half-open), for the ground truth.
pub(super) struct Placed {
    pub(super) contig: usize,
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) flush_after: bool,
    pub(super) record: RecordBuf,
}

impl VariantsSpec {
    pub(super) fn names(&self) -> Vec<String> {
        names(self.lengths.len())
    }

    pub(super) fn header(&self) -> vcf::Header {
        self.names()
            .into_iter()
            .zip(&self.lengths)
            .fold(vcf::Header::builder(), |builder, (name, &len)| {
                let contig = Map::<Contig>::builder()
                    .set_length(len as usize)
                    .build()
                    .expect("contig");
                builder.add_contig(name, contig)
            })
            .add_info(END_POSITION, Map::<Info>::from(END_POSITION))
            // VCF 4.3, where `END` gives a record's extent (4.5 reads it from SVLEN).
            .set_file_format(FileFormat::new(4, 3))
            .build()
    }

    /// The records in file order, sorted by contig (in header order) and position. IDs are
    /// `v{n}`, `n` the record's place in the file.
    pub(super) fn records(&self) -> Vec<Placed> {
        let names = self.names();
        let placed = site(&self.lengths, self.empty, &self.variants, |variant, len| {
            let ref_len = variant.ref_len.min(len);
            (ref_len, ref_len)
        });

        placed
            .into_iter()
            .enumerate()
            .map(|(n, (contig, start, ref_len, spec))| Placed {
                contig,
                start,
                end: start + ref_len,
                flush_after: spec.flush_after,
                record: variant(n, &names[contig], start, ref_len),
            })
            .collect()
    }
}

/// Variant `n` covering `ref_len` bases from `start`: most spell out their reference allele;
/// every other long one is a symbolic deletion whose `END` gives its extent (one reference
/// base); every third is multi-allelic.
fn variant(n: usize, contig: &str, start: u32, ref_len: u32) -> RecordBuf {
    let text = |len, seed| String::from_utf8(bases(len, seed)).expect("ASCII bases");
    let builder = RecordBuf::builder()
        .set_reference_sequence_name(contig)
        .set_variant_start(Position::new(start as usize + 1).expect("position"))
        .set_ids([format!("v{n}")].into_iter().collect());

    if ref_len > 50 && !n.is_multiple_of(2) {
        let end = i32::try_from(start + ref_len).expect("END fits");
        let info: InfoBuf = [(END_POSITION.to_owned(), Some(Value::Integer(end)))]
            .into_iter()
            .collect();
        return builder
            .set_reference_bases(text(1, n))
            .set_alternate_bases(AlternateBases::from(vec!["<DEL>".to_owned()]))
            .set_info(info)
            .build();
    }
    // One base, other than the first of the reference allele (two such, every third record).
    let mut alternates = vec![text(1, n + 1)];
    if n.is_multiple_of(3) {
        alternates.push(text(1, n + 2));
    }
    builder
        .set_reference_bases(text(ref_len as usize, n))
        .set_alternate_bases(AlternateBases::from(alternates))
        .build()
}
