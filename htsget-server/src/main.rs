//! The htsget server binary. The HTTP server itself is not built yet: this binary only says so.

fn main() {
    eprintln!(
        "htsget-server {}: the HTTP server is not implemented yet; see README.md",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
