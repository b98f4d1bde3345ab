//! A run shows its checks: a line per check, a summary, `--quiet`, `--keep-going`, JSON records,
//! and the CI reports (`--report tap`, `--report junit=FILE`). Kernel runs use `--sandbox`.

mod util;

use util::Netsh;

/// Two namespaces on a switch; h1 reaches h2 and nothing at 10.0.0.9.
const LAB: &str = "switch lan
host h1 on lan addr 10.0.0.1/24
host h2 on lan addr 10.0.0.2/24
";

/// The lines of the run's standard output that report a check (`✓ ...` or `✗ ...`).
fn check_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .collect()
}

#[test]
fn a_passing_run_prints_each_check_and_a_summary() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .script(format!(
            "{LAB}expect reach 10.0.0.2 from h1\nlet far = 10.0.0.9\nexpect no-reach $far from h1 timeout 0.3\n"
        ))
        .run()
        .ok();
    let lines = check_lines(&r.stdout);
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with("✓ reach 10.0.0.2 from h1  "),
        "{}",
        r.stdout
    );
    assert!(
        lines[0].ends_with(" ms") || lines[0].ends_with(" s"),
        "{}",
        r.stdout
    );
    // a variable is shown with its value
    assert!(
        lines[1].starts_with("✓ no-reach 10.0.0.9 from h1 timeout 0.3  "),
        "{}",
        r.stdout
    );
    let last = r.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("2 checks passed, 0 failed · ")
            && last.contains(" changes · ")
            && last.ends_with(" s"),
        "{}",
        r.stdout
    );
    // not a terminal: no escape codes, and no line for a check while it runs
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
    assert!(!r.stdout.contains('…'), "{:?}", r.stdout);
}

#[test]
fn no_color_and_a_pipe_give_no_escape_codes() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .script(format!("{LAB}expect reach 10.0.0.2 from h1\n"))
        .run()
        .ok();
    assert!(
        r.stdout.contains("✓ reach 10.0.0.2 from h1"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
}

/// The failing check in the middle; without --keep-going the run stops there.
fn failing() -> String {
    format!(
        "{LAB}expect reach 10.0.0.2 from h1
expect reach 10.0.0.9 from h1 timeout 0.3
expect reach 10.0.0.1 from h2
"
    )
}

#[test]
fn a_failed_check_stops_the_run() {
    requires!(Root);
    let r = Netsh::new().sandbox().script(failing()).run();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let lines = check_lines(&r.stdout);
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with("✓ reach 10.0.0.2 from h1"));
    assert!(lines[1].starts_with("✗ reach 10.0.0.9 from h1 timeout 0.3"));
    assert!(
        r.stdout.contains("1 check passed, 1 failed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("expected 10.0.0.9 to be reachable from h1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
}

#[test]
fn keep_going_runs_every_check_and_fails_at_the_end() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .arg("--keep-going")
        .script(format!(
            "{}expect reach 10.0.0.8 from h2 timeout 0.3\n",
            failing()
        ))
        .run();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let lines = check_lines(&r.stdout);
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(lines[1].starts_with("✗ reach 10.0.0.9"));
    assert!(lines[2].starts_with("✓ reach 10.0.0.1 from h2"));
    assert!(lines[3].starts_with("✗ reach 10.0.0.8"));
    assert!(
        r.stdout.contains("2 checks passed, 2 failed"),
        "{}",
        r.stdout
    );
    // every failure is reported, and the run is undone
    assert!(
        r.stderr.contains("expected 10.0.0.9 to be reachable"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("expected 10.0.0.8 to be reachable"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
}

#[test]
fn keep_going_still_stops_at_a_statement_that_is_not_a_check() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .arg("--keep-going")
        .script(format!(
            "{LAB}expect reach 10.0.0.9 from h1 timeout 0.3\nlink set nosuch up in h1\nexpect reach 10.0.0.2 from h1\n"
        ))
        .run();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(check_lines(&r.stdout).len(), 1, "{}", r.stdout);
}

#[test]
fn quiet_keeps_only_failures() {
    requires!(Root);
    let ok = Netsh::new()
        .sandbox()
        .arg("--quiet")
        .script(format!("{LAB}expect reach 10.0.0.2 from h1\n"))
        .run()
        .ok();
    assert_eq!(ok.stdout, "", "{}", ok.stdout);
    let bad = Netsh::new()
        .sandbox()
        .args(["-q", "--keep-going"])
        .script(failing())
        .run();
    assert_eq!(bad.code, 1);
    let lines = check_lines(&bad.stdout);
    assert_eq!(lines.len(), 1, "{}", bad.stdout);
    assert!(lines[0].starts_with("✗ reach 10.0.0.9"));
}

#[test]
fn checks_are_json_records_with_json() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .args(["--json", "--keep-going"])
        .script(failing())
        .run();
    assert_eq!(r.code, 1);
    let j = r.json();
    let checks: Vec<_> = j.iter().filter(|v| v["type"] == "check").collect();
    assert_eq!(checks.len(), 3, "{}", r.stdout);
    assert_eq!(checks[0]["ok"], true);
    assert_eq!(checks[0]["expect"], "10.0.0.2");
    assert_eq!(checks[0]["from"], "h1");
    assert_eq!(checks[0]["line"], 4);
    assert!(checks[0]["ms"].as_f64().is_some());
    assert_eq!(checks[1]["ok"], false);
    assert!(
        checks[1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("10.0.0.9")
    );
    let summary = j
        .iter()
        .find(|v| v["type"] == "summary")
        .expect("a summary record");
    assert_eq!(summary["passed"], 2);
    assert_eq!(summary["failed"], 1);
}

#[test]
fn a_dry_run_prints_no_check_lines() {
    let r = Netsh::dry(&format!("{LAB}expect reach 10.0.0.2 from h1\n"))
        .run()
        .ok();
    assert!(check_lines(&r.stdout).is_empty(), "{}", r.stdout);
    assert!(!r.stdout.contains("checks passed"), "{}", r.stdout);
}

#[test]
fn tap_reports_each_check_with_a_plan() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .args(["--report", "tap", "--keep-going"])
        .script(failing())
        .run();
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "TAP version 14", "{}", r.stdout);
    assert!(
        lines.contains(&"ok 1 - reach 10.0.0.2 from h1 (line 4)"),
        "{}",
        r.stdout
    );
    assert!(
        lines.contains(&"not ok 2 - reach 10.0.0.9 from h1 timeout 0.3 (line 5)"),
        "{}",
        r.stdout
    );
    assert!(
        lines.contains(&"ok 3 - reach 10.0.0.1 from h2 (line 6)"),
        "{}",
        r.stdout
    );
    assert!(lines.contains(&"1..3"), "{}", r.stdout);
    // the failure's YAML block follows its line
    let at = lines
        .iter()
        .position(|l| l.starts_with("not ok 2"))
        .unwrap();
    assert_eq!(lines[at + 1], "  ---");
    assert!(lines[at + 2].starts_with("  message: \"expected 10.0.0.9 to be reachable"));
    assert!(lines[at..].contains(&"  ..."));
    assert!(!r.stdout.contains('✓'), "{}", r.stdout);
}

#[test]
fn junit_has_a_case_per_check() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xml");
    let r = Netsh::new()
        .sandbox()
        .args(["--keep-going", "--report"])
        .arg(&format!("junit={}", path.display()))
        .script(failing())
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let xml = std::fs::read_to_string(&path).expect("the JUnit file");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases
        .iter()
        .map(|c| c.attribute("name").unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "reach 10.0.0.2 from h1 (line 4)",
            "reach 10.0.0.9 from h1 timeout 0.3 (line 5)",
            "reach 10.0.0.1 from h2 (line 6)"
        ]
    );
    let failed: Vec<_> = cases
        .iter()
        .filter_map(|c| c.children().find(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1, "{xml}");
    assert!(
        failed[0]
            .attribute("message")
            .unwrap_or_default()
            .contains("expected 10.0.0.9 to be reachable from h1"),
        "{xml}"
    );
    assert!(
        failed[0].text().unwrap_or_default().contains("10.0.0.9"),
        "{xml}"
    );
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
}

#[test]
fn a_malformed_report_exits_2_before_anything_runs() {
    for bad in ["html", "junit", "junit=", "tap=out.txt"] {
        let r = Netsh::new().args(["--report", bad, "-c", "echo ran"]).run();
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(!r.stdout.contains("ran"), "{bad}");
        assert!(r.stderr.contains("--report"), "{bad}: {}", r.stderr);
    }
}

#[test]
fn a_condition_expect_is_a_check_too() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .script("let x = 1\nexpect $x == 1\n")
        .run()
        .ok();
    assert_eq!(check_lines(&r.stdout).len(), 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("1 check passed, 0 failed"),
        "{}",
        r.stdout
    );
}

/// A check's line names what it checked with the values of its variables, the `in NS` one too,
/// and says `in NS` for state read in a namespace where a probe says `from NS`.
#[test]
fn a_check_line_shows_its_namespace_variable_and_where_state_was_read() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .script(format!(
            "{LAB}for h in h1 h2 {{ expect route 10.0.0.0/24 dev eth0 in $h }}
in h1 {{ expect link eth0 up }}
in h1 {{ expect reach 10.0.0.2 }}
"
        ))
        .run()
        .ok();
    let lines = check_lines(&r.stdout);
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0].starts_with("✓ route 10.0.0.0/24 dev eth0 in h1  "),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].starts_with("✓ route 10.0.0.0/24 dev eth0 in h2  "),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].starts_with("✓ link eth0 up in h1  "),
        "{}",
        r.stdout
    );
    assert!(
        lines[3].starts_with("✓ reach 10.0.0.2 from h1  "),
        "{}",
        r.stdout
    );
}

/// On a terminal a check shows what it waits for while it runs, and its outcome then takes that
/// line's place (erased with `\r` and `ESC [K`).
#[test]
fn on_a_terminal_a_running_check_shows_it_is_waiting() {
    requires!(Root);
    use rexpect::session::{Options, spawn_with_options};
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("wait.netsh");
    std::fs::write(
        &script,
        format!("{LAB}expect no-reach 10.0.0.9 from h1 timeout 1\necho after\n"),
    )
    .expect("write the script");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_netsh"));
    cmd.arg("--sandbox")
        .arg(&script)
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    let options = Options::new()
        .timeout_ms(Some(30_000))
        .strip_ansi_escape_codes(false);
    let mut pty = spawn_with_options(cmd, options).expect("netsh starts on a pty");
    // (the pty's text is read byte by byte as Latin-1: only ASCII is matched)
    pty.exp_string("no-reach 10.0.0.9 from h1 timeout 1")
        .expect("the waiting line");
    let rest_of_line = pty
        .exp_string("\r\x1b[K")
        .expect("the waiting line is erased");
    assert!(
        !rest_of_line.contains('\n'),
        "the waiting line is erased, not ended: {rest_of_line:?}"
    );
    pty.exp_string("no-reach 10.0.0.9 from h1 timeout 1  ")
        .expect("the outcome in its place");
    pty.exp_string("after").expect("the run goes on");
    pty.exp_eof().expect("netsh ends");
}
