//! The command line: each setting as a flag, also read from its `HTSGET_*` environment
//! variable.

use std::path::PathBuf;

use clap::Parser;

use super::{AccessArgs, ConfigArgs, StoreArgs, TlsArgs};

/// Command-line options (each also read from an `HTSGET_*` environment variable).
#[derive(Debug, Default, Parser)]
#[command(
    name = "htsget-server",
    version,
    about = "A GA4GH htsget 1.3 server for BAM, CRAM, VCF and BCF"
)]
pub struct Cli {
    /// A TOML file with any of these settings (kebab-case keys).
    #[arg(long, value_name = "FILE", env = "HTSGET_CONFIG")]
    pub config: Option<PathBuf>,

    /// The server's settings.
    #[command(flatten)]
    pub settings: ConfigArgs,

    /// Object-store settings.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Access-control settings.
    #[command(flatten)]
    pub access: AccessArgs,

    /// TLS settings.
    #[command(flatten)]
    pub tls: TlsArgs,
}
