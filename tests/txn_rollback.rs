//! Transactions against the kernel, each test in a private network namespace of its own (see
//! util::private_world): a failing script leaves every namespace as it found it, a re-run changes nothing,
//! `down` undoes a run (also one killed with -9), signals roll back.

mod util;

use util::private_world::{first_difference, normalized, private, sections};

const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/txn/lab.netsh");
const CHANGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/txn/changes.netsh");

fn assert_same(before: &str, after: &str, what: &str) {
    if let Some(d) = first_difference(before, after) {
        panic!("{what}: the kernel's state differs, first at {d}");
    }
}

/// The statements of a script, one per line (the test labs have no blocks).
fn statements(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("lab")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_failure_after_each_statement_leaves_every_namespace_as_it_was() {
    requires!(Root);
    let all: Vec<String> = statements(LAB)
        .into_iter()
        .chain(statements(CHANGES))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    for k in 0..=all.len() {
        let mut text = all[..k].join("\n");
        text += "\nlink set nofault0 up\n";
        std::fs::write(dir.path().join(format!("fault{k:02}.netsh")), text).expect("write");
    }
    let out = private(&format!(
        "echo '--- before'; snap\nfor f in {}/fault*.netsh; do\n  $NETSH \"$f\" >/dev/null 2>&1\n  echo \"--- $(basename $f) $?\"; snap\ndone",
        dir.path().display()
    ));
    let s = sections(&out.stdout);
    let before = s.get("before").expect("a snapshot before");
    assert!(before.contains("== namespace"), "{}", out.stderr);
    let mut tried = 0;
    for k in 0..=all.len() {
        let key = format!("fault{k:02}.netsh 1");
        let after = s.get(&key).unwrap_or_else(|| {
            panic!(
                "fault {k} did not exit 1: {:?}",
                s.keys().collect::<Vec<_>>()
            )
        });
        assert_same(
            before,
            after,
            &format!("failure injected after statement {k}"),
        );
        tried += 1;
    }
    assert_eq!(tried, all.len() + 1);
    println!("faults injected: {tried}, leftovers found: 0");
}

/// The script cut after each of its top-level statements (a block counts as one), each time with a
/// failing statement appended.
fn cuts_with_a_fault(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("script");
    let (mut depth, mut upto, mut out) = (0i32, String::new(), vec![]);
    out.push("link set nofault0 up\n".to_string());
    for line in text.lines() {
        upto += line;
        upto.push('\n');
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        let t = line.trim();
        if depth == 0 && !t.is_empty() && !t.starts_with('#') {
            out.push(format!("{upto}link set nofault0 up\n"));
        }
    }
    out
}

#[test]
fn a_failure_after_each_statement_of_the_quickstart_lab_leaves_nothing() {
    requires!(Root);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.netsh");
    let cuts = cuts_with_a_fault(path);
    let dir = tempfile::tempdir().expect("tempdir");
    for (k, text) in cuts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("fault{k:02}.netsh")), text).expect("write");
    }
    let out = private(&format!(
        "echo '--- before'; snap\nfor f in {}/fault*.netsh; do\n  $NETSH \"$f\" >/dev/null 2>&1\n  echo \"--- $(basename $f) $?\"; snap\ndone",
        dir.path().display()
    ));
    let s = sections(&out.stdout);
    let before = s.get("before").expect("a snapshot before");
    for k in 0..cuts.len() {
        let after = s.get(&format!("fault{k:02}.netsh 1")).unwrap_or_else(|| {
            panic!(
                "fault {k} did not exit 1: {:?}",
                s.keys().collect::<Vec<_>>()
            )
        });
        assert_same(
            before,
            after,
            &format!("quickstart cut after statement {k}"),
        );
    }
    assert!(cuts.len() > 10, "{} cuts", cuts.len());
    println!("faults injected: {}, leftovers found: 0", cuts.len());
}

#[test]
fn a_second_run_changes_nothing_and_says_so() {
    requires!(Root);
    let out = private(&format!(
        "run first $NETSH {LAB}; snap\nrun second $NETSH {LAB}; snap"
    ));
    let s = sections(&out.stdout);
    let first = s
        .get("first 0")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    let second = s
        .get("second 0")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(first.starts_with("netsh: 21 changes\n"), "{first}");
    assert!(second.starts_with("netsh: 0 changes\n"), "{second}");
    let state = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    // timers and IPv6 link-local details move between two snapshots of the same state
    assert_same(
        &normalized(&state(first)),
        &normalized(&state(second)),
        "after the second run",
    );
}

#[test]
fn strict_fails_on_what_exists_and_a_different_kind_is_an_error_that_says_what_differs() {
    requires!(Root);
    let out = private(
        "$NETSH -c 'bridge br0' 2>/dev/null\nrun strict $NETSH --strict -c 'bridge br0'\nrun kind $NETSH -c 'veth br0 peer x1'\nip -br link show br0",
    );
    let s = sections(&out.stdout);
    assert!(s.contains_key("strict 1"), "{}", out.stdout);
    let kind = s.get("kind 1").unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        kind.contains("br0 exists as a bridge, not a veth"),
        "{kind}"
    );
}

#[test]
fn a_transaction_block_rolls_back_even_without_rollback_of_the_script() {
    requires!(Root);
    let out = private(
        "run run $NETSH --no-rollback -c 'bridge keep0\ntransaction {\n  bridge gone0\n  addr add 10.9.9.9/24 dev gone0\n  link set no-such up\n}'; ip -br link",
    );
    let s = sections(&out.stdout);
    let run = s.get("run 1").unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        run.contains("netsh: transaction: rolled back 2 changes"),
        "{run}"
    );
    assert!(run.contains("keep0") && !run.contains("gone0 "), "{run}");
}

#[test]
fn a_failed_expect_rolls_back_unless_no_rollback() {
    requires!(Root);
    let script = "netns add e1; bridge eb0; expect reach 10.255.0.1 from e1 timeout 0.2";
    let out = private(&format!(
        "$NETSH -c '{script}' >/dev/null 2>&1; echo \"--- default $?\"; ip -br link; ip netns list\n$NETSH --no-rollback -c '{script}' >/dev/null 2>&1; echo \"--- kept $?\"; ip -br link; ip netns list"
    ));
    let s = sections(&out.stdout);
    let rolled = s
        .get("default 1")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        !rolled.contains("eb0") && !rolled.contains("e1"),
        "{rolled}"
    );
    let kept = s.get("kept 1").unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(kept.contains("eb0") && kept.contains("e1"), "{kept}");
}

#[test]
fn sigterm_and_sigint_roll_back_and_exit_128_plus_the_signal() {
    requires!(Root);
    let out = private(
        "echo '--- before'; snap\nfor sig in TERM INT; do\n  $NETSH -c 'netns add s1; bridge sb0; exec sleep 5; bridge sb1' >/dev/null 2>&1 &\n  pid=$!; sleep 1; kill -$sig $pid; wait $pid; echo \"--- $sig $?\"; snap\ndone",
    );
    let s = sections(&out.stdout);
    let before = s.get("before").expect("before");
    assert_same(
        before,
        s.get("TERM 143")
            .unwrap_or_else(|| panic!("{}", out.stdout)),
        "after SIGTERM",
    );
    assert_same(
        before,
        s.get("INT 130").unwrap_or_else(|| panic!("{}", out.stdout)),
        "after SIGINT",
    );
}

#[test]
fn down_undoes_a_run_and_a_run_killed_with_9_converges() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let slow = dir.path().join("slow.netsh");
    let lab = std::fs::read_to_string(LAB).expect("lab");
    let (head, tail) = lab.split_at(lab.find("vxlan").expect("the lab has a vxlan"));
    std::fs::write(&slow, format!("{head}exec sleep 30\n{tail}")).expect("write");
    let down_file = dir.path().join("down");
    std::fs::write(&down_file, "bridge named-down\n").expect("write");
    let slow = slow.display();
    let out = private(&format!(
        "echo '--- before'; snap
$NETSH {LAB} 2>/dev/null; run \"down {LAB}\" $NETSH down {LAB}; snap
$NETSH {slow} >/dev/null 2>&1 & pid=$!; sleep 2; kill -9 $pid; wait $pid
run \"killed then down\" $NETSH down {slow}; snap
$NETSH {slow} >/dev/null 2>&1 & pid=$!; sleep 2; kill -9 $pid; wait $pid
sed -i 's/^exec sleep 30$//' {slow}; $NETSH {slow} >/dev/null 2>&1; echo \"--- killed then re-run $?\"; snap
$NETSH down {slow} >/dev/null 2>&1; echo \"--- and down $?\"; snap
$NETSH {slow} >/dev/null 2>&1; echo \"--- clean run $?\"; snap; $NETSH down {slow} >/dev/null 2>&1
cd {dir} && run dot-down $NETSH --no-rollback ./down; ip -br link show named-down; run \"bare down\" $NETSH down",
        dir = dir.path().display()
    ));
    let s = sections(&out.stdout);
    let get = |k: &str| {
        s.get(k)
            .unwrap_or_else(|| {
                panic!(
                    "no {k:?} in {:?}\n{}",
                    s.keys().collect::<Vec<_>>(),
                    out.stderr
                )
            })
            .clone()
    };
    let before = get("before");
    let downed = get(&format!("down {LAB} 0"));
    // every change of the lab is a statement in the journal, its proxy-NDP entry included
    assert!(downed.contains("netsh down: 21 undone"), "{downed}");
    assert_same(
        &before,
        &downed.lines().skip(1).collect::<Vec<_>>().join("\n"),
        "after down",
    );
    let killed = get("killed then down 0");
    assert_same(
        &before,
        &killed.lines().skip(1).collect::<Vec<_>>().join("\n"),
        "after kill -9 and down",
    );
    assert_same(
        &normalized(&get("clean run 0")),
        &normalized(&get("killed then re-run 0")),
        "a re-run after kill -9 against a clean run",
    );
    assert_same(&before, &get("and down 0"), "after the re-run's down");
    assert!(
        get("dot-down 0").contains("named-down"),
        "a script named down runs as ./down"
    );
    assert!(get("bare down 2").contains("usage: netsh down FILE"));
}

#[test]
fn a_sandbox_rollback_lists_only_what_outlives_the_sandbox() {
    requires!(Root);
    const FAILS: &str = "expect reach 10.1.1.9 from docker1 timeout 0.2\n";
    // only namespace state: one line, no `undone:` steps
    let r = util::Netsh::new()
        .private_world()
        .sandbox()
        .script(format!(
            "netns add docker1\nveth eth0 peer sw0 in docker1\n{FAILS}"
        ))
        .run()
        .code(1);
    assert!(
        r.stderr.contains(
            "netsh: rolled back 2 changes (all in the sandbox's namespaces, which end with it)"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("undone:"), "{}", r.stderr);
    // a store key outlives the sandbox: it is listed, the namespace steps are counted
    let r = util::Netsh::new()
        .private_world()
        .sandbox()
        .script(format!(
            "netns add docker1\nstore embedded\nnetwork config '{{\"Network\":\"10.100.0.0/16\"}}'\n{FAILS}"
        ))
        .run()
        .code(1);
    assert!(
        r.stderr.contains(
            "netsh: rolled back 2 changes (1 in the sandbox's namespaces, which end with it)\n  undone: etcdctl del /coreos.com/network/config"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("undone: ip netns del"), "{}", r.stderr);
    // nothing changed: no rollback line at all
    let r = util::Netsh::new()
        .private_world()
        .sandbox()
        .script(FAILS.replace("from docker1 ", ""))
        .run()
        .code(1);
    assert!(!r.stderr.contains("rolled back"), "{}", r.stderr);
}
