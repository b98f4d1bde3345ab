//! SIGINT and SIGTERM sent to a running script (root, in a private network and mount namespace):
//! the statement running stops at once, whatever it is (a `ping`, a failing `expect`, `wait`, a
//! program run by `exec`, the script's last statement), the run rolls back and exits 128 + the
//! signal, and the diagnostic points at the statement that was stopped.
//!
//! The signal is sent once the long statement is known to run, never after a sleep: on a line it
//! prints itself (a ping's first reply, `wait`'s notice, the program's `ready`), or for a silent
//! `expect reach` on the neighbour entry its first probe makes. The claim is 100 ms; the tests allow
//! 2 s from the signal to netsh's exit, rollback included, so that a busy machine never fails them,
//! while each long statement would run 8 s or more if the signal did not stop it.

mod util;

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};
use util::private_world;

/// Generous bound from the signal to netsh's exit (the claim is 100 ms; see the module's comment).
const PROMPT: Duration = Duration::from_secs(2);

/// What a stopped run did.
struct Stopped {
    code: i32,
    /// From the signal to the shell seeing netsh exit.
    took: Duration,
    stdout: String,
    stderr: String,
    /// `ip netns list` after the run.
    left: String,
}

/// Runs `script` as main.netsh in a private world, sends `sig` to netsh once the steps printed the
/// line `sync` (netsh's output, or that of `watch`: shell steps run beside netsh), and reports how
/// the run ended. `after` are shell steps run once netsh has exited.
fn stop(
    script: &str,
    sync: &str,
    watch: &str,
    sig: nix::sys::signal::Signal,
    after: &str,
) -> Stopped {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("main.netsh");
    std::fs::write(&path, script).expect("write the script");
    let mut child = private_world::spawn(&format!(
        "cd {dir}; $NETSH {path} 2>{dir}/stderr & pid=$!; echo \"pid $pid\"\n{watch}\nwait $pid; echo \"--- exit $?\"\n{after}\necho '--- left'; ip netns list",
        dir = dir.path().display(),
        path = path.display(),
    ));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stdout = String::new();
    let (mut pid, mut ready) = (None, false);
    while pid.is_none() || !ready {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the steps ended before {sync:?}:\n{stdout}"))
            .expect("a line");
        if let Some(p) = line.strip_prefix("pid ") {
            pid = p.parse::<i32>().ok();
        }
        ready |= line.starts_with(sync);
        stdout += &line;
        stdout.push('\n');
    }
    let pid = nix::unistd::Pid::from_raw(pid.expect("the pid"));
    let sent = Instant::now();
    nix::sys::signal::kill(pid, sig).expect("the signal is sent");
    let mut took = None;
    let mut code = -1;
    for line in lines {
        let line = line.expect("a line");
        if let Some(c) = line.strip_prefix("--- exit ") {
            took = Some(sent.elapsed());
            code = c.parse().expect("an exit status");
        }
        stdout += &line;
        stdout.push('\n');
    }
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    child.wait().expect("the steps end");
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default() + &err;
    let left = stdout
        .split("--- left\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no namespace list:\n{stdout}\n{stderr}"))
        .to_string();
    Stopped {
        code,
        took: took.unwrap_or_else(|| panic!("netsh's exit was not seen:\n{stdout}\n{stderr}")),
        stdout,
        stderr,
        left,
    }
}

impl Stopped {
    /// Exit 128 + `sig` within `PROMPT`, the diagnostic on `line` of main.netsh, everything rolled
    /// back: no namespace left.
    fn rolled_back(&self, sig: nix::sys::signal::Signal, line: usize) {
        let all = format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr);
        assert_eq!(self.code, 128 + sig as i32, "exit status\n{all}");
        assert!(self.took < PROMPT, "took {:?} to stop\n{all}", self.took);
        assert!(
            self.stderr
                .contains(&format!("interrupted by {}", sig.as_str())),
            "{all}"
        );
        assert!(
            self.stderr.contains(&format!("main.netsh:{line}:1")),
            "the diagnostic is not on line {line}\n{all}"
        );
        assert!(self.stderr.contains("netsh: rolled back"), "{all}");
        assert!(self.stderr.contains("undone: ip netns del a"), "{all}");
        assert_eq!(self.left.trim(), "", "namespaces left\n{all}");
    }
}

use nix::sys::signal::Signal::{SIGINT, SIGTERM};

#[test]
fn a_ping_stops_at_once_and_the_run_rolls_back() {
    requires!(Root);
    for sig in [SIGINT, SIGTERM] {
        // 40 probes 200 ms apart: 8 s unless stopped
        stop(
            "netns add a\nlink set lo up in a\nping 127.0.0.1 from a count 40\nnetns add b\n",
            "reply from 127.0.0.1: seq=1 ",
            "",
            sig,
            "",
        )
        .rolled_back(sig, 3);
    }
}

#[test]
fn a_failing_expect_stops_before_its_timeout() {
    requires!(Root);
    // nobody has 192.0.2.1: the first probe leaves an incomplete neighbour entry for it
    let probing = "(until ip -n a neigh show 192.0.2.1 2>/dev/null | grep -q .; do sleep 0.01; done; echo probing) &";
    for sig in [SIGINT, SIGTERM] {
        stop(
            "netns add a\nveth va peer vb in a\nlink set va up in a\nlink set vb up in a\naddr add 192.0.2.10/24 dev va in a\nexpect reach 192.0.2.1 from a timeout 10\n",
            "probing",
            probing,
            sig,
            "",
        )
        .rolled_back(sig, 6);
    }
}

#[test]
fn a_signal_during_the_last_statement_stops_it_and_rolls_back() {
    requires!(Root);
    for sig in [SIGINT, SIGTERM] {
        stop(
            "netns add a\nexec sh -c \"echo ready; exec sleep 30\"\n",
            "ready",
            "",
            sig,
            "",
        )
        .rolled_back(sig, 2);
    }
}

#[test]
fn wait_ends_on_either_signal_with_a_rollback() {
    requires!(Root);
    for sig in [SIGINT, SIGTERM] {
        let s = stop(
            "netns add a\nlink set lo up in a\nserve http 8080 text hi in a\nwait\necho after-wait\n",
            "netsh: services running",
            "",
            sig,
            "",
        );
        s.rolled_back(sig, 4);
        assert!(!s.stdout.contains("after-wait"), "{}", s.stdout);
    }
}

#[test]
fn a_program_run_by_exec_gets_the_signal_and_what_follows_never_runs() {
    requires!(Root);
    // the program writes its pid, so the steps can tell whether it is still alive afterwards
    let s = stop(
        "netns add a\nexec sh -c 'echo $$ > prog.pid; echo ready; exec sleep 30'\nnetns add b\n",
        "ready",
        "",
        SIGTERM,
        "if kill -0 $(cat prog.pid) 2>/dev/null; then echo 'program alive'; else echo 'program gone'; fi",
    );
    s.rolled_back(SIGTERM, 2);
    assert!(s.stdout.contains("program gone"), "{}", s.stdout);
}
