//! Every example in examples/ runs under --sandbox and its expect checks pass, except those marked
//! with a line starting `# netsh-test: dry-run-only` (they need flannel, ipvlan or 802.1Q VLANs, which this
//! machine's kernel or this build lacks); those must still pass a dry run.

mod util;

#[test]
fn every_example_runs_in_a_sandbox() {
    requires!(Root);
    let mut failures = Vec::new();
    for path in &util::examples::all() {
        let mode = if util::examples::runs_here(path) {
            "--sandbox"
        } else {
            "--dry-run"
        };
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
