//! Writes the indexes noodles built for the demo dataset (the data files the `index_plan`
//! target uses, so their offsets match) into the directory given as the only argument, named
//! like the data files plus `.bai`, `.tbi`, `.csi` or `.crai`; `seed.sh` turns them into seeds.

use std::{io, path::PathBuf};

use htsget_fuzz::{DemoFiles, FORMATS};

fn main() -> io::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or_else(|| io::Error::other("usage: demo_indexes <dir>"))?
        .into();
    std::fs::create_dir_all(&dir)?;

    let files = DemoFiles::get();
    for format in FORMATS {
        std::fs::write(
            dir.join(files.index_name(format)),
            files.index_bytes(format),
        )?;
    }

    Ok(())
}
