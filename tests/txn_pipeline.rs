//! Pipelined netlink requests (src/runtime/pipeline.rs), each test in a private network namespace
//! of its own (util::private_world): a pipelined script builds the same kernel state as one run a request at
//! a time; a failure in the middle of a window is reported on its line in the kernel's words and
//! rollback leaves nothing; `--no-rollback` keeps exactly what the lines before the failure made.

mod util;

use util::private_world::{first_difference, normalized, private, sections};

/// `n` veth pairs with an address, up, an MTU and a route through a gateway on their subnet; every
/// fourth also gets a pair into namespace `lab` set up there (the window moves between two
/// sockets). More than the runtime's window of 64 requests.
fn lab(n: usize) -> Vec<String> {
    let mut s = vec!["netns add lab".to_string()];
    for i in 0..n {
        s.push(format!("veth v{i} peer p{i}"));
        s.push(format!("addr add 10.1.{i}.1/24 dev v{i}"));
        s.push(format!("link set v{i} up mtu 1400"));
        s.push(format!("route add 100.1.{i}.0/24 via 10.1.{i}.2"));
        if i % 4 == 0 {
            s.push(format!("veth w{i} peer q{i} peer-in lab"));
            s.push(format!("addr add 10.2.{i}.1/24 dev q{i} in lab"));
            s.push(format!("link set q{i} up in lab"));
        }
    }
    s
}

/// The state part of a section that starts with netsh's last stderr line.
fn state(section: &str) -> String {
    normalized(section)
}

fn assert_same(a: &str, b: &str, what: &str) {
    if let Some(d) = first_difference(a, b) {
        panic!("{what}: the kernel's state differs, first at {d}");
    }
}

/// Writes `lines` as a script in `dir` and returns its path.
fn script(dir: &std::path::Path, name: &str, lines: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write the script");
    path.display().to_string()
}

#[test]
fn a_pipelined_script_builds_the_same_state_as_one_request_at_a_time() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = lab(80);
    let piped = script(dir.path(), "piped.netsh", &lines);
    // an `echo` after every statement waits for the answers in flight: one request at a time
    let one_by_one: Vec<String> = lines
        .iter()
        .flat_map(|l| [l.clone(), "echo".to_string()])
        .collect();
    let serial = script(dir.path(), "serial.netsh", &one_by_one);
    let run = |path: &str| {
        let out = private(&format!(
            "$NETSH {path} >/dev/null 2>/run/netsh/err; echo \"--- run $?\"; cat /run/netsh/err; echo '--- state'; snap"
        ));
        let s = sections(&out.stdout);
        assert!(
            s.contains_key("run 0"),
            "{path} failed: {}\n{}",
            out.stdout,
            out.stderr
        );
        (s["run 0"].clone(), s["state"].clone())
    };
    let (piped_said, piped_state) = run(&piped);
    let (serial_said, serial_state) = run(&serial);
    let n = lines.len();
    assert!(
        piped_said.contains(&format!("netsh: {n} changes")),
        "{piped_said}"
    );
    assert_eq!(piped_said, serial_said);
    assert_same(
        &state(&serial_state),
        &state(&piped_state),
        "pipelined vs one at a time",
    );
    // and as `ip -j` reads it: every link up with its MTU, every route there
    assert!(piped_state.contains("\"ifname\":\"v79\""), "{piped_state}");
    // 80 links, each in `ip link` and `ip addr`
    assert_eq!(piped_state.matches("\"mtu\":1400").count(), 160);
    assert_eq!(piped_state.matches("\"gateway\":\"10.1.").count(), 80);
    assert!(piped_state.contains("\"dst\":\"100.1.79.0/24\""));
    assert!(piped_state.contains("\"local\":\"10.2.76.1\""));
}

/// A failing line put at `at` of the lab, pipelinable lines after it (their requests go out in
/// the same window and the kernel applies them), and how netsh must report it.
struct Fault {
    name: &'static str,
    at: usize,
    line: &'static str,
    after: usize,
    flags: &'static str,
    says: &'static str,
}

fn faults() -> Vec<Fault> {
    vec![
        Fault {
            name: "unreachable-gateway",
            at: 40,
            line: "route add 100.9.0.0/24 via 10.99.0.1",
            after: 12,
            flags: "",
            says: "cannot add route 100.9.0.0/24 via 10.99.0.1: Nexthop has invalid gateway",
        },
        Fault {
            name: "missing-link",
            at: 23,
            line: "link set nosuch up",
            after: 12,
            flags: "",
            says: "Cannot find device \"nosuch\"",
        },
        Fault {
            name: "strict-exists",
            at: 31,
            line: "addr add 10.1.3.1/24 dev v3",
            after: 12,
            flags: "--strict",
            says: "cannot add address 10.1.3.1/24 to v3",
        },
        Fault {
            name: "in-lab",
            at: 37,
            line: "route add 100.9.0.0/24 via 10.99.0.1 in lab",
            after: 12,
            flags: "",
            says: "Nexthop has invalid gateway",
        },
        Fault {
            name: "last-line",
            at: 45,
            line: "route add 100.9.0.0/24 via 10.99.0.1",
            after: 0,
            flags: "",
            says: "Nexthop has invalid gateway",
        },
    ]
}

/// The lab's first `f.at` lines, the failing line, then `f.after` more lab lines.
fn faulty(f: &Fault) -> Vec<String> {
    let all = lab(20);
    let mut s: Vec<String> = all[..f.at].to_vec();
    s.push(f.line.to_string());
    s.extend(all[f.at..f.at + f.after].iter().cloned());
    s
}

#[test]
fn a_failure_in_a_pipelined_window_is_reported_on_its_line_and_rollback_leaves_nothing() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut steps = String::from("echo '--- before'; snap\n");
    for f in faults() {
        let path = script(dir.path(), &format!("{}.netsh", f.name), &faulty(&f));
        steps += &format!(
            "run {} $NETSH {} {path}\necho '--- {}.after'; snap\n",
            f.name, f.flags, f.name
        );
    }
    let out = private(&steps);
    let s = sections(&out.stdout);
    let before = &s["before"];
    for f in faults() {
        let said = s
            .get(&format!("{} 1", f.name))
            .unwrap_or_else(|| panic!("{} did not exit 1: {}", f.name, out.stdout));
        let path = dir.path().join(format!("{}.netsh", f.name));
        let place = format!("{}:{}:1: ", path.display(), f.at + 1);
        assert!(
            said.contains(&place),
            "{}: not on line {}: {said}",
            f.name,
            f.at + 1
        );
        assert!(said.contains(f.says), "{}: {said}", f.name);
        assert!(said.contains("netsh: rolled back"), "{}: {said}", f.name);
        assert_same(before, &s[&format!("{}.after", f.name)], f.name);
    }
}

#[test]
fn no_rollback_keeps_exactly_what_the_lines_before_the_failure_made() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    for f in faults() {
        let lines = faulty(&f);
        let failing = script(dir.path(), &format!("{}.netsh", f.name), &lines);
        let prefix = script(
            dir.path(),
            &format!("{}.prefix.netsh", f.name),
            &lines[..f.at],
        );
        let run = |cmd: String| {
            let out = private(&format!("run it {cmd}\necho '--- state'; snap"));
            let s = sections(&out.stdout);
            let (said, code) = s
                .iter()
                .find_map(|(k, v)| k.strip_prefix("it ").map(|c| (v.clone(), c.to_string())))
                .unwrap_or_else(|| panic!("{}: {}", f.name, out.stderr));
            (said, code, s["state"].clone())
        };
        let (said, code, kept) = run(format!("$NETSH --no-rollback {} {failing}", f.flags));
        let (prefix_said, prefix_code, wanted) = run(format!("$NETSH {} {prefix}", f.flags));
        assert_eq!(
            (code.as_str(), prefix_code.as_str()),
            ("1", "0"),
            "{}: {said}",
            f.name
        );
        assert!(
            said.contains(&format!(":{}:1: ", f.at + 1)),
            "{}: {said}",
            f.name
        );
        assert!(!said.contains("rolled back"), "{}: {said}", f.name);
        // the same number of changes as the lines before the failure, and the same state
        let count = |t: &str| {
            t.lines()
                .find(|l| l.ends_with(" changes"))
                .map(str::to_string)
        };
        assert_eq!(count(&said), count(&prefix_said), "{}", f.name);
        assert_same(&state(&wanted), &state(&kept), f.name);
    }
}

#[test]
fn a_transaction_block_takes_back_its_own_pipelined_requests() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = script(
        dir.path(),
        "block.netsh",
        &[
            "veth t0 peer u0".into(),
            "transaction {".into(),
            "  veth t1 peer u1".into(),
            "  addr add 10.5.0.1/24 dev t1".into(),
            "  route add 100.9.0.0/24 via 10.99.0.1".into(),
            // sent in the same window, after the failing request: taken back, not left
            "  veth t2 peer u2".into(),
            "}".into(),
        ],
    );
    let out = private(&format!(
        "run it $NETSH --no-rollback {path}\necho '--- state'; ip -j link show; ip -j addr show"
    ));
    let s = sections(&out.stdout);
    let said = s
        .get("it 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    assert!(said.contains("block.netsh:5:"), "{said}");
    assert!(
        said.contains("transaction: rolled back 2 changes"),
        "{said}"
    );
    let state = &s["state"];
    assert!(state.contains("\"ifname\":\"t0\""), "{state}");
    assert!(!state.contains("\"ifname\":\"t1\""), "{state}");
    assert!(!state.contains("\"ifname\":\"t2\""), "{state}");
    assert!(!state.contains("10.5.0.1"), "{state}");
}

#[test]
fn a_second_pipelined_run_changes_nothing_and_strict_fails_on_the_first_line() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = script(dir.path(), "lab.netsh", &lab(30));
    // without the namespace, so that the first line is a pipelined `veth`
    let here: Vec<String> = lab(30).into_iter().filter(|l| !l.contains("lab")).collect();
    let strict = script(dir.path(), "here.netsh", &here);
    let out = private(&format!(
        "run first $NETSH {path}\nrun second $NETSH {path}\nrun strict $NETSH --strict {strict}"
    ));
    let s = sections(&out.stdout);
    let n = lab(30).len();
    let first = s.get("first 0").unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(first.contains(&format!("netsh: {n} changes")), "{first}");
    let second = s
        .get("second 0")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(second.contains("netsh: 0 changes"), "{second}");
    let strict = s
        .get("strict 1")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        strict.contains("here.netsh:1:1: cannot add link v0"),
        "{strict}"
    );
    assert!(strict.contains("File exists"), "{strict}");
    // nothing was changed, so there is no rollback to speak of
    assert!(!strict.contains("rolled back"), "{strict}");
}

#[test]
fn an_index_learned_from_an_answer_is_not_used_after_a_rename_or_a_deletion() {
    requires!(Root);
    // `v0` renamed: its old name finds nothing; `v1` deleted and made again: the address goes on
    // the new link (a cached index of the old one would fail with ENODEV)
    let out = private(
        "run renamed $NETSH -c 'veth v0 peer p0\naddr add 10.0.0.1/24 dev v0\nlink set v0 name w0\naddr add 10.0.1.1/24 dev v0'\n\
         run remade $NETSH -c 'veth v1 peer p1\naddr add 10.0.2.1/24 dev v1\nlink del v1\nveth v1 peer p1\naddr add 10.0.3.1/24 dev v1'\n\
         echo '--- addrs'; ip -br addr show dev v1",
    );
    let s = sections(&out.stdout);
    let renamed = s
        .get("renamed 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    assert!(
        renamed.contains("-c:4:1: Cannot find device \"v0\""),
        "{renamed}"
    );
    assert!(s.contains_key("remade 0"), "{}", out.stdout);
    let addrs = &s["addrs"];
    assert!(
        addrs.contains("10.0.3.1/24") && !addrs.contains("10.0.2.1"),
        "{addrs}"
    );
}
