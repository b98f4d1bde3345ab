//! A netsh run in the background that a test talks to while it runs: its stdout is read line by
//! line (to wait for the point a script reached), a file the script waits for (`expect file MARK
//! timeout N`) lets it go on, and the run is killed if the test ends first.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub struct Running {
    child: Option<Child>,
    lines: Receiver<String>,
    /// Every stdout line so far.
    pub stdout: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    dir: tempfile::TempDir,
}

pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Starts `netsh ARGS script` with `script` written to a file of its own.
    pub fn start(args: &[&str], script: &str) -> Running {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("main.netsh");
        std::fs::write(&path, script).expect("write the script");
        let mut child = Command::new(super::bin())
            .args(args)
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("netsh runs");
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Running {
            child: Some(child),
            lines,
            stdout: String::new(),
            stderr: Some(stderr),
            dir,
        }
    }

    /// A path in the run's temp dir (for marker files the script waits on).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Lets a script waiting with `expect file PATH` go on.
    pub fn release(&self, marker: &Path) {
        std::fs::write(marker, "go\n").expect("write the marker");
    }

    /// Waits until stdout has a line equal to `line`; panics (with what the run said) if the run
    /// ends first or `limit` passes.
    pub fn wait_line(&mut self, line: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.stdout.push_str(&l);
                    self.stdout.push('\n');
                    if l == line {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line {line:?} within {limit:?}:\n{}", self.stdout)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let done = self.finish(Duration::from_secs(10));
                    panic!(
                        "netsh ended ({:?}) before printing {line:?}:\n{}\n--- stderr\n{}",
                        done.code, done.stdout, done.stderr
                    )
                }
            }
        }
    }

    /// Waits (up to `limit`) for the run to end, then returns all it said; kills it after that.
    pub fn finish(&mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let mut code = None;
        if let Some(mut child) = self.child.take() {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    code = status.code();
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push_str(&l);
            self.stdout.push('\n');
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Finished {
            code,
            stdout: self.stdout.clone(),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
