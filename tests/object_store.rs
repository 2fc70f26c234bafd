//! Object storage: every ground-truth row served from a real S3 server (moto), in both URL
//! modes, through samtools and bcftools given htsget URLs.

mod faults;
pub(crate) mod moto;
mod presign;
mod scale;

use std::fmt::Write as _;

use htsget_server::config::UrlMode;

use self::moto::Moto;
use crate::{
    clients::{check_row, python_client_rows, ticket_url},
    common::{Tool, data_dir, require},
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
    if !require(&[Tool::Moto, Tool::Samtools, Tool::Bcftools, Tool::Htsget]) {
        return;
    }
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
            match check_row(server.addr, &dir, row, &url, &[], &out) {
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

        let checked = python_client_rows(&server.url, &dir, &[], &[]);
        println!("S3 ({mode:?} URLs): python htsget client: {checked} BAM/VCF regions right");
        assert!(checked >= 20, "too few rows checked: {checked}");
    }
}

/// A local folder and a bucket side by side, each under its id prefix, from the TOML file's
/// `[[roots]]`: the same BAM through either gives the same reads.
#[test]
fn local_and_s3_roots_side_by_side() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Moto, Tool::Samtools]) {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    moto.put_bam(&dir);

    let tmp = tempfile::tempdir().unwrap();
    let options: String = moto
        .settings()
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}\n"))
        .collect();
    let toml = format!(
        "[[roots]]\nprefix = \"local\"\ndata = {:?}\n\n[[roots]]\nprefix = \"s3\"\n\
         data = \"s3://genomes/archive\"\nurls = \"direct\"\n\n[store-options]\n{options}",
        dir.display().to_string()
    );
    let path = tmp.path().join("htsget.toml");
    std::fs::write(&path, toml).unwrap();
    let cli = <htsget_server::Cli as clap::Parser>::parse_from([
        "htsget-server",
        "--config",
        path.to_str().unwrap(),
    ]);
    let file_config = htsget_server::Config::from_cli(cli).expect("the TOML parses");
    let server = TestServer::start(None, move |config| {
        config.roots = file_config.roots;
        config.store = file_config.store;
    });

    let query = "referenceName=11&start=4999999&end=5050000";
    let mut counts = Vec::new();
    for id in [
        "local/bam/htsnexus_test_NA12878",
        "s3/bam/htsnexus_test_NA12878",
    ] {
        let url = format!("{}/reads/{id}?{query}", server.url);
        let output = crate::common::run("samtools", &["view", "-c", &url]);
        assert!(
            output.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        counts.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    assert_eq!(counts[0], counts[1], "local and S3 give different reads");
    assert!(counts[0].parse::<u64>().unwrap() > 0);

    // An id under neither prefix names nothing.
    let reply = crate::server::get(
        server.addr,
        &format!("/reads/bam/htsnexus_test_NA12878?{query}"),
    );
    assert_eq!(reply.status, 404);
}
