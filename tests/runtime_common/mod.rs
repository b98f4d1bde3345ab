//! Helpers for the runtime's integration tests: run the built netsh (as root) on a script, usually
//! under --sandbox, and read iproute2's JSON that the script printed through `exec "ip -j ..."`.
#![allow(dead_code)]

use std::process::{Command, Output};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success, showing the output when it was not.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "netsh failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a run-time failure (exit 1) whose diagnostic mentions `text`.
    pub fn fails_with(self, text: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        // miette wraps long messages across lines framed by `│`; compare the words
        let flat = |s: &str| {
            s.replace(['│', '×'], " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            flat(&self.stderr).contains(&flat(text)),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Every stdout line that is a JSON array or object (what `ip -j` and `show ... json` print).
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with('[') || l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
            .collect()
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn netsh(args: &[&str]) -> Run {
    finish(
        Command::new(env!("CARGO_BIN_EXE_netsh"))
            .args(args)
            .output()
            .expect("netsh runs"),
    )
}

/// Runs a script in a private network and mount namespace.
pub fn sandbox(script: &str) -> Run {
    netsh(&["--sandbox", "-c", script])
}

/// The objects of one `ip -j` listing whose `key` is `value`.
pub fn find<'a>(
    list: &'a serde_json::Value,
    key: &str,
    value: &str,
) -> Option<&'a serde_json::Value> {
    list.as_array()?.iter().find(|o| o[key] == value)
}

/// The addresses (`local/prefixlen`) in an `ip -j addr show` listing.
pub fn addresses(list: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for link in list.as_array().into_iter().flatten() {
        for a in link["addr_info"].as_array().into_iter().flatten() {
            out.push(format!(
                "{}/{}",
                a["local"].as_str().unwrap_or(""),
                a["prefixlen"]
            ));
        }
    }
    out
}

/// Runs `script` under --sandbox with --json diagnostics; returns the run, its first diagnostic
/// and the part of the script the diagnostic's span covers.
pub fn sandbox_diagnostic(script: &str) -> (Run, serde_json::Value, String) {
    let r = netsh(&["--sandbox", "--json", "-c", script]);
    let d: serde_json::Value = r
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON diagnostic in:\n{}", r.stderr));
    let (start, end) = (d["span"]["start"].as_u64(), d["span"]["end"].as_u64());
    let spanned = match (start, end) {
        (Some(s), Some(e)) => script.get(s as usize..e as usize).unwrap_or("<bad span>"),
        _ => "<no span>",
    }
    .to_string();
    (r, d, spanned)
}
