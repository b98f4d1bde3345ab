//! The scripts of examples/, and which of them run on this machine: all but those marked with a
//! line starting `# netsh-test: dry-run-only` (they need flannel's etcd, ipvlan or 802.1Q VLANs,
//! which this machine's kernel or this build lacks); those must still pass a dry run.

use std::path::{Path, PathBuf};

/// The mark of an example that only dry-runs here.
pub const DRY_RUN_ONLY: &str = "# netsh-test: dry-run-only";

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every example, sorted by name.
pub fn all() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "netsh"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no examples found");
    v
}

/// Whether the example runs on this machine (is not marked dry-run-only).
pub fn runs_here(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    !text
        .lines()
        .any(|l| l.trim_start().starts_with(DRY_RUN_ONLY))
}

/// The examples that run on this machine.
pub fn runnable() -> Vec<PathBuf> {
    all().into_iter().filter(|p| runs_here(p)).collect()
}
