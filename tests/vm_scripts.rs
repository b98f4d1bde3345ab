//! The scripts scripts/vm-test runs inside its VM (tests/vm/, see docs/VM.md) are checked here too,
//! so a mistake in one is found by `cargo test` in a second rather than after a VM boot: each must
//! parse and check, end in `expect` checks, and carry its expected-failure marks in pairs.

mod util;

use std::path::Path;

const EXPECT_FAIL: &str = "# netsh-vm: expect-fail:";
const FAIL_MESSAGE: &str = "# netsh-vm: fail-message:";

#[test]
fn every_vm_script_checks_and_marks_expected_failures_with_their_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/vm exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "netsh"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 5, "tests/vm holds the VM's scripts");
    let mut problems = Vec::new();
    for path in &scripts {
        let name = path.display();
        let out = util::netsh(&["--check", path.to_str().expect("a UTF-8 path")]);
        if out.code != 0 {
            problems.push(format!("{name} does not check:\n{}", out.stderr));
        }
        let text = std::fs::read_to_string(path).unwrap();
        let marks = |m: &str| {
            text.lines()
                .filter(|l| l.starts_with(m))
                .map(|l| l[m.len()..].trim().to_string())
                .collect::<Vec<_>>()
        };
        let (reason, message) = (marks(EXPECT_FAIL), marks(FAIL_MESSAGE));
        if reason.len() > 1 || message.len() > 1 || reason.len() != message.len() {
            problems.push(format!(
                "{name}: `{EXPECT_FAIL}` and `{FAIL_MESSAGE}` come together, once each"
            ));
        }
        if reason.iter().chain(&message).any(String::is_empty) {
            problems.push(format!(
                "{name}: an expected failure says why and how it fails"
            ));
        }
        if !text.lines().any(|l| l.trim_start().starts_with("expect ")) {
            problems.push(format!("{name} has no `expect` check"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
