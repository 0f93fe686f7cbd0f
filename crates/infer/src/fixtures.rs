//! Finding the bundled `fixtures/` folder.

use std::path::{Path, PathBuf};

use crate::Failure;

/// The MNIST test images, as bundled.
pub const IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// The MNIST test labels, as bundled.
pub const LABELS: &str = "t10k-labels-idx1-ubyte.gz";
/// The book's pretrained weights.
pub const WEIGHTS: &str = "sample_weight.pkl";

/// The `fixtures/` folder of this repository, searched for from the current
/// directory upwards. The folder the binary was built from is not a
/// fallback: a copied binary must not read files the user cannot see.
///
/// # Errors
/// If no folder from here up holds `fixtures/sample_weight.pkl`: the
/// message says where it looked and which flags to pass instead.
pub fn dir() -> Result<PathBuf, Failure> {
    let has = |d: &Path| d.join("fixtures").join(WEIGHTS).is_file();
    let cwd = std::env::current_dir()
        .map_err(|e| Failure(format!("cannot find the bundled fixtures/: the current folder is unreadable: {e}")))?;
    if let Some(d) = cwd.ancestors().find(|d| has(d)) {
        return Ok(relative_to(&cwd, &d.join("fixtures")));
    }
    Err(Failure(format!(
        "cannot find fixtures/{WEIGHTS} in {} or any folder above it; \
         run inside the repository or pass --images, --labels and --weights",
        cwd.display()
    )))
}

/// `target` relative to `base` when it lies below it, for shorter messages.
fn relative_to(base: &Path, target: &Path) -> PathBuf {
    target.strip_prefix(base).map(Path::to_path_buf).unwrap_or_else(|_| target.to_path_buf())
}

/// The path given with a flag, or the bundled file `name`.
///
/// # Errors
/// As [`dir`], when the flag is absent and the fixtures cannot be found.
pub fn or_bundled(given: Option<&str>, name: &str) -> Result<PathBuf, Failure> {
    match given {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(dir()?.join(name)),
    }
}
