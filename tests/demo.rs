//! The first contact: a server with no data root serves the built-in demo dataset, and the
//! commands it prints work. [`files`] checks the dataset's files themselves.

mod files;

use crate::{
    common::{Tool, require, run},
    ground_truth::clean,
    server::TestServer,
};

fn count(output: std::process::Output, what: &str) -> u64 {
    clean(output, what).unwrap().trim().parse().unwrap()
}

fn lines(output: std::process::Output, what: &str) -> u64 {
    clean(output, what).unwrap().lines().count() as u64
}

#[test]
fn demo_dataset_answers_samtools_and_bcftools() {
    if !require(&[Tool::Samtools, Tool::Bcftools]) {
        return;
    }
    let server = TestServer::start(None, |_| {});
    let (url, root) = (&server.url, server.root.to_str().unwrap().to_owned());
    let reference = format!("{root}/ref.fa");
    let tmp = tempfile::tempdir().unwrap();

    for (format, file, extra) in [
        ("BAM", "sample.bam", None),
        ("CRAM", "sample.cram", Some(&reference)),
    ] {
        let ticket =
            format!("{url}/reads/sample?format={format}&referenceName=chr1&start=10000&end=20000");
        let mut args = vec!["view", "-b", "-o"];
        let out = tmp
            .path()
            .join(format!("{format}.bam"))
            .to_string_lossy()
            .into_owned();
        args.push(&out);
        if let Some(reference) = extra {
            args.extend(["-T", reference.as_str()]);
        }
        args.push(&ticket);
        clean(run("samtools", &args), "samtools view URL").unwrap();
        clean(run("samtools", &["index", &out]), "samtools index").unwrap();

        let local = format!("{root}/{file}");
        let mut direct = vec!["view", "-c"];
        if let Some(reference) = extra {
            direct.extend(["-T", reference.as_str()]);
        }
        let expected = count(
            run(
                "samtools",
                &[direct.clone(), vec![&local, "chr1:10001-20000"]].concat(),
            ),
            "direct",
        );
        let got = count(
            run("samtools", &["view", "-c", &out, "chr1:10001-20000"]),
            "payload",
        );
        assert!(expected > 0);
        assert_eq!(got, expected, "{format}");
    }

    for (format, file) in [("VCF", "sample.vcf.gz"), ("BCF", "sample.bcf")] {
        let ticket = format!("{url}/variants/sample?format={format}&referenceName=chr2");
        let local = format!("{root}/{file}");
        let expected = lines(
            run("bcftools", &["view", "-H", "-r", "chr2", &local]),
            "direct",
        );
        let got = lines(run("bcftools", &["view", "-H", &ticket]), "URL");
        assert!(expected > 0);
        assert_eq!(got, expected, "{format}");

        let empty = format!("{url}/variants/sample?format={format}&referenceName=chr3");
        assert_eq!(lines(run("bcftools", &["view", "-H", &empty]), "chr3"), 0);
    }
}
