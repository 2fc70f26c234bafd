//! The `htsget-server` binary.

use std::process::ExitCode;

use clap::Parser;
use htsget_server::{Cli, Config, Server};

fn main() -> ExitCode {
    let config = match Config::from_cli(Cli::parse()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("htsget-server: {e}");
            return ExitCode::from(2);
        }
    };
    htsget_server::logging::init(config.log_format);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("htsget-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("htsget-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind(config).await?;
    #[cfg(feature = "demo")]
    let url = server.public_url().to_owned();
    tracing::info!(address = %server.local_addr(), data = %server.data_root().display(), "listening");

    #[cfg(feature = "demo")]
    if server.is_demo() {
        print_demo(&url, server.data_root());
    }

    // SIGHUP re-reads the command line's file and environment.
    let reload = || Config::from_cli(Cli::parse());
    server
        .serve_with_reload(shutdown_signal(), Some(reload))
        .await?;
    Ok(())
}

#[cfg(feature = "demo")]
fn print_demo(url: &str, root: &std::path::Path) {
    let id = htsget_server::demo::ID;
    println!(
        "Serving the built-in demo dataset from {} at {url}",
        root.display()
    );
    println!("Try:");
    println!("  samtools view -c '{url}/reads/{id}?referenceName=chr1&start=10000&end=20000'");
    println!("  samtools view -H '{url}/reads/{id}?class=header'");
    println!(
        "  samtools view -c -T {}/ref.fa '{url}/reads/{id}?format=CRAM&referenceName=chr2'",
        root.display()
    );
    println!("  bcftools view -H '{url}/variants/{id}?referenceName=chr1&start=0&end=30000'");
    println!("  bcftools view -H '{url}/variants/{id}?format=BCF&referenceName=chr2'");
    println!("  curl -s '{url}/reads/{id}?referenceName=chr1&start=0&end=1000'");
    println!("Look at a region in a browser:");
    println!("  {url}/viewer?reads={id}&variants={id}&locus=chr1:10001-12000");
    println!("  curl -s '{url}/reads/service-info'");
    println!("Serve your own files with --data DIR (see --help).");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
