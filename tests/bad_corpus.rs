//! The bad-input corpus (tests/bad/, written by scripts/gen-bad-corpus): every malformed script
//! answers with its expected exit status, diagnostic code and span, never panics (exit 101), and
//! applies nothing: each is also run for real in a private network namespace whose state must be
//! the same afterwards.

mod util;

use std::process::Command;
use util::private_world::{first_difference, private, sections};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad");

struct Row {
    file: String,
    exit: i32,
    code: String,
    span: (i64, i64),
    sandbox: bool,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(format!("{DIR}/EXPECTED")).expect("tests/bad/EXPECTED");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "bad EXPECTED line {l:?}");
            Row {
                file: f[0].to_string(),
                exit: f[1].parse().expect("exit"),
                code: f[2].to_string(),
                span: (f[3].parse().expect("start"), f[4].parse().expect("end")),
                sandbox: f[5] == "sandbox",
            }
        })
        .collect()
}

#[test]
fn the_corpus_has_at_least_200_scripts_each_with_its_answer() {
    let rows = rows();
    assert!(rows.len() >= 200, "only {} scripts", rows.len());
    let files = std::fs::read_dir(DIR)
        .expect("tests/bad")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".netsh"))
        })
        .count();
    assert_eq!(files, rows.len(), "every script has a line in EXPECTED");
}

#[test]
fn every_bad_script_answers_with_its_exit_code_and_span() {
    requires!(Root);
    let mut wrong = Vec::new();
    for r in rows() {
        let path = format!("{DIR}/{}", r.file);
        let how = if r.sandbox { "--sandbox" } else { "--check" };
        let out = Command::new(util::private_world::NETSH)
            .args(["--json", how, &path])
            .output()
            .expect("netsh runs");
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(code, 101, "{}: netsh panicked:\n{stderr}", r.file);
        // the first `error` record (standard output; the diagnostic in words is on stderr)
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["type"] == "error" && v["code"].is_string());
        let got = match &first {
            Some(d) => (
                d["code"].as_str().unwrap_or("?").to_string(),
                d["span"]["start"].as_i64().unwrap_or(-2),
                d["span"]["end"].as_i64().unwrap_or(-2),
            ),
            // input that is not UTF-8 is refused before parsing, in words
            None if stderr.contains("is not UTF-8 text") => ("-".to_string(), -1, -1),
            None => ("none".to_string(), -2, -2),
        };
        if code != r.exit || got != (r.code.clone(), r.span.0, r.span.1) {
            wrong.push(format!(
                "{}: expected exit {} {} {:?}, got exit {code} {got:?}",
                r.file, r.exit, r.code, r.span
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn no_bad_script_leaves_anything_behind_when_run_for_real() {
    requires!(Root);
    let rows = rows();
    let out = private(&format!(
        "cd {DIR}; echo '--- before'; snap\nfor f in *.netsh; do $NETSH \"$f\" >/dev/null 2>&1; echo \"--- $f $?\"; done\necho '--- after'; snap"
    ));
    let s = sections(&out.stdout);
    let before = s.get("before").expect("a snapshot before");
    for r in &rows {
        let key = format!("{} {}", r.file, r.exit);
        assert!(
            s.contains_key(&key),
            "{} did not exit {} when run for real: {:?}",
            r.file,
            r.exit,
            s.keys()
                .filter(|k| k.starts_with(&r.file))
                .collect::<Vec<_>>()
        );
    }
    if let Some(d) = first_difference(before, s.get("after").expect("after")) {
        panic!("the bad scripts left something behind: {d}");
    }
    println!("scripts tried: {}, leftovers found: 0", rows.len());
}
