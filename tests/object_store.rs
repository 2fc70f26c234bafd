//! Object storage: every ground-truth row served from a real S3 server (moto), in both URL
//! modes, through samtools and bcftools given htsget URLs.

mod faults;
mod moto;
mod scale;

use std::fmt::Write as _;

use htsget_server::config::UrlMode;

use self::moto::Moto;
use crate::{
    clients::{check_row, ticket_url},
    common::data_dir,
    ground_truth::rows,
    server::TestServer,
};

/// A server over the bucket `genomes`, prefix `archive`, in `mode`.
fn s3_server(moto: &Moto, mode: UrlMode) -> TestServer {
    let settings = moto.settings();
    TestServer::start(None, move |config| {
        config.data = Some("s3://genomes/archive".into());
        config.store.urls = mode;
        config.store.options = settings.into_iter().collect();
    })
}

#[test]
fn ground_truth_rows_from_s3_in_both_url_modes() {
    let Some(dir) = data_dir() else { return };
    let Some(moto) = Moto::start() else { return };
    moto.upload("genomes", "archive", &dir);
    let rows = rows(&dir);
    let tmp = tempfile::tempdir().unwrap();

    for mode in [UrlMode::Server, UrlMode::Direct] {
        let server = s3_server(&moto, mode);
        let (mut passed, mut failures) = (0, String::new());

        for (i, row) in rows.iter().enumerate() {
            let url = ticket_url(&server.url, row);
            let out = tmp.path().join(format!("{mode:?}-{i}"));
            match check_row(&server, &dir, row, &url, &out) {
                Ok(()) => passed += 1,
                Err(why) => {
                    let _ = writeln!(failures, "{url}: {why}");
                }
            }
        }

        println!(
            "S3 ({mode:?} URLs): {passed} of {} ground-truth rows right through samtools/bcftools",
            rows.len()
        );
        assert!(failures.is_empty(), "{mode:?} failures:\n{failures}");
    }
}
