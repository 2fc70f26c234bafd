//! Broken files: truncated, empty, garbage and mismatched data files and indexes, their cases,
//! and the test that every ticket for them is a clear error or sound.

use std::{fs, path::Path};

use tempfile::TempDir;

use super::{
    checks::{assert_no_failures, failures},
    crafted::{crafted_index_failures, forged_span_failures},
    files::{garbage, write},
    tickets::{assert_clean_error, assert_sound_ticket, expected_records},
};
use crate::{
    common::{Tool, data_dir, require},
    server::{TestServer, get},
};

/// What a broken file's tickets must give. Each names the words one of which the message must
/// hold, to name the part that is broken.
#[derive(Clone, Copy, Debug)]
pub(super) enum Expect {
    /// 500 InternalServerError.
    Broken(&'static [&'static str]),
    /// 404 NotFound.
    Missing(&'static [&'static str]),
    /// As [`Expect::Broken`], or a 200 ticket that a client can follow: every range inside the
    /// file and served as asked, every deferred span served or refused with a clear 500, and,
    /// when all is served, a payload that samtools or bcftools read without a word. A truncated
    /// file may well serve the regions it still holds; it must never serve a corrupt payload.
    BrokenOrSound(&'static [&'static str]),
}

pub(super) const INDEX: &[&str] = &["index"];
const HEADER: &[&str] = &["header"];
pub(super) const ANY_PART: &[&str] = &["index", "header", "data", "BGZF", "CRAM", "span"];

/// A file under the broken root, the ticket queries tried on it (its format added), what they
/// must give, and the intact file it was cut from, if any (a sound ticket must hold every
/// record that the original holds in the region).
#[derive(Debug)]
pub(super) struct Case {
    pub(super) file: &'static str,
    pub(super) queries: &'static [&'static str],
    pub(super) expect: Expect,
    pub(super) original: Option<&'static str>,
}

const BAM_QUERIES: &[&str] = &[
    "referenceName=11&start=4999999&end=5050000",
    "referenceName=20&start=1000000&end=1100000",
    "referenceName=20",
    "",
    "class=header",
];
const SMALL_BAM_QUERIES: &[&str] = &["referenceName=CHROMOSOME_I", ""];
const VCF_QUERIES: &[&str] = &["referenceName=chrM&start=0&end=4000", "", "class=header"];
const LEVEL0_VCF_QUERIES: &[&str] = &["referenceName=1", "referenceName=10", ""];
const BCF_QUERIES: &[&str] = &["referenceName=chrM", ""];

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { file: "truncated.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.bam", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/htsnexus_test_NA12878.bam") },
    Case { file: "garbage.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "empty.bam", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "garbage-index.bam", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "empty-index.bam", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "mismatched.bam", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/htsnexus_test_NA12878.bam") },
    Case { file: "outgrown.bam", queries: SMALL_BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("bam/range.bam") },
    Case { file: "unindexed.bam", queries: BAM_QUERIES, expect: Expect::Missing(INDEX), original: None },
    Case { file: "truncated.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.vcf.gz", queries: LEVEL0_VCF_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("vcf/index_level0.vcf.gz") },
    Case { file: "empty.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "garbage-index.vcf.gz", queries: VCF_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "unindexed.vcf.gz", queries: VCF_QUERIES, expect: Expect::Missing(INDEX), original: None },
    Case { file: "truncated.bcf", queries: BCF_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "truncated.cram", queries: BAM_QUERIES, expect: Expect::Broken(HEADER), original: None },
    Case { file: "half.cram", queries: BAM_QUERIES, expect: Expect::BrokenOrSound(ANY_PART), original: Some("cram/htsnexus_test_NA12878.cram") },
    Case { file: "garbage.cram", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
    Case { file: "garbage-index.cram", queries: BAM_QUERIES, expect: Expect::Broken(INDEX), original: None },
];

/// The broken root: every [`CASES`] file, and `good.bam`.
fn broken_root(data: &Path) -> TempDir {
    let read = |key: &str| fs::read(data.join(key)).unwrap();
    let bam = read("bam/htsnexus_test_NA12878.bam");
    let bai = read("bam/htsnexus_test_NA12878.bam.bai");
    let small_bam = read("bam/range.bam");
    let vcf = read("vcf/sample1-bcbio-cancer.vcf.gz");
    let tbi = read("vcf/sample1-bcbio-cancer.vcf.gz.tbi");
    let level0 = read("vcf/index_level0.vcf.gz");
    let level0_tbi = read("vcf/index_level0.vcf.gz.tbi");
    let bcf = read("bcf/sample1-bcbio-cancer.bcf");
    let csi = read("bcf/sample1-bcbio-cancer.bcf.csi");
    let cram = read("cram/htsnexus_test_NA12878.cram");
    let crai = read("cram/htsnexus_test_NA12878.cram.crai");
    let small_bai = read("bam/range.bam.bai");
    let (noise, index_noise, crai_noise) = (garbage(64 << 10), garbage(4096), garbage(512));

    #[rustfmt::skip]
    let files: Vec<(&str, &[u8])> = vec![
        ("good.bam", &bam), ("good.bam.bai", &bai),
        ("truncated.bam", &bam[..1000]), ("truncated.bam.bai", &bai),
        ("half.bam", &bam[..bam.len() / 2]), ("half.bam.bai", &bai),
        ("garbage.bam", &noise), ("garbage.bam.bai", &bai),
        ("empty.bam", b""), ("empty.bam.bai", &bai),
        ("garbage-index.bam", &bam), ("garbage-index.bam.bai", &index_noise),
        ("empty-index.bam", &bam), ("empty-index.bam.bai", b""),
        ("mismatched.bam", &bam), ("mismatched.bam.bai", &small_bai),
        ("outgrown.bam", &small_bam), ("outgrown.bam.bai", &bai),
        ("unindexed.bam", &bam),
        ("truncated.vcf.gz", &vcf[..1000]), ("truncated.vcf.gz.tbi", &tbi),
        ("half.vcf.gz", &level0[..level0.len() / 2]), ("half.vcf.gz.tbi", &level0_tbi),
        ("empty.vcf.gz", b""), ("empty.vcf.gz.tbi", &tbi),
        ("garbage-index.vcf.gz", &vcf), ("garbage-index.vcf.gz.tbi", &index_noise),
        ("unindexed.vcf.gz", &vcf),
        ("truncated.bcf", &bcf[..1000]), ("truncated.bcf.csi", &csi),
        ("truncated.cram", &cram[..1000]), ("truncated.cram.crai", &crai),
        ("half.cram", &cram[..cram.len() / 2]), ("half.cram.crai", &crai),
        ("garbage.cram", &noise), ("garbage.cram.crai", &crai_noise),
        ("garbage-index.cram", &cram), ("garbage-index.cram.crai", &crai_noise),
    ];

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        write(&dir.path().join(name), bytes);
    }
    dir
}

/// The ticket target for `file` (its id, endpoint and format told by its extension) and `query`.
pub(super) fn ticket_target(file: &str, query: &str) -> String {
    let (id, endpoint, format) = [
        (".bam", "reads", ""),
        (".cram", "reads", "format=CRAM"),
        (".vcf.gz", "variants", ""),
        (".bcf", "variants", "format=BCF"),
    ]
    .into_iter()
    .find_map(|(ext, endpoint, format)| Some((file.strip_suffix(ext)?, endpoint, format)))
    .expect("a data file");

    let params: Vec<&str> = [format, query]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if params.is_empty() {
        format!("/{endpoint}/{id}")
    } else {
        format!("/{endpoint}/{id}?{}", params.join("&"))
    }
}

#[test]
fn broken_files_give_clear_errors_and_the_server_keeps_serving() {
    let Some(data) = data_dir() else { return };
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let root = broken_root(&data);
    let server = TestServer::start(Some(root.path()), |_| {});

    let tries = tries(CASES);
    let mut failed = failures(
        &tries,
        |(case, query)| ticket_target(case.file, query),
        |(case, query)| check_broken(&server, &data, case, query),
    );
    failed.extend(concurrent_failures(&server, &tries));
    failed.extend(forged_span_failures(&server));
    failed.extend(crafted_index_failures());

    // And the server keeps serving.
    failed.extend(failures(
        BAM_QUERIES,
        |query| format!("good.bam after the broken files: {query:?}"),
        |query| {
            let reply = get(server.addr, &ticket_target("good.bam", query));
            let served = assert_sound_ticket(&server, &reply, "good.bam", &server.root);
            let expected = expected_records(&data, "bam/htsnexus_test_NA12878.bam", query);
            assert!(served >= expected, "{served:?} records, want {expected:?}");
        },
    ));
    let info = get(server.addr, "/variants/service-info");
    if info.status != 200 {
        failed.push(format!(
            "service-info after the broken files: {}",
            info.status
        ));
    }

    assert_no_failures(&failed, tries.len());
}

/// All at once, too: no request hangs, and each is answered as it was alone.
fn concurrent_failures(server: &TestServer, tries: &[(&Case, &str)]) -> Vec<String> {
    let handles: Vec<_> = tries
        .iter()
        .map(|(case, query)| {
            let (addr, target) = (server.addr, ticket_target(case.file, query));
            std::thread::spawn(move || (get(addr, &target).status, target))
        })
        .collect();

    handles
        .into_iter()
        .filter_map(|handle| match handle.join() {
            Ok((200 | 404 | 500, _)) => None,
            Ok((status, target)) => Some(format!("at once: {target}: {status}")),
            Err(_) => Some("at once: a request got no answer".to_owned()),
        })
        .collect()
}

/// Every case with every one of its queries.
fn tries(cases: &[Case]) -> Vec<(&Case, &str)> {
    cases
        .iter()
        .flat_map(|case| case.queries.iter().map(move |query| (case, *query)))
        .collect()
}

pub(super) fn check_broken(server: &TestServer, data: &Path, case: &Case, query: &str) {
    let reply = get(server.addr, &ticket_target(case.file, query));
    let root = server.root.as_path();
    match case.expect {
        Expect::Broken(topics) => {
            assert_clean_error(&reply, 500, "InternalServerError", topics, root);
        }
        Expect::Missing(topics) => assert_clean_error(&reply, 404, "NotFound", topics, root),
        Expect::BrokenOrSound(topics) if reply.status != 200 => {
            assert_clean_error(&reply, 500, "InternalServerError", topics, root);
        }
        Expect::BrokenOrSound(_) => {
            let served = assert_sound_ticket(server, &reply, case.file, root);
            let expected = case
                .original
                .and_then(|original| expected_records(data, original, query));
            if let (Some(served), Some(expected)) = (served, expected) {
                assert!(
                    served >= expected,
                    "the ticket silently drops records: {served} served, the intact file holds \
                     {expected} there"
                );
            }
        }
    }
}
