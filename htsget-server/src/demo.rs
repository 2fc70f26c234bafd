//! The built-in demo dataset (placeholder until the generator lands).

use std::path::{Path, PathBuf};

/// The id every demo file answers to.
pub const ID: &str = "sample";

/// The demo files in a temporary directory.
#[derive(Debug)]
pub struct Dataset {
    root: PathBuf,
}

impl Dataset {
    /// Writes the demo files into a new temporary directory.
    pub fn generate() -> std::io::Result<Dataset> {
        Err(std::io::Error::other("the demo dataset is not built yet"))
    }

    /// The directory holding the files.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
