//! Crafted indexes, each tried in a child process, and forged spans.

use std::{fs, io::Write, path::Path, process::Command};

use tempfile::TempDir;

use super::{
    broken::{ANY_PART, Case, Expect, INDEX},
    checks::failures,
    files::write,
    tickets::assert_clean_error,
};
use crate::server::{TestServer, get};

// Crafted indexes: well-formed magic, then counts that claim billions of entries.

#[rustfmt::skip]
pub(super) const CRAFTED: &[Case] = &[
    Case { file: "reference-count.bam", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count.bam", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count-csi.vcf.gz", queries: &[""], expect: Expect::Broken(INDEX), original: None },
    Case { file: "bin-count-tbi.vcf.gz", queries: &[""], expect: Expect::Broken(INDEX), original: None },
];

/// A count no index holds: 4 billion.
const HUGE: u32 = 0xffff_fff0;

/// The crafted root: every [`CRAFTED`] file beside its real data, and `good.bam`.
pub(super) fn crafted_root(data: &Path) -> TempDir {
    let read = |key: &str| fs::read(data.join(key)).unwrap();
    let bam = read("bam/htsnexus_test_NA12878.bam");
    let bai = read("bam/htsnexus_test_NA12878.bam.bai");
    let vcf = read("vcf/sample1-bcbio-cancer.vcf.gz");
    let le = |values: &[u32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };

    let bai_references = [b"BAI\x01".as_slice(), &le(&[HUGE])].concat();
    let bai_bins = [b"BAI\x01".as_slice(), &le(&[1, HUGE])].concat();
    // min_shift 14, depth 5, no aux; one reference with HUGE bins.
    let csi_bins = bgzf([b"CSI\x01".as_slice(), &le(&[14, 5, 0, 1, HUGE])].concat());
    // One reference "1" (VCF columns 1, 2, 0; '#' comments; no skip), with HUGE bins.
    let tbi_header = le(&[1, 2, 1, 2, 0, u32::from(b'#'), 0, 2]);
    let tbi_bins = bgzf([b"TBI\x01".as_slice(), &tbi_header, b"1\0", &le(&[HUGE])].concat());

    #[rustfmt::skip]
    let files: Vec<(&str, &[u8])> = vec![
        ("good.bam", &bam), ("good.bam.bai", &bai),
        ("reference-count.bam", &bam), ("reference-count.bam.bai", &bai_references),
        ("bin-count.bam", &bam), ("bin-count.bam.bai", &bai_bins),
        ("bin-count-csi.vcf.gz", &vcf), ("bin-count-csi.vcf.gz.csi", &csi_bins),
        ("bin-count-tbi.vcf.gz", &vcf), ("bin-count-tbi.vcf.gz.tbi", &tbi_bins),
    ];

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        write(&dir.path().join(name), bytes);
    }
    dir
}

/// `bytes` BGZF-compressed, with the EOF block.
fn bgzf(bytes: Vec<u8>) -> Vec<u8> {
    let mut writer = noodles::bgzf::io::Writer::new(Vec::new());
    writer.write_all(&bytes).unwrap();
    writer.finish().unwrap()
}

/// The environment variable that tells [`crafted_indexes_in_this_process`] which case to run.
pub(super) const CRAFTED_CASE: &str = "HTSGET_HOSTILE_CRAFTED_CASE";

/// Runs each [`CRAFTED`] case in a child process (this test binary, filtered to
/// [`crafted_indexes_in_this_process`]), so that an abort on an impossible allocation fails this
/// check, naming the case, rather than killing every test of the binary.
pub(super) fn crafted_index_failures() -> Vec<String> {
    CRAFTED
        .iter()
        .filter_map(|case| run_crafted_child(case.file).err())
        .collect()
}

fn run_crafted_child(file: &str) -> Result<(), String> {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "hostile::crafted_indexes_in_this_process",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRAFTED_CASE, file)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();

    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("note:"))
        .take(12)
        .collect();

    if !output.status.success() {
        Err(format!(
            "{file}: the process ended with {}:\n  {}",
            output.status,
            lines.join("\n  ")
        ))
    } else if !text.contains("1 passed") {
        Err(format!(
            "{file}: the child ran nothing:\n  {}",
            lines.join("\n  ")
        ))
    } else {
        Ok(())
    }
}

/// Spans are the server's own, but a client may send any: each is served, refused, or fails
/// with a clear 500, and none hangs the server or leaks a path.
pub(super) fn forged_span_failures(server: &TestServer) -> Vec<String> {
    let size = fs::metadata(server.root.join("good.bam")).unwrap().len();
    let past_end = format!("0-{}", (size + 1) << 16);
    let max = u64::MAX.to_string();
    #[rustfmt::skip]
    let spans = [
        "5-4", "x-y", "1-2-3", "-", "", "0-", "-5", "0-99999999999999999999",
        &past_end, &format!("{max}-{max}"),
        "65537-131073", // from byte 1, not a block start
        "1-65537",      // from inside the first block to byte 1
        "0-0",
    ];
    failures(
        &spans,
        |span| format!("forged span {span:?}"),
        |span| {
            let target = format!("/data/good.bam?span={span}");
            let reply = get(server.addr, &target);
            match reply.status {
                200 => assert_eq!(
                    reply.header("content-length"),
                    Some(reply.body.len().to_string().as_str())
                ),
                400 | 416 => assert_eq!(reply.error_name(), "InvalidInput"),
                _ => assert_clean_error(&reply, 500, "InternalServerError", ANY_PART, &server.root),
            }
        },
    )
}
