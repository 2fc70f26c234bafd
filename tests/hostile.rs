//! Hostile input, as the README's threat model lists it: path attacks on ids and data URLs,
//! every limit and timeout, and broken files. Requests go out as raw bytes, so that nothing is
//! normalised on the way. Symbolic links, FIFOs and `/dev/zero` make this Unix-only.
#![cfg(unix)]

mod broken;
mod checks;
mod crafted;
mod files;
mod limits;
mod paths;
mod tickets;
mod wire;

use crate::{
    common::data_dir,
    server::{TestServer, get},
};

use broken::{Case, check_broken, ticket_target};
use checks::check_each;
use crafted::{CRAFTED, CRAFTED_CASE, crafted_root};

const BAM_ID: &str = "bam/htsnexus_test_NA12878";
const VCF_ID: &str = "vcf/sample1-bcbio-cancer";

// This test stays here, not in `crafted`: `crafted::run_crafted_child` runs it by its path,
// `hostile::crafted_indexes_in_this_process`.
#[test]
#[ignore = "run in child processes by broken_files_give_clear_errors_and_the_server_keeps_serving"]
fn crafted_indexes_in_this_process() {
    let Some(data) = data_dir() else { return };
    let root = crafted_root(&data);
    let server = TestServer::start(Some(root.path()), |_| {});
    let only = std::env::var(CRAFTED_CASE).ok();

    let cases: Vec<&Case> = CRAFTED
        .iter()
        .filter(|case| only.as_deref().is_none_or(|file| file == case.file))
        .collect();
    assert!(!cases.is_empty(), "no crafted case {only:?}");
    check_each(
        &cases,
        |case| ticket_target(case.file, ""),
        |case| check_broken(&server, &data, case, ""),
    );

    let reply = get(server.addr, "/reads/good");
    assert_eq!(reply.status, 200, "good.bam after the crafted indexes");
}
