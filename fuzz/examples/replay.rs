//! Runs the `index_plan` target on the files given as arguments (crashes and corpus entries),
//! reporting each one's time, so that a finding can be replayed under a debugger or profiler
//! without libFuzzer.

use std::time::Instant;

fn main() -> std::io::Result<()> {
    for path in std::env::args_os().skip(1) {
        let input = std::fs::read(&path)?;
        let started = Instant::now();
        htsget_fuzz::index_plan(&input);
        eprintln!("{}: {:?}", path.to_string_lossy(), started.elapsed());
    }
    Ok(())
}
