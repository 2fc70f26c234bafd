//! The reads, drawn from the references as pairs (coordinate-sorted) and followed by the
//! unplaced ones, and the SAM header the BAM and the CRAM share.

use std::num::NonZero;

use noodles::{
    core::Position,
    sam::{
        self,
        alignment::{
            RecordBuf,
            record::{Flags, MappingQuality},
        },
        header::record::value::{
            Map,
            map::{
                self, ReadGroup, ReferenceSequence,
                header::{sort_order::COORDINATE, tag::SORT_ORDER},
                read_group::tag::SAMPLE,
            },
        },
    },
};

use super::{
    ID, READ_GROUP, READ_LEN, REFERENCES, UNPLACED_READS,
    reference::Reference,
    rng::{Rng, substitute},
    shape::Shape,
};

/// The 1-based position of the 0-based `zero_based`.
fn position(zero_based: usize) -> Position {
    Position::new(zero_based + 1).expect("a 0-based position plus one is nonzero")
}

/// The SAM header of the BAM and the CRAM: coordinate-sorted, every reference of
/// [`REFERENCES`], one read group.
pub(super) fn sam_header() -> sam::Header {
    let sorted = Map::<map::Header>::builder()
        .insert(SORT_ORDER, COORDINATE)
        .build()
        .expect("valid header line");
    let read_group = Map::<ReadGroup>::builder()
        .insert(SAMPLE, ID)
        .build()
        .expect("valid read group");

    REFERENCES
        .iter()
        .fold(
            sam::Header::builder().set_header(sorted),
            |builder, &(name, len, _)| {
                let len = NonZero::new(len).expect("nonzero reference length");
                builder.add_reference_sequence(name, Map::<ReferenceSequence>::new(len))
            },
        )
        .add_read_group(READ_GROUP, read_group)
        .build()
}

/// One end of a template as it is drawn, before it becomes a record.
struct Mate {
    start: usize,
    shape: Shape,
    reverse: bool,
}

/// Draws the reads of every reference with data (coordinate-sorted), then the unplaced ones.
pub(super) fn generate_reads(rng: &mut Rng, references: &[Reference]) -> Vec<RecordBuf> {
    let mut reads = Vec::new();
    let mut template = 0;

    for (id, reference) in references.iter().enumerate() {
        if !reference.has_data {
            continue;
        }

        let mut placed = Vec::new();
        let mut start = rng.between(0, 60);

        // Templates every ~80 bp, two reads each: a read starts every ~40 bp.
        while start + 600 < reference.bases.len() {
            template += 1;
            placed.extend(template_reads(rng, id, &reference.bases, start, template));
            start += rng.between(60, 100);
        }

        placed.sort_by_key(|read| read.alignment_start());
        reads.extend(placed);
    }

    reads.extend((0..UNPLACED_READS).map(|i| unplaced_read(rng, i)));
    reads
}

/// The two reads of template `n`, its first at `start`; one in 25 has an unmapped mate.
fn template_reads(
    rng: &mut Rng,
    reference_id: usize,
    reference: &[u8],
    start: usize,
    n: usize,
) -> Vec<RecordBuf> {
    let name = format!("read{n:05}");
    let first = Mate {
        start,
        shape: Shape::random(rng),
        reverse: false,
    };

    if rng.one_in(25) {
        let mapped = mapped_read(rng, &name, reference_id, reference, &first, None)
            .set_flags(Flags::SEGMENTED | Flags::FIRST_SEGMENT | Flags::MATE_UNMAPPED)
            .set_mate_reference_sequence_id(reference_id)
            .set_mate_alignment_start(position(start))
            .build();
        let unmapped = unmapped_mate(rng, &name, reference_id, start);
        return vec![mapped, unmapped];
    }

    let insert = rng.between(250, 450);
    let second = Mate {
        start: start + insert - READ_LEN,
        shape: Shape::random(rng),
        reverse: true,
    };
    let end = second.start + second.shape.span();
    let template_length = (end - start) as i32;

    let pair = Flags::SEGMENTED | Flags::PROPERLY_SEGMENTED;
    let r1 = mapped_read(rng, &name, reference_id, reference, &first, Some(&second))
        .set_flags(pair | Flags::FIRST_SEGMENT | Flags::MATE_REVERSE_COMPLEMENTED)
        .set_template_length(template_length)
        .build();
    let r2 = mapped_read(rng, &name, reference_id, reference, &second, Some(&first))
        .set_flags(pair | Flags::LAST_SEGMENT | Flags::REVERSE_COMPLEMENTED)
        .set_template_length(-template_length)
        .build();

    vec![r1, r2]
}

/// A mapped read (flags and template length left to the caller), with about one sequencing
/// error in 100 bases.
fn mapped_read(
    rng: &mut Rng,
    name: &str,
    reference_id: usize,
    reference: &[u8],
    read: &Mate,
    mate: Option<&Mate>,
) -> sam::alignment::record_buf::Builder {
    let mut bases = read.shape.bases(rng, reference, read.start);
    for base in &mut bases {
        if rng.one_in(100) {
            *base = substitute(rng, *base);
        }
    }

    let mapping_quality = if rng.one_in(20) {
        rng.below(30) as u8
    } else {
        60
    };

    let mut builder = RecordBuf::builder()
        .set_name(name)
        .set_reference_sequence_id(reference_id)
        .set_alignment_start(position(read.start))
        .set_mapping_quality(MappingQuality::new(mapping_quality).expect("not 255"))
        .set_cigar(read.shape.cigar().into_iter().collect())
        .set_quality_scores(quality_scores(rng, bases.len(), read.reverse).into())
        .set_sequence(bases.into());

    if let Some(mate) = mate {
        builder = builder
            .set_mate_reference_sequence_id(reference_id)
            .set_mate_alignment_start(position(mate.start));
    }

    builder
}

/// Base qualities falling from ~38 to ~25 along the read (in sequencing order).
fn quality_scores(rng: &mut Rng, len: usize, reverse: bool) -> Vec<u8> {
    let mut scores: Vec<u8> = (0..len)
        .map(|i| (38 - (i * 13 / len) as u8).saturating_sub(rng.below(6) as u8))
        .collect();
    if reverse {
        scores.reverse();
    }
    scores
}

/// The unmapped second read of template `name`, placed at its mate's `start`.
fn unmapped_mate(rng: &mut Rng, name: &str, reference_id: usize, start: usize) -> RecordBuf {
    let bases: Vec<u8> = (0..READ_LEN).map(|_| rng.base()).collect();
    RecordBuf::builder()
        .set_name(name)
        .set_flags(Flags::SEGMENTED | Flags::LAST_SEGMENT | Flags::UNMAPPED)
        .set_mapping_quality(MappingQuality::MIN)
        .set_reference_sequence_id(reference_id)
        .set_alignment_start(position(start))
        .set_mate_reference_sequence_id(reference_id)
        .set_mate_alignment_start(position(start))
        .set_quality_scores(quality_scores(rng, READ_LEN, false).into())
        .set_sequence(bases.into())
        .build()
}

/// An unplaced unmapped read (no reference, no position, no mate).
fn unplaced_read(rng: &mut Rng, n: usize) -> RecordBuf {
    let bases: Vec<u8> = (0..READ_LEN).map(|_| rng.base()).collect();
    RecordBuf::builder()
        .set_name(format!("unplaced{n:03}"))
        .set_flags(Flags::UNMAPPED)
        .set_mapping_quality(MappingQuality::MIN)
        .set_quality_scores(quality_scores(rng, READ_LEN, false).into())
        .set_sequence(bases.into())
        .build()
}
