//! Resolution for BGZF files (BAM, VCF.gz, BCF) through a binning index.

use noodles::{bgzf::VirtualPosition, csi::binning_index::index::reference_sequence::bin::Chunk};

use super::{Selected, Target};
use crate::{Error, Span, bgzf::BGZF_EOF, facts::BgzfFacts};

pub(super) fn resolve(facts: &BgzfFacts, targets: &[Target]) -> Result<Selected<'static>, Error> {
    let header_end = facts.header_end();
    let data_end =
        VirtualPosition::try_from((facts.data_end(), 0)).map_err(|_| Error::InvalidData {
            what: "data file",
            source: std::io::Error::other("file too large for BGZF virtual positions"),
        })?;
    let index = facts.index();

    let mut chunks = Vec::with_capacity(32);

    for target in targets {
        match *target {
            Target::All => chunks.push(Chunk::new(header_end, data_end)),
            Target::Unplaced => {
                let start = index.placed_end().map_or(header_end, |p| p.max(header_end));
                chunks.push(Chunk::new(start, data_end));
            }
            Target::Reference { id, interval } => {
                let found =
                    index
                        .query(id, interval.start(), interval.end())
                        .map_err(|source| Error::InvalidData {
                            what: "index",
                            source,
                        })?;
                chunks.extend(found);
            }
            Target::Nothing => {}
        }
    }

    let body = merge(chunks)
        .into_iter()
        .filter_map(|chunk| Span::bgzf(chunk.start().max(header_end), chunk.end().min(data_end)))
        .collect();

    Ok(Selected {
        header: Span::bgzf(VirtualPosition::default(), header_end),
        body,
        eof: &BGZF_EOF,
    })
}

/// Sorts chunks and merges those that overlap or meet in the same BGZF block: cutting one
/// block twice would cost two re-encoded pieces for the few records between them.
fn merge(mut chunks: Vec<Chunk>) -> Vec<Chunk> {
    chunks.retain(|chunk| chunk.start() < chunk.end());
    chunks.sort_unstable_by_key(|chunk| chunk.start());

    let mut merged: Vec<Chunk> = Vec::with_capacity(chunks.len());

    for chunk in chunks {
        match merged.last_mut() {
            Some(last) if chunk.start().compressed() <= last.end().compressed() => {
                if chunk.end() > last.end() {
                    *last = Chunk::new(last.start(), chunk.end());
                }
            }
            _ => merged.push(chunk),
        }
    }

    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(a: (u64, u16), b: (u64, u16)) -> Chunk {
        Chunk::new(
            VirtualPosition::try_from(a).unwrap(),
            VirtualPosition::try_from(b).unwrap(),
        )
    }

    #[test]
    fn test_merge_with_shared_block_and_gap() {
        let merged = merge(vec![
            chunk((500, 0), (600, 10)),
            chunk((100, 5), (200, 7)),
            chunk((200, 9), (300, 0)),
            chunk((250, 0), (260, 0)),
            chunk((700, 1), (700, 1)),
        ]);
        assert_eq!(
            merged,
            vec![chunk((100, 5), (300, 0)), chunk((500, 0), (600, 10))]
        );
    }
}
