//! Crash recovery (root, in private network and mount namespaces): a run killed with -9 anywhere
//! leaves nothing that a re-run and `netsh down`, or `down` alone, do not clear; a file left in
//! /run/netns by a `netns add` killed before its mount is no obstacle; two runs of one script at
//! once keep every journal line; a rollback whose step fails keeps that step for `down`.
//!
//! The kills happen at known points, not after sleeps: strace injects SIGKILL when netsh makes a
//! given system call on a given path (`-P PATH -e inject=SYSCALL:signal=SIGKILL:when=N`).

mod util;

use util::private_world::{private, sections};

/// A script of two namespaces with links in them and one in the namespace netsh starts in.
const SCRIPT: &str =
    "netns add a\nveth va peer vb in a\nnetns add b\nveth wa peer wb in b\nbridge br0 in b\n";

/// Shell steps: `s.netsh` in `dir`, `$J` its journal, and `state` printing what is left.
fn setup(dir: &std::path::Path) -> String {
    std::fs::write(dir.join("s.netsh"), SCRIPT).expect("write the script");
    format!(
        "cd {dir}
J=/run/netsh/journal/$(printf %s \"{dir}/s.netsh\" | sed 's|%|%25|g; s|/|%2F|g').journal
state() {{ echo \"netns=[$(ls -A /run/netns | tr '\\n' ' ')] links=[$(ip -br link | cut -d' ' -f1 | cut -d@ -f1 | tr '\\n' ' ')] journal=[$(ls -A /run/netsh/journal 2>/dev/null | tr '\\n' ' ')]\"; }}
",
        dir = dir.display()
    )
}

const CLEAN: &str = "netns=[] links=[lo ] journal=[]";

#[test]
fn a_run_killed_at_any_of_several_points_is_cleared_by_a_rerun_and_down_or_by_down_alone() {
    requires!(Root, Strace);
    let dir = tempfile::tempdir().expect("tempdir");
    // where netsh is killed: the namespace files' system calls (the look before `netns add`, the
    // file's creation, the mount on it, the open for a link inside), and the journal's writes
    let mut points: Vec<(String, String)> = Vec::new();
    for ns in ["a", "b"] {
        for n in 1..=3 {
            points.push((
                format!("open {ns} #{n}"),
                format!(
                    "-P /run/netns/{ns} -e trace=openat -e inject=openat:signal=SIGKILL:when={n}"
                ),
            ));
        }
        points.push((
            format!("mount {ns}"),
            format!("-P /run/netns/{ns} -e trace=mount -e inject=mount:signal=SIGKILL"),
        ));
    }
    for n in 1..=3 {
        points.push((
            format!("journal write #{n}"),
            format!("-P \"$J\" -e trace=write -e inject=write:signal=SIGKILL:when={n}"),
        ));
    }
    // each kill in a world of its own, so that one failure cannot spoil the points after it
    let mut s = std::collections::BTreeMap::new();
    for (name, strace) in &points {
        for then in ["rerun", "down"] {
            let out = private(&format!(
                "{}strace -f -qq -o /dev/null {strace} $NETSH s.netsh >/dev/null 2>&1; k=$?
echo \"killed=$k\"
if [ {then} = rerun ]; then $NETSH s.netsh >/dev/null 2>rerun.err; echo \"rerun=$?\"; cat rerun.err; fi
$NETSH down s.netsh >/dev/null 2>down.err; echo \"down=$?\"; cat down.err; state
",
                setup(dir.path())
            ));
            s.insert(format!("{name}, then {then}"), out.stdout + &out.stderr);
        }
    }
    let mut failures = Vec::new();
    for (name, text) in &s {
        // strace reports the kill as 128 + 9: the point was reached
        if !text.contains("killed=137\n") {
            failures.push(format!("{name}: not killed there\n{text}"));
        } else if name.ends_with("rerun") && !text.contains("rerun=0\n") {
            failures.push(format!("{name}: the re-run failed\n{text}"));
        } else if !text.contains("down=0\n") {
            failures.push(format!("{name}: down failed\n{text}"));
        } else if !text.contains(CLEAN) {
            failures.push(format!("{name}: left something\n{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        s.len(),
        failures.join("\n")
    );
}

#[test]
fn a_stale_namespace_file_is_replaced_by_a_run_and_cleared_by_down() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = private(&format!(
        "{}
# what a `netns add` killed between making the file and mounting on it leaves
touch /run/netns/a
echo '--- run'; $NETSH s.netsh 2>&1; echo \"status=$?\"
ip netns exec a ip -br link show va >/dev/null && echo 'a is a namespace with va'
touch /run/netns/c
echo '--- down'; $NETSH down s.netsh 2>&1; echo \"status=$?\"; state
echo '--- exists'; $NETSH -c 'if exists netns c {{ echo c exists }} else {{ echo no namespace c }}' 2>&1",
        setup(dir.path())
    ));
    let s = sections(&out.stdout);
    let run = &s["run"];
    assert!(run.contains("status=0"), "{run}\n{}", out.stderr);
    assert!(run.contains("a is a namespace with va"), "{run}");
    // `down` leaves the stale file it has no journal line for (c): only what runs made goes
    let down = &s["down"];
    assert!(down.contains("status=0"), "{down}");
    assert!(down.contains("netns=[c ] links=[lo ] journal=[]"), "{down}");
    // an empty file is no namespace
    assert!(s["exists"].contains("no namespace c"), "{}", s["exists"]);
}

#[test]
fn two_runs_of_one_script_at_once_keep_every_journal_line() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("many.netsh"),
        "for i in $1..$2 { netns add n$i }\n",
    )
    .expect("write");
    let out = private(&format!(
        "cd {dir}
$NETSH many.netsh 1 60 2>/dev/null & $NETSH many.netsh 61 120 2>/dev/null & wait
echo \"--- made\"; ls /run/netns | wc -l; grep -c '^netns del' /run/netsh/journal/*many.netsh.journal
echo \"--- down\"; $NETSH down many.netsh 2>&1; ls -A /run/netns | wc -l",
        dir = dir.path().display()
    ));
    let s = sections(&out.stdout);
    let made: Vec<&str> = s["made"].lines().collect();
    assert_eq!(
        made,
        ["120", "120"],
        "namespaces, journal lines\n{}",
        out.stderr
    );
    let down = &s["down"];
    assert!(down.contains("120 undone"), "{down}");
    assert!(down.trim_end().ends_with("\n0"), "namespaces left\n{down}");
}

#[test]
fn a_rollback_step_that_fails_stays_in_the_journal_for_down() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    // renaming x1 back to x0 fails: a program made another x0 meanwhile
    std::fs::write(
        dir.path().join("r.netsh"),
        "netns add a\nbridge x0 in a\nlink set x0 name x1 in a\nexec ip -n a link add x0 type bridge\nexec false\n",
    )
    .expect("write");
    let out = private(&format!(
        "cd {dir}
echo '--- run'; $NETSH r.netsh 2>&1; echo \"status=$?\"
echo '--- journal'; grep -v '^#' /run/netsh/journal/*r.netsh.journal
echo '--- down'; $NETSH down r.netsh 2>&1; echo \"status=$?\"; ls -A /run/netsh/journal | wc -l",
        dir = dir.path().display()
    ));
    let s = sections(&out.stdout);
    assert!(
        s["run"].contains("could not undo: ip -n a link set x1 name x0"),
        "{}",
        s["run"]
    );
    assert_eq!(
        s["journal"].trim(),
        "link set x1 name x0 in a",
        "{}",
        out.stdout
    );
    let down = &s["down"];
    assert!(down.contains("status=0"), "{down}");
    assert!(
        down.trim_end().ends_with("\n0"),
        "the journal is left\n{down}"
    );
}
