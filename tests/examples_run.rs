//! Every example in examples/ runs under --sandbox and its expect checks pass, except those marked
//! with a line starting `# netsh-test: dry-run-only` (they need flannel, ipvlan or 802.1Q VLANs, which this
//! machine's kernel or this build lacks); those must still pass a dry run.

mod util;

use std::path::Path;

const MARK: &str = "# netsh-test: dry-run-only";

#[test]
fn every_example_runs_in_a_sandbox() {
    requires!(Root);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "netsh"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no examples found");
    let mut failures = Vec::new();
    for path in &entries {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let dry_only = text.lines().any(|l| l.trim_start().starts_with(MARK));
        let mode = if dry_only { "--dry-run" } else { "--sandbox" };
        let out = util::netsh(&[mode, path.to_str().expect("a UTF-8 path")]);
        if out.code != 0 {
            failures.push(format!(
                "{} ({mode}) exited {}\n{}{}",
                path.display(),
                out.code,
                out.stdout,
                out.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} example(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
