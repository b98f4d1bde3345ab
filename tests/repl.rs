//! The interactive shell, driven through a pseudo-terminal as a user would: `netsh --dry-run` with
//! its history in a temporary directory.

mod util;

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};
use std::path::{Path, PathBuf};
use std::process::Command;

const UP: &str = "\x1b[A";

struct Shell {
    pty: PtySession,
    /// What the shell printed before its first prompt.
    banner: String,
}

impl Shell {
    fn start(history: &Path) -> Shell {
        Shell::start_with(&["--dry-run"], history)
    }

    fn start_with(args: &[&str], history: &Path) -> Shell {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsh"));
        cmd.args(args)
            .env("NETSH_HISTORY", history)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        let options = Options::new()
            .timeout_ms(Some(15_000))
            .strip_ansi_escape_codes(true);
        let mut shell = Shell {
            pty: spawn_with_options(cmd, options).expect("netsh starts on a pty"),
            banner: String::new(),
        };
        shell.banner = shell.expect("netsh> ");
        shell
    }

    /// Waits for `text` and returns what came before it.
    fn expect(&mut self, text: &str) -> String {
        self.pty
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"))
    }

    fn send(&mut self, keys: &str) {
        self.pty.send(keys).expect("send keys");
        self.pty.flush().expect("flush keys");
    }

    /// Types a line and waits for `output` and then the next prompt.
    fn run(&mut self, line: &str, output: &str, prompt: &str) {
        self.send(&format!("{line}\r"));
        self.expect(output);
        self.expect(prompt);
    }

    /// Ctrl-D, and the exit status.
    fn quit(mut self) -> i32 {
        self.pty.send_control('d').expect("send Ctrl-D");
        exit_code(&self)
    }
}

fn exit_code(shell: &Shell) -> i32 {
    match shell.pty.process().wait() {
        Ok(WaitStatus::Exited(_, code)) => code,
        other => panic!("netsh did not exit normally: {other:?}"),
    }
}

fn history_file(dir: &tempfile::TempDir) -> PathBuf {
    // a directory that does not exist yet: the shell creates it
    dir.path().join("state/netsh/history")
}

#[test]
fn multi_line_block_runs_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    sh.send("for i in 1..2 {\r");
    sh.expect("...> ");
    sh.send("netns add ns$i\r");
    sh.expect("...> ");
    sh.send("}\r");
    sh.expect("ip netns add ns1");
    sh.expect("ip netns add ns2");
    sh.expect("netsh> ");
    // the whole block is one history entry: Up recalls it, Enter runs it again
    sh.send(UP);
    sh.expect("}");
    sh.send("\r");
    sh.expect("ip netns add ns1");
    sh.expect("ip netns add ns2");
    sh.expect("netsh> ");
    // the session persists: a variable and a procedure from earlier inputs
    sh.run("let br = br9", "netsh> ", "");
    sh.send("fn mk(n) {\r");
    sh.expect("...> ");
    sh.send("bridge $n\r");
    sh.expect("...> ");
    sh.send("}\r");
    sh.expect("netsh> ");
    sh.run("mk $br", "ip link add br9 type bridge", "netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn pasted_lines_stay_open_in_the_editor_until_the_block_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    // a bracketed paste puts both lines in one buffer; Enter finds the block open and adds a line
    sh.send("\x1b[200~for i in 1..2 {\n  netns add p$i\x1b[201~");
    sh.send("\r");
    sh.send("}\r");
    let before = sh.expect("ip netns add p1");
    assert!(
        !before.contains("...> "),
        "a multi-line buffer needs no continuation prompt: {before:?}"
    );
    sh.expect("ip netns add p2");
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn tab_completes_statements_and_second_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    sh.send("macv\t");
    sh.expect("macvlan");
    sh.run(
        "bridge on eth0 name m1",
        "ip link add m1 link eth0 type macvlan mode bridge",
        "netsh> ",
    );
    sh.send("link s\t");
    sh.expect("link set");
    sh.run("eth0 up", "ip link set eth0 up", "netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn history_is_saved_and_recalled() {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(&dir);
    let mut sh = Shell::start(&file);
    sh.run("netns add hist1", "ip netns add hist1", "netsh> ");
    let saved = std::fs::read_to_string(&file).expect("the history file is written after the line");
    assert!(saved.contains("netns add hist1"), "history file: {saved:?}");
    sh.send(UP);
    sh.expect("netns add hist1");
    sh.run("", "ip netns add hist1", "netsh> ");
    assert_eq!(sh.quit(), 0);

    // a new shell loads the file
    let mut sh = Shell::start(&file);
    sh.send(UP);
    sh.expect("netns add hist1");
    sh.run("", "ip netns add hist1", "netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn the_history_never_keeps_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(&dir);
    let mut sh = Shell::start(&file);
    sh.run(
        "store etcd http://127.0.0.1:2379 user root password s3cret",
        "ETCDCTL_ENDPOINTS=http://127.0.0.1:2379",
        "netsh> ",
    );
    let saved = std::fs::read_to_string(&file).expect("the history file is written after the line");
    assert!(
        saved.contains("user root password ********"),
        "history file: {saved:?}"
    );
    assert!(!saved.contains("s3cret"), "history file: {saved:?}");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn a_password_given_through_a_variable_leaves_the_history_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(&dir);
    let mut sh = Shell::start(&file);
    sh.run("let pw = s3cret", "", "netsh> ");
    sh.run("netns add hist2", "ip netns add hist2", "netsh> ");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("let pw = s3cret"),
        "not yet known as a secret: {saved:?}"
    );
    sh.run(
        "store etcd http://127.0.0.1:2379 user root password $pw",
        "ETCDCTL_ENDPOINTS=http://127.0.0.1:2379",
        "netsh> ",
    );
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("let pw = ********"),
        "history file: {saved:?}"
    );
    assert!(saved.contains("netns add hist2"), "history file: {saved:?}");
    assert!(!saved.contains("s3cret"), "history file: {saved:?}");
    sh.send(UP);
    sh.send(UP);
    sh.send(UP);
    sh.expect("let pw = ********");
    sh.pty.send_control('c').unwrap();
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn check_errors_are_reported_and_the_shell_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    sh.send("macvlan bogus on eth0\r");
    sh.expect("netsh::check::unexpected_argument");
    sh.expect("netsh> ");
    sh.send("netns add zz");
    sh.pty.send_control('c').unwrap();
    sh.expect("netsh> ");
    sh.send("netns add after\r");
    let before = sh.expect("ip netns add after");
    assert!(
        !before.contains("ip netns add zz"),
        "Ctrl-C must drop the line: {before:?}"
    );
    sh.expect("netsh> ");
    sh.run(
        "help macvlan",
        "macvlan [vepa|bridge|private|passthru]",
        "netsh> ",
    );
    assert_eq!(sh.quit(), 0);
}

#[test]
fn in_line_sets_the_context_and_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    sh.run("in docker1", "", "netsh(docker1)> ");
    sh.run(
        "bridge br0",
        "ip -n docker1 link add br0 type bridge",
        "netsh(docker1)> ",
    );
    sh.run(
        "link set eth0 up",
        "ip -n docker1 link set eth0 up",
        "netsh(docker1)> ",
    );
    sh.run("in -", "", "netsh> ");
    sh.run("bridge br1", "ip link add br1 type bridge", "netsh> ");
    sh.send("exit\r");
    assert_eq!(exit_code(&sh), 0);
}

#[test]
fn without_a_runtime_the_shell_says_so_once_and_dry_runs() {
    let dir = tempfile::tempdir().unwrap();
    // no --dry-run: the kernel runtime is used when this build has one (so only a harmless `echo`)
    let mut sh = Shell::start_with(&[], &history_file(&dir));
    sh.send("echo hello\r");
    // a dry run shows `echo hello` as the command it stands for; a real run prints `hello`
    let (output, _) = sh
        .pty
        .exp_regex(r"\n(echo )?hello\r\n")
        .expect("echo's output");
    sh.expect("netsh> ");
    let said = sh.banner.matches("dry run").count() + output.matches("dry run").count();
    if sh.banner.contains("runtime is not part of this build") {
        assert_eq!(said, 1, "said once, at startup: {:?}", sh.banner);
    }
    sh.send("quit\r");
    assert_eq!(exit_code(&sh), 0);
}

#[test]
fn a_failing_transaction_block_at_the_prompt_is_undone_and_the_rest_kept() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start_with(&["--sandbox"], &history_file(&dir));
    sh.send("bridge keep0\r");
    sh.expect("netsh> ");
    sh.send("transaction { bridge gone0; link set nosuch0 up }\r");
    sh.expect("netsh: transaction: rolled back 1 change");
    sh.expect("netsh> ");
    sh.send("if exists link gone0 { echo gone0-still-there } else { echo gone0-undone }\r");
    sh.expect("gone0-undone");
    sh.expect("netsh> ");
    sh.send("if exists link keep0 { echo keep0-kept }\r");
    sh.expect("keep0-kept");
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn lines_sent_at_once_all_run_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    // as a paste without bracketed-paste mode, or fast typing: one read gets all three lines
    sh.send("netns add q1\rnetns add q2\rnetns add q3\r");
    sh.expect("ip netns add q1");
    sh.expect("ip netns add q2");
    sh.expect("ip netns add q3");
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn ctrl_c_stops_the_running_statement_and_the_prompt_comes_back() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start_with(&["--sandbox"], &history_file(&dir));
    sh.send("link set lo up; echo \"lo\" \"up\"\r");
    sh.expect("lo up");
    sh.expect("netsh> ");

    // ping prints each reply as it comes; 100 probes would take 20 s, Ctrl-C ends them at once
    sh.send("ping 127.0.0.1 count 100\r");
    sh.expect("reply from 127.0.0.1: seq=1 ");
    sh.pty.send_control('c').unwrap();
    sh.expect("interrupted by SIGINT");
    sh.expect("netsh> ");

    // an `expect` that would wait two minutes for a server that never comes
    sh.send("echo \"expect\" \"starts\"; expect http http://127.0.0.1:9/ contains x timeout 120\r");
    sh.expect("expect starts");
    sh.pty.send_control('c').unwrap();
    sh.expect("interrupted by SIGINT");
    sh.expect("netsh> ");

    // an `expect reach` of an address on a wire where nobody answers
    sh.send(
        "veth va peer vb; link set va up; link set vb up; addr add 192.0.2.10/24 dev va; echo \"reach\" \"starts\"; expect reach 192.0.2.1 timeout 120\r",
    );
    sh.expect("reach starts");
    sh.pty.send_control('c').unwrap();
    sh.expect("interrupted by SIGINT");
    sh.expect("netsh> ");

    // `wait` is stopped by Ctrl-C as any statement is
    sh.send("serve http 8080 text hi; wait\r");
    sh.expect("press Ctrl-C to stop");
    sh.pty.send_control('c').unwrap();
    sh.expect("interrupted by SIGINT");
    sh.expect("netsh> ");

    // the shell is still there and runs what comes next
    sh.send("echo \"still\" \"here\"\r");
    sh.expect("still here");
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn question_mark_shows_what_may_come_next_and_keeps_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start(&history_file(&dir));
    sh.send("link set eth0 ?");
    sh.expect("usage: link set LINK");
    sh.expect("mtu MTU");
    sh.expect("<Enter>");
    // the line is shown again as it was, without the `?`, and goes on
    sh.run("up", "ip link set eth0 up", "netsh> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn completion_after_dev_offers_the_links_of_the_namespace_in_effect() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start_with(&["--sandbox"], &history_file(&dir));
    sh.send("netns add c1; bridge brinside in c1; bridge broutside; echo \"made\" \"them\"\r");
    sh.expect("made them");
    sh.expect("netsh> ");
    // here only broutside: one candidate, completed at once
    sh.send("link set br\t");
    sh.expect("link set broutside ");
    sh.send("up; echo \"outside\" \"up\"\r");
    sh.expect("outside up");
    sh.expect("netsh> ");
    sh.run("in c1", "", "netsh(c1)> ");
    sh.send("addr add 10.9.0.2/24 dev br\t");
    sh.expect("dev brinside ");
    sh.send("; echo \"inside\" \"done\"\r");
    sh.expect("inside done");
    sh.expect("netsh(c1)> ");
    assert_eq!(sh.quit(), 0);
}

#[test]
fn a_check_typed_at_the_prompt_prints_its_line() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let mut sh = Shell::start_with(&["--sandbox"], &history_file(&dir));
    sh.send("netns add c1\r");
    sh.expect("netsh> ");
    sh.send("let one = 1\r");
    sh.expect("netsh> ");
    sh.send("expect $one == 1\r");
    // on a terminal the mark is coloured; the pty strips the escape codes and reads bytes as
    // Latin-1, so `✓` (E2 9C 93) comes as three characters
    sh.expect("\u{e2}\u{9c}\u{93} $one == 1  ");
    sh.expect("netsh> ");
    sh.send("expect exists netns c1\r");
    sh.expect("\u{e2}\u{9c}\u{93} exists netns c1  ");
    sh.expect("netsh> ");
    assert_eq!(sh.quit(), 0);
}
