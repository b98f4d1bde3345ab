//! The one harness of the integration tests, after casey/just's `Test`: a builder for running the
//! netsh binary (`Netsh::new().args(["--dry-run"]).script("netns add a").run().code(0)
//! .stdout_is("ip netns add a\n")`, `.sandbox()` or `.private_world()` for a real run),
//! `netsh`/`sandbox` for a quick run, helpers that read iproute2's JSON, `private_world` (shell
//! steps in a private network and mount namespace, with `ip -j` snapshots to compare), a real
//! `etcd` server and the `stores` fixtures, and `requires!` for what a test needs of the machine.
#![allow(dead_code)]

pub mod etcd;
pub mod etcd_cluster;
pub mod examples;
pub mod needs;
pub mod private_world;
pub mod running;
pub mod stores;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netsh")
}

pub struct Netsh {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    dir: tempfile::TempDir,
    script: Option<PathBuf>,
    script_args: Vec<String>,
    env: Vec<(String, String)>,
    private_world: bool,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Netsh {
    pub fn new() -> Netsh {
        Netsh {
            args: Vec::new(),
            stdin: None,
            dir: tempfile::tempdir().expect("a temp dir"),
            script: None,
            script_args: Vec::new(),
            env: Vec::new(),
            private_world: false,
        }
    }
    /// A dry run of `text` given as a script file.
    pub fn dry(text: &str) -> Netsh {
        Netsh::new().arg("--dry-run").script(text)
    }
    pub fn arg(mut self, a: &str) -> Netsh {
        self.args.push(a.into());
        self
    }
    pub fn args<const N: usize>(mut self, a: [&str; N]) -> Netsh {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }
    /// Runs in a private network and mount namespace that vanishes with the run (`--sandbox`).
    pub fn sandbox(self) -> Netsh {
        self.arg("--sandbox")
    }
    /// Runs in a network and mount namespace of its own with empty /run/netns, /run/netsh,
    /// /run/flannel and /var/lib/netsh (see `private_world`): a real run, not `--sandbox`, whose
    /// journal, store and namespaces vanish with it.
    pub fn private_world(mut self) -> Netsh {
        self.private_world = true;
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Netsh {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn stdin(mut self, s: impl Into<Vec<u8>>) -> Netsh {
        self.stdin = Some(s.into());
        self
    }
    /// Writes a file in the test's directory (for `source`).
    pub fn file(self, name: &str, text: impl AsRef<[u8]>) -> Netsh {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("dirs");
        }
        std::fs::write(p, text).expect("write a test file");
        self
    }
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// The script to run, as `main.netsh` in the test's directory.
    pub fn script(mut self, text: impl AsRef<[u8]>) -> Netsh {
        self = self.file("main.netsh", text);
        self.script = Some(self.dir.path().join("main.netsh"));
        self
    }
    pub fn script_args<const N: usize>(mut self, a: [&str; N]) -> Netsh {
        self.script_args.extend(a.iter().map(|s| s.to_string()));
        self
    }
    pub fn run(self) -> Out {
        let mut cmd = if self.private_world {
            private_world::command()
        } else {
            Command::new(bin())
        };
        cmd.args(&self.args);
        if let Some(s) = &self.script {
            cmd.arg(s);
        }
        cmd.args(&self.script_args);
        cmd.current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("netsh starts");
        let input = self.stdin.clone().unwrap_or_default();
        let mut pipe = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().expect("netsh runs");
        let _ = writer.join();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Out {
    /// Asserts success, showing the output when it was not.
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "netsh failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a run-time failure (exit 1) whose diagnostic mentions `text`.
    pub fn fails_with(self, text: &str) -> Out {
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

    pub fn code(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn stdout_is(self, expected: &str) -> Out {
        assert_eq!(self.stdout, expected, "stdout\n--- stderr\n{}", self.stderr);
        self
    }
    pub fn stdout_has(self, part: &str) -> Out {
        assert!(
            self.stdout.contains(part),
            "stdout lacks {part:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    /// Whether stderr says `part`, ignoring how miette wrapped the lines.
    pub fn stderr_has(self, part: &str) -> Out {
        let flat = |s: &str| {
            s.replace('│', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            flat(&self.stderr).contains(&flat(part)),
            "stderr lacks {part:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }
    /// The `error` records of a --json run (standard output), in order.
    pub fn errors(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "error")
            .collect()
    }

    /// The diagnostics printed with --json: (code, location, span start, span end).
    pub fn diagnostics(&self) -> Vec<(String, String, u64, u64)> {
        self.errors()
            .into_iter()
            .map(|v| {
                (
                    v["code"].as_str().unwrap_or_default().to_string(),
                    v["location"].as_str().unwrap_or_default().to_string(),
                    v["span"]["start"].as_u64().unwrap_or(u64::MAX),
                    v["span"]["end"].as_u64().unwrap_or(u64::MAX),
                )
            })
            .collect()
    }
}

/// Runs `-c TEXT --check --json` and returns the diagnostics as (code, "line:col", spanned text).
pub fn errors_of(text: &str) -> (i32, Vec<(String, String, String)>) {
    let out = Netsh::new().args(["--check", "--json", "-c", text]).run();
    let diags = out
        .diagnostics()
        .into_iter()
        .map(|(code, loc, s, e)| {
            let spanned = text
                .get(s as usize..e as usize)
                .unwrap_or("<bad span>")
                .to_string();
            (code, loc.trim_start_matches("-c:").to_string(), spanned)
        })
        .collect();
    (out.code, diags)
}

/// Runs netsh with `args` in the test's own working directory.
pub fn netsh(args: &[&str]) -> Out {
    let out = Command::new(bin()).args(args).output().expect("netsh runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a script in a private network and mount namespace.
pub fn sandbox(script: &str) -> Out {
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
pub fn sandbox_diagnostic(script: &str) -> (Out, serde_json::Value, String) {
    let r = netsh(&["--sandbox", "--json", "-c", script]);
    let d: serde_json::Value = r.errors().into_iter().next().unwrap_or_else(|| {
        panic!(
            "no error record in:\n{}\n--- stderr\n{}",
            r.stdout, r.stderr
        )
    });
    let (start, end) = (d["span"]["start"].as_u64(), d["span"]["end"].as_u64());
    let spanned = match (start, end) {
        (Some(s), Some(e)) => script.get(s as usize..e as usize).unwrap_or("<bad span>"),
        _ => "<no span>",
    }
    .to_string();
    (r, d, spanned)
}
