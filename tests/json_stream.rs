//! `--json`: standard output is one stream of records (docs/JSON.md). Every example that runs here
//! is run under `--sandbox --json` and every line of its output parsed; then each kind of line
//! that was once raw or lost its data: echo, exec, `expect http`'s URL, the change count, the
//! rollback's steps, `show addrs` nested as `ip -j` nests it, errors, a dry run.

mod util;

use serde_json::Value;
use std::collections::BTreeSet;
use util::Netsh;

/// The types docs/JSON.md documents: the first column of its table of types.
fn documented_types() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/JSON.md"))
        .expect("docs/JSON.md");
    let types: BTreeSet<String> = doc
        .lines()
        .skip_while(|l| !l.starts_with("## Types"))
        .take_while(|l| !l.starts_with("## ") || l.starts_with("## Types"))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(t, _)| t.to_string()))
        .collect();
    assert!(types.len() > 10, "docs/JSON.md lists the types: {types:?}");
    types
}

/// Every line of `stdout` as a record with a documented type; panics naming the first that is not.
fn records(stdout: &str, what: &str) -> Vec<Value> {
    let known = documented_types();
    stdout
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: line {} is not JSON ({e}): {l:?}", i + 1));
            let ty = v["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: line {} is no object with a type: {l}", i + 1));
            assert!(
                known.contains(ty),
                "{what}: line {}: type `{ty}` is not in docs/JSON.md",
                i + 1
            );
            v
        })
        .collect()
}

fn of_type<'a>(records: &'a [Value], ty: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == ty).collect()
}

#[test]
fn the_documented_types_are_the_types_netsh_writes() {
    let written: BTreeSet<String> = netsh::base::json_stream::Type::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    assert_eq!(written, documented_types());
}

#[test]
fn every_example_that_runs_here_writes_only_records() {
    requires!(Root);
    let mut failures = Vec::new();
    for path in util::examples::runnable() {
        let out = util::netsh(&["--sandbox", "--json", path.to_str().expect("a UTF-8 path")]);
        let name = path.display().to_string();
        if out.code != 0 {
            failures.push(format!("{name} exited {}\n{}", out.code, out.stderr));
            continue;
        }
        let all = records(&out.stdout, &name);
        // the run's end: its change count and its summary
        assert_eq!(of_type(&all, "changes").len(), 1, "{name}:\n{}", out.stdout);
        assert_eq!(
            all.last().map(|r| r["type"].clone()),
            Some(Value::from("summary")),
            "{name}"
        );
        // no check lost what it checked
        for c in of_type(&all, "check") {
            assert!(
                c["expect"].as_str().is_some_and(|e| !e.is_empty()),
                "{name}: {c}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn echo_and_exec_are_records() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script("echo \"two words\"\nexec echo from a program\n")
        .run()
        .ok();
    let all = records(&out.stdout, "echo");
    assert_eq!(of_type(&all, "echo")[0]["text"], "two words");
    let exec = of_type(&all, "exec");
    assert_eq!(exec[0]["output"], "from a program\n");
    assert_eq!(exec[0]["argv"][0], "echo");
}

#[test]
fn expect_http_records_its_url() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script(
            "switch lan
             host h1 on lan addr 10.0.0.1/24
             host h2 on lan addr 10.0.0.2/24
             serve http 80 text \"hello\" in h2
             expect http http://10.0.0.2/ from h1 contains hello
             ",
        )
        .run()
        .ok();
    let all = records(&out.stdout, "expect http");
    let checks = of_type(&all, "check");
    assert_eq!(checks.len(), 1, "{}", out.stdout);
    assert_eq!(checks[0]["expect"], "http://10.0.0.2/");
    assert_eq!(checks[0]["from"], "h1");
    assert_eq!(checks[0]["ok"], true);
}

#[test]
fn the_change_count_is_a_record_and_stays_on_stderr_in_words() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script("netns add a\nnetns add b\nbridge br0 in a\n")
        .run()
        .ok();
    let all = records(&out.stdout, "changes");
    let changes = of_type(&all, "changes");
    assert_eq!(changes.len(), 1, "{}", out.stdout);
    assert_eq!(changes[0]["count"], 3);
    assert_eq!(of_type(&all, "summary")[0]["changes"], 3);
    out.stderr_has("netsh: 3 changes");
}

#[test]
fn a_failed_run_records_its_error_and_its_rollback() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script("netns add a\nbridge br0 in a\nlink set nosuch up in a\n")
        .run()
        .code(1);
    let all = records(&out.stdout, "rollback");
    let errors = of_type(&all, "error");
    assert_eq!(errors.len(), 1, "{}", out.stdout);
    assert!(
        errors[0]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("netsh::"))
    );
    // the third line failed (FILE:LINE:COLUMN)
    assert!(
        errors[0]["location"]
            .as_str()
            .is_some_and(|l| l.contains("main.netsh:3:")),
        "{}",
        errors[0]
    );
    let rollback = of_type(&all, "rollback");
    assert_eq!(rollback.len(), 1, "{}", out.stdout);
    let undone: Vec<&str> = rollback[0]["undone"]
        .as_array()
        .expect("undone is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // two changes (the namespace, the bridge), a step each
    assert_eq!(rollback[0]["count"], 2);
    assert_eq!(undone.len(), 2, "{undone:?}");
    assert!(undone.iter().any(|u| u.contains("br0")), "{undone:?}");
    assert!(
        undone.iter().any(|u| u.contains("netns del a")),
        "{undone:?}"
    );
    assert_eq!(rollback[0]["sandbox"], true);
    assert_eq!(rollback[0]["transaction"], false);
    // the order: the error, its rollback, the summary
    let order: Vec<&str> = all.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(order, ["error", "rollback", "summary"]);
    // the person's diagnostic is still on standard error
    out.stderr_has("nosuch");
}

#[test]
fn a_failed_transaction_records_its_own_rollback_first() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script("netns add a\ntransaction {\n  bridge b1 in a\n  link set nosuch up in a\n}\n")
        .run()
        .code(1);
    let all = records(&out.stdout, "transaction");
    let order: Vec<&str> = all.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        order,
        ["rollback", "error", "rollback", "summary"],
        "{}",
        out.stdout
    );
    let undone = |r: &Value| r["undone"].to_string();
    assert_eq!(all[0]["transaction"], true);
    assert!(undone(&all[0]).contains("b1"), "{}", all[0]);
    assert!(!undone(&all[0]).contains("netns del a"), "{}", all[0]);
    assert_eq!(all[2]["transaction"], false);
    assert!(undone(&all[2]).contains("netns del a"), "{}", all[2]);
}

#[test]
fn show_addrs_nests_addresses_as_ip_j_does() {
    requires!(Root);
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script(
            "veth v1 peer v2
             addr add 10.1.0.1/24 dev v1
             addr add 2003:ab11::1/64 dev v1 nodad
             addr add 10.1.0.2/24 dev v2
             show addrs
             exec ip -j addr show
             ",
        )
        .run()
        .ok();
    let all = records(&out.stdout, "show addrs");
    let show = of_type(&all, "show");
    assert_eq!(show[0]["what"], "addrs");
    let mine = &show[0]["rows"];
    let ip: Value = serde_json::from_str(of_type(&all, "exec")[0]["output"].as_str().unwrap())
        .expect("ip -j prints JSON");
    // per link, the same addresses in `addr_info`
    for link in ["lo", "v1", "v2"] {
        let of = |list: &Value| {
            let mut a = util::addresses(&Value::Array(
                util::find(list, "ifname", link)
                    .into_iter()
                    .cloned()
                    .collect(),
            ));
            a.retain(|x| !x.starts_with("fe80:"));
            a.sort();
            a
        };
        assert!(!of(mine).is_empty(), "{link}: {mine}");
        assert_eq!(of(mine), of(&ip), "{link}: {mine}");
        assert_eq!(
            util::find(mine, "ifname", link).map(|l| l["ifindex"].clone()),
            util::find(&ip, "ifname", link).map(|l| l["ifindex"].clone()),
        );
    }
}

#[test]
fn a_check_error_is_a_record_with_its_location() {
    let out = Netsh::new()
        .args(["--check", "--json", "-c", "vlan 5000 on eth1"])
        .run()
        .code(2);
    let all = records(&out.stdout, "check error");
    assert_eq!(all.len(), 1, "{}", out.stdout);
    let e = &all[0];
    assert_eq!(e["type"], "error");
    assert_eq!(e["code"], "netsh::check::bad_vlan_id");
    assert_eq!(e["location"], "-c:1:6");
    assert_eq!(e["span"]["start"], 5);
    assert_eq!(e["span"]["end"], 9);
    // and the diagnostic drawn for a person on standard error
    out.stderr_has("vlan 5000 on eth1");
}

#[test]
fn an_unreadable_file_is_an_error_record() {
    let out = Netsh::new()
        .args(["--json", "/nonexistent/lab.netsh"])
        .run()
        .code(2);
    let all = records(&out.stdout, "unreadable file");
    assert_eq!(all.len(), 1, "{}", out.stdout);
    assert_eq!(all[0]["type"], "error");
    assert!(all[0]["code"].is_null());
    assert!(
        all[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/nonexistent/lab.netsh")),
        "{}",
        all[0]
    );
}

#[test]
fn a_dry_run_with_json_is_one_record_per_line() {
    let out = Netsh::dry("netns add a\nveth v1 peer v2 peer-in a\nexpect reach 10.0.0.2 from a\n")
        .arg("--json")
        .run()
        .ok();
    let plain =
        Netsh::dry("netns add a\nveth v1 peer v2 peer-in a\nexpect reach 10.0.0.2 from a\n")
            .run()
            .ok();
    let all = records(&out.stdout, "dry run");
    let texts: Vec<&str> = all.iter().filter_map(|r| r["text"].as_str()).collect();
    assert!(all.iter().all(|r| r["type"] == "dry-run"), "{}", out.stdout);
    assert_eq!(texts, plain.stdout.lines().collect::<Vec<_>>());
}

/// Standard output is written in one file; the few others that touch it say why here.
#[test]
fn only_the_json_stream_writes_to_standard_output() {
    let allowed = [
        // the one writer
        "base/json_stream.rs",
        // `help`, `man` and `completions` print documents, not a run; so does `graph`, a picture
        "app/manual.rs",
        "app/graph.rs",
        // hand standard output to the dry run, whose lines go through json_stream::DryRunLines
        "app/cli.rs",
        "app/repl/mod.rs",
        // flushes before a program inherits standard output (without --json only)
        "sys/exec.rs",
        // netsh-tunnel, a program of its own, prints its counters when it stops
        "bin/netsh-tunnel.rs",
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("a source folder") {
            let p = e.expect("an entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut wrong = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&f).expect("a source file");
        let writes = text.lines().any(|l| {
            let l = l.trim_start();
            let l = l.replace("eprintln!(", "").replace("eprint!(", "");
            !l.starts_with("//")
                && (l.contains("stdout()") || l.contains("println!(") || l.contains("print!("))
        });
        if writes && !allowed.contains(&rel.as_str()) {
            wrong.push(rel);
        }
    }
    assert!(
        wrong.is_empty(),
        "these write to standard output without base/json_stream.rs: {wrong:?}"
    );
}
