//! The command line: each setting as a flag, also read from its `HTSGET_*` environment
//! variable.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

use super::{AccessArgs, LogFormat, StoreArgs};

/// Command-line options (each also read from an `HTSGET_*` environment variable).
#[derive(Debug, Default, Parser)]
#[command(
    name = "htsget-server",
    version,
    about = "A GA4GH htsget 1.3 server for BAM, CRAM, VCF and BCF"
)]
pub struct Cli {
    /// The data root: `/reads/{id}` serves `<DIR>/{id}.bam` or `.cram`, `/variants/{id}` serves
    /// `<DIR>/{id}.vcf.gz` or `.bcf`, each with its index beside it. `s3://BUCKET[/PREFIX]`
    /// (also `gs://`, `az://`) serves objects of a bucket, with the standard environment
    /// variables for the connection (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, ...). Without it,
    /// a built-in demo dataset is served.
    #[arg(long, value_name = "DIR|URL", env = "HTSGET_DATA")]
    pub data: Option<PathBuf>,

    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT", env = "HTSGET_BIND")]
    pub bind: Option<SocketAddr>,

    /// The base of the URLs in tickets [default: http://ADDR:PORT of --bind].
    #[arg(long, value_name = "URL", env = "HTSGET_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// A TOML file with any of these settings (kebab-case keys).
    #[arg(long, value_name = "FILE", env = "HTSGET_CONFIG")]
    pub config: Option<PathBuf>,

    /// The largest POST body accepted, in bytes [default: 65536].
    #[arg(long, value_name = "BYTES", env = "HTSGET_MAX_POST_BYTES")]
    pub max_post_bytes: Option<u64>,

    /// The most regions one POST may ask for [default: 1024].
    #[arg(long, value_name = "N", env = "HTSGET_MAX_REGIONS")]
    pub max_regions: Option<usize>,

    /// The longest request target (path and query) accepted, in bytes [default: 8192].
    #[arg(long, value_name = "BYTES", env = "HTSGET_MAX_URL_BYTES")]
    pub max_url_bytes: Option<usize>,

    /// The most bytes of request line and headers buffered per request [default: 65536].
    #[arg(long, value_name = "BYTES", env = "HTSGET_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,

    /// Seconds a client may take to send a request's headers, and may stay idle between
    /// requests on a kept-alive connection [default: 10].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,

    /// Seconds a client may leave a response unread before its connection is closed
    /// [default: 60].
    #[arg(long, value_name = "SECONDS", env = "HTSGET_WRITE_TIMEOUT")]
    pub write_timeout: Option<u64>,

    /// The most connections served at once; more wait to be accepted [default: 1024].
    #[arg(long, value_name = "N", env = "HTSGET_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Memory for parsed indexes and headers kept between requests, in MiB [default: 512].
    #[arg(long, value_name = "MIB", env = "HTSGET_CACHE_MB")]
    pub cache_mb: Option<u64>,

    /// Serve files reached through symbolic links that lead outside the data root.
    #[arg(long, env = "HTSGET_FOLLOW_SYMLINKS")]
    pub follow_symlinks: bool,

    /// Serve `/metrics` (and `/healthz`, `/readyz`) on this address only, not on `--bind`.
    #[arg(long, value_name = "ADDR:PORT", env = "HTSGET_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Log lines as `text` or `json` (one object per line) [default: text].
    #[arg(long, value_enum, value_name = "FORMAT", env = "HTSGET_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Where the `/viewer` page loads igv.js from [default: a pinned jsDelivr URL].
    #[arg(long, value_name = "URL", env = "HTSGET_IGV_JS")]
    pub igv_js: Option<String>,

    /// The server's Crypt4GH secret key file: files stored as `ID.bam.c4gh` (and `.cram.c4gh`,
    /// `.vcf.gz.c4gh`, `.bcf.c4gh`, indexes plain or `.c4gh`) are served to clients asking with
    /// `encryptionScheme=C4GH`, re-encrypted for their key. A locked key's passphrase comes from
    /// `C4GH_PASSPHRASE`.
    #[arg(long, value_name = "PATH", env = "HTSGET_C4GH_KEY")]
    pub c4gh_key: Option<PathBuf>,

    /// Crypt4GH tickets pass the stored segments through and re-wrap the file's own data key
    /// for the client (who could then open every segment of the file), instead of re-keying;
    /// the only way with `--urls direct`. Per root: `c4gh-passthrough` in `[[roots]]`.
    #[arg(long, env = "HTSGET_C4GH_PASSTHROUGH")]
    pub c4gh_passthrough: bool,

    /// Object-store settings.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Access-control and TLS settings.
    #[command(flatten)]
    pub access: AccessArgs,
}
