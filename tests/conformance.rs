//! Conformance with htsget 1.3 (SPEC-NOTES §11) over HTTP: status codes and error names for
//! every rule, payload validity checked with samtools/bcftools, CORS, service-info and the data
//! endpoint. One server per test, over the public data set.

mod cases;
mod cors;
mod data;
mod payloads;
mod post;
mod queries;
mod routes;
mod service_info;
mod tickets;

/// The media type of tickets.
const TICKET_TYPE: &str = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8";

/// Records in the whole NA12878 BAM/CRAM and in the whole sample1 VCF/BCF.
const NA12878_RECORDS: usize = 39918;
const SAMPLE1_RECORDS: usize = 12;

/// The storage key of the BAM data file.
const BAM_KEY: &str = "bam/htsnexus_test_NA12878.bam";

/// The ticket paths of the four test files.
const BAM_PATH: &str = "/reads/bam/htsnexus_test_NA12878";
const CRAM_PATH: &str = "/reads/cram/htsnexus_test_NA12878";
const VCF_PATH: &str = "/variants/vcf/sample1-bcbio-cancer";
const BCF_PATH: &str = "/variants/bcf/sample1-bcbio-cancer";
