//! What a test needs that a machine may lack (root, the `etcd` binary, ...). A test says so on its
//! first line with `requires!(Root)` or `requires!(Root, Etcd)`: where the need is missing it prints
//! why it is skipped and returns. `scripts/test` (and so CI) sets `NETSH_TEST_ALL=1`, under which
//! a missing need fails the test instead: nothing is skipped there.

use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Namespaces, `--sandbox`, netlink writes: CAP_SYS_ADMIN and CAP_NET_ADMIN, i.e. root here.
    Root,
    /// A real etcd server (Debian's `etcd-server`).
    Etcd,
    /// `tcpdump`, to read back what netsh wrote.
    Tcpdump,
    /// `strace`, to kill netsh at a known system call (its fault injection).
    Strace,
}

/// Why `need` cannot be met on this machine, or None when it can.
pub fn missing(need: Need) -> Option<String> {
    match need {
        Need::Root => (!nix::unistd::geteuid().is_root())
            .then(|| "needs root (network and mount namespaces)".to_string()),
        Need::Etcd => (!on_path("etcd")).then(|| {
            "needs the `etcd` binary on PATH (Debian: apt-get install etcd-server)".to_string()
        }),
        Need::Tcpdump => (!on_path("tcpdump"))
            .then(|| "needs `tcpdump` on PATH (Debian: apt-get install tcpdump)".to_string()),
        Need::Strace => (!on_path("strace"))
            .then(|| "needs `strace` on PATH (Debian: apt-get install strace)".to_string()),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| Path::new(&d).join(program).is_file()))
        .unwrap_or(false)
}

/// Whether the test may go on: false (after saying why) when a need is missing and skipping is
/// allowed; a panic when `NETSH_TEST_ALL` forbids skipping.
pub fn met(needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(|n| missing(*n)).collect();
    if missing.is_empty() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let why = missing.join("; ");
    if std::env::var_os("NETSH_TEST_ALL").is_some() {
        panic!("{test} {why}, and NETSH_TEST_ALL=1 forbids skipping it");
    }
    // straight to the process's stderr: the harness captures `eprintln!` of a passing test
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: {why} (NETSH_TEST_ALL=1 makes this a failure)"
    );
    false
}

/// `requires!(Root, Etcd)`: returns from the test, saying why, when this machine lacks a need.
#[macro_export]
macro_rules! requires {
    ($($need:ident),+ $(,)?) => {
        if !$crate::util::needs::met(&[$($crate::util::needs::Need::$need),+]) {
            return;
        }
    };
}
