//! The book's recipes (Docker Networking Cookbook, chapters 8-10) as scripts in examples/.
//!
//! For every `examples/chNN-*.netsh` there is a `tests/book/chNN-*.txt` holding the commands the book
//! types for that recipe (the plain iproute2 / sysctl / etcdctl / docker parts), in the book's own
//! spelling. Each is normalized onto netsh's canonical dry-run forms and must appear, in order, in the
//! script's `--dry-run` output. Every example must also pass `--check`.
//!
//! Expected-file format: `# comment`, blank lines, `@HOST` (the following commands were typed on the
//! book's host HOST, i.e. inside the lab namespace HOST), `@` (typed on the machine itself), and
//! commands (a leading `sudo` and `user@host:~$ ` prompt are ignored).

mod util;

use std::path::{Path, PathBuf};
use util::netsh;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Long docker/dockerd options that take a value (`--subnet 10.0.0.0/24` == `--subnet=10.0.0.0/24`).
const DOCKER_VALUE_OPTS: &[&str] = &[
    "--subnet",
    "--ip-range",
    "--gateway",
    "--aux-address",
    "--bip",
    "--fixed-cidr-v6",
    "--mtu",
    "--name",
    "--net",
    "--network",
    "--ip",
    "--ip6",
    "--opt",
    "--driver",
];

/// Normalize one command onto netsh's canonical dry-run spelling. `host` is the lab host (namespace)
/// the command was typed on, or None for the machine itself. Returns None for lines that are no command.
pub fn normalize(line: &str, host: Option<&str>) -> Option<String> {
    let line = line.trim();
    // a shell prompt such as `user@docker1:~$ `
    let line = match line.find("$ ") {
        Some(i)
            if line[..i].contains('@') && line[..i].contains(':') && !line[..i].contains(' ') =>
        {
            &line[i + 2..]
        }
        _ => line,
    };
    let mut t: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if t.first().map(String::as_str) == Some("sudo") {
        t.remove(0);
    }
    if t.is_empty() {
        return None;
    }
    let mut ns: Option<String> = host.map(str::to_string);
    // `ip netns exec X CMD ...` → run CMD in X
    if t.len() > 4 && t[0] == "ip" && t[1] == "netns" && t[2] == "exec" {
        ns = Some(t[3].clone());
        t.drain(..4);
    }
    // a program named by its path: /opt/flannel/mk-docker-opts.sh, /usr/bin/dockerd
    if let Some((_, base)) = t[0].rsplit_once('/') {
        t[0] = base.to_string();
    }
    let exec_prefix = |ns: &Option<String>| {
        ns.as_ref()
            .map(|n| format!("ip netns exec {n} "))
            .unwrap_or_default()
    };
    let out = match t[0].as_str() {
        "ip" => {
            let mut i = 1;
            while i < t.len() && t[i].starts_with('-') {
                match t[i].as_str() {
                    "-n" | "-netns" => {
                        ns = t.get(i + 1).cloned();
                        i += 2;
                    }
                    "-6" | "-4" => i += 1,
                    "-f" | "-family" => i += 2,
                    _ => break,
                }
            }
            // `nodad` is how netsh's lab hosts skip duplicate address detection; the book's addresses are the same
            let mut rest: Vec<String> = t[i..].iter().filter(|a| *a != "nodad").cloned().collect();
            if rest.is_empty() {
                return Some("ip".into());
            }
            rest[0] = match rest[0].as_str() {
                "address" | "addr" | "a" => "addr".into(),
                "neighbor" | "neighbour" | "neigh" | "n" => "neigh".into(),
                "route" | "r" | "ro" => "route".into(),
                "link" | "l" => "link".into(),
                other => other.to_string(),
            };
            if rest[0] == "netns" {
                return Some(format!("ip {}", rest.join(" ")));
            }
            // `ip link set dev X ...` → `ip link set X ...`; `ip link add link P name N ...` → `ip link add N link P ...`
            if rest[0] == "link"
                && rest.len() > 3
                && (rest[1] == "set" || rest[1] == "del" || rest[1] == "delete")
                && rest[2] == "dev"
            {
                rest.remove(2);
            }
            if rest[0] == "link"
                && rest.len() > 5
                && rest[1] == "add"
                && rest[2] == "link"
                && rest[4] == "name"
            {
                let (parent, name) = (rest[3].clone(), rest[5].clone());
                rest.splice(2..6, [name, "link".to_string(), parent]);
            }
            if rest[0] == "link" && rest.len() > 1 && rest[1] == "delete" {
                rest[1] = "del".into();
            }
            match &ns {
                Some(n) => format!("ip -n {n} {}", rest.join(" ")),
                None => format!("ip {}", rest.join(" ")),
            }
        }
        "sysctl" => {
            let args: Vec<String> = t[1..]
                .iter()
                .filter(|a| *a != "-w")
                .map(|a| a.replace(['\'', '"'], ""))
                .collect();
            let kv = args.join("").replace(' ', "");
            if kv.contains('=') {
                format!("{}sysctl -w {kv}", exec_prefix(&ns))
            } else {
                format!("{}sysctl {kv}", exec_prefix(&ns))
            }
        }
        "bridge" => {
            let rest = if t.len() > 2 && t[1] == "-n" {
                ns = Some(t[2].clone());
                t[3..].to_vec()
            } else {
                t[1..].to_vec()
            };
            match &ns {
                Some(n) => format!("bridge -n {n} {}", rest.join(" ")),
                None => format!("bridge {}", rest.join(" ")),
            }
        }
        "etcdctl" => {
            let mut rest: Vec<String> = t[1..]
                .iter()
                .filter(|a| !a.starts_with("--endpoints"))
                .cloned()
                .collect();
            if let Some(v) = rest.first_mut().filter(|v| *v == "set" || *v == "mk") {
                *v = "put".into();
            }
            format!("etcdctl {}", rest.join(" "))
        }
        "docker" | "dockerd" | "mk-docker-opts.sh" => {
            let mut v: Vec<String> = Vec::new();
            let mut i = 0;
            while i < t.len() {
                let a = &t[i];
                if DOCKER_VALUE_OPTS.contains(&a.as_str()) && i + 1 < t.len() {
                    v.push(format!("{a}={}", t[i + 1]));
                    i += 2;
                } else {
                    v.push(if a == "--driver" {
                        "-d".into()
                    } else {
                        a.clone()
                    });
                    i += 1;
                }
            }
            format!("{}{}", exec_prefix(&ns), v.join(" "))
        }
        _ => format!("{}{}", exec_prefix(&ns), t.join(" ")),
    };
    Some(out)
}

/// The book's commands of an expected file, normalized, with their line numbers.
fn expected(path: &Path) -> Vec<(usize, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut host: Option<String> = None;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(h) = line.strip_prefix('@') {
            host = if h.trim().is_empty() {
                None
            } else {
                Some(h.trim().to_string())
            };
            continue;
        }
        if let Some(n) = normalize(line, host.as_deref()) {
            out.push((i + 1, line.to_string(), n));
        }
    }
    merge_moves(out)
}

/// The book makes a MacVLAN, IPVLAN or VLAN beside its parent and then moves it (`ip link add X link
/// P type ...`, `ip link set X netns T`); netsh does both in one request, which it prints as
/// `ip link add X link P netns T type ...`. The pair is matched as that one command.
fn merge_moves(lines: Vec<(usize, String, String)>) -> Vec<(usize, String, String)> {
    let mut out: Vec<(usize, String, String)> = Vec::new();
    for (line, book, norm) in lines {
        if let Some((_, prev_book, prev)) = out.last_mut() {
            let words: Vec<&str> = prev.split(' ').collect();
            let add = words.iter().position(|w| *w == "add");
            let ty = words.iter().position(|w| *w == "type");
            if let (Some(a), Some(t)) = (add, ty)
                && a > 0
                && words.get(a - 1) == Some(&"link")
                && words.get(a + 2) == Some(&"link")
                && !words.contains(&"netns")
            {
                let ip = words[..a - 1].join(" ");
                let name = words[a + 1];
                let set = format!("{ip} link set {name} netns ");
                if let Some(target) = norm.strip_prefix(&set)
                    && !target.contains(' ')
                {
                    *prev = format!(
                        "{} netns {target} {}",
                        words[..t].join(" "),
                        words[t..].join(" ")
                    );
                    *prev_book = format!("{prev_book}` + `{book}");
                    continue;
                }
            }
        }
        out.push((line, book, norm));
    }
    out
}

/// Check that every expected command appears in `output` (normalized), in order.
/// A dry-run line as the book would type it: a Docker statement's docker command is a comment
/// above the kernel's operations netsh does for it (`# docker network create ...`).
fn as_typed(line: &str) -> &str {
    match line.strip_prefix("# ") {
        Some(c) if c.split_whitespace().any(|w| w == "docker") => c,
        _ => line,
    }
}

fn check_in_order(output: &str, want: &[(usize, String, String)]) -> Result<(), String> {
    let got: Vec<String> = output
        .lines()
        .filter_map(|l| normalize(as_typed(l), None))
        .collect();
    let mut pos = 0;
    for (line, book, norm) in want {
        match got[pos..].iter().position(|g| g == norm) {
            Some(k) => pos += k + 1,
            None => {
                let earlier = got[..pos].iter().any(|g| g == norm);
                return Err(format!(
                    "line {line}: the book's `{book}`\n  normalized: `{norm}`\n  {}\n--- dry-run (normalized) ---\n{}",
                    if earlier {
                        "appears only earlier than the previous expected command (wrong order)"
                    } else {
                        "does not appear in the dry-run"
                    },
                    got.join("\n")
                ));
            }
        }
    }
    Ok(())
}

fn book_examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("ch") && n.ends_with(".netsh")
        })
        .collect();
    v.sort();
    v
}

fn expected_file(example: &Path) -> PathBuf {
    let stem = example.file_stem().unwrap().to_string_lossy().to_string();
    root().join("tests/book").join(format!("{stem}.txt"))
}

fn dry_run(example: &Path) -> String {
    let out = netsh(&["--dry-run", example.to_str().unwrap()]);
    assert!(
        out.code == 0,
        "{} --dry-run exited {}\n{}",
        example.display(),
        out.code,
        out.stderr
    );
    out.stdout
}

#[test]
fn every_recipe_of_chapters_8_to_10_has_a_script() {
    let v = book_examples();
    for ch in ["ch08-", "ch09-", "ch10-"] {
        assert!(
            v.iter()
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(ch))
                .count()
                >= 4,
            "too few {ch} examples"
        );
    }
}

#[test]
fn every_example_dry_runs_to_the_books_commands_in_order() {
    let mut failures = Vec::new();
    for ex in book_examples() {
        let exp = expected_file(&ex);
        assert!(
            exp.exists(),
            "{} has no expected-command file {}",
            ex.display(),
            exp.display()
        );
        let want = expected(&exp);
        assert!(
            !want.is_empty(),
            "{}: too few book commands to check",
            exp.display()
        );
        if let Err(e) = check_in_order(&dry_run(&ex), &want) {
            failures.push(format!("{}:\n{e}", ex.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_checks() {
    let mut all = book_examples();
    all.push(root().join("examples/quickstart.netsh"));
    for ex in all {
        let out = netsh(&["--check", ex.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{} --check: {}", ex.display(), out.stderr);
    }
}

/// Scripts start with a comment naming the recipe, end in `expect` checks (reach and no-reach where the
/// book shows both), and carry `# netsh-test: dry-run-only` exactly when they need what this machine's
/// kernel lacks (ipvlan, 802.1Q vlan, dummy: also a Docker network on an ipvlan driver or with no parent)
/// or services netsh does not run yet (flannel).
#[test]
fn every_example_is_a_lab_with_checks_and_the_right_marker() {
    let needs_more = [
        "ipvlan ",
        "vlan ",
        "dummy ",
        "store ",
        "network config",
        "lease",
        "overlay",
        "docker-opts",
    ];
    // Docker networks run here unless they need ipvlan or a dummy parent
    let docker_needs_more = |l: &str| {
        l.starts_with("network create")
            && (l.contains("driver ipvlan")
                || (l.contains("driver macvlan") && !l.contains("parent ")))
    };
    for ex in book_examples() {
        let text = std::fs::read_to_string(&ex).unwrap();
        let name = ex.display();
        let first = text.lines().find(|l| !l.starts_with("#!")).unwrap_or("");
        assert!(
            first.starts_with("# Recipe") || first.starts_with("# Chapter"),
            "{name}: must start with a comment naming the recipe"
        );
        assert!(
            text.contains("\nswitch ") && text.contains("\nhost "),
            "{name}: must build its lab from switch/host"
        );
        assert!(
            text.contains("expect reach") || text.contains("expect http"),
            "{name}: needs reach checks"
        );
        // a statement continued with `\` is one line here
        let joined = text.replace("\\\n", " ");
        let stmts: Vec<&str> = joined
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "}")
            .collect();
        assert!(
            stmts.last().unwrap().starts_with("expect")
                || stmts.last().unwrap().starts_with("echo"),
            "{name}: must end in expect checks"
        );
        let needs = stmts.iter().any(|l| {
            let l = l.trim_start_matches("in ").trim();
            needs_more.iter().any(|k| l.starts_with(k)) || docker_needs_more(l)
        });
        let marked = text.contains("# netsh-test: dry-run-only");
        // what this kernel lacks always needs the marker; netsh's services (flannel, containers,
        // web servers) run for real once built, so a script using them may drop it
        let needs_kernel = stmts.iter().any(|l| {
            let l = l.trim_start_matches("in ").trim();
            needs_more[..3].iter().any(|k| l.starts_with(k))
        });
        assert!(
            !needs_kernel || marked,
            "{name}: needs what this kernel lacks but has no dry-run-only marker"
        );
        assert!(
            !marked || needs,
            "{name}: has the dry-run-only marker but needs no service or missing kernel feature"
        );
    }
}

// ---- the normalizer itself ----

#[test]
fn normalizer_maps_the_books_spellings_onto_netsh_forms() {
    let n = |l: &str, h: Option<&str>| normalize(l, h).unwrap();
    assert_eq!(
        n(
            "sudo ip netns exec namespace1 ip address add 192.168.50.171/24 dev macvlan1",
            Some("net1")
        ),
        "ip -n namespace1 addr add 192.168.50.171/24 dev macvlan1"
    );
    assert_eq!(
        n("ip link set dev macvlan1 up", Some("net1")),
        "ip -n net1 link set macvlan1 up"
    );
    assert_eq!(
        n("ip -6 addr add 2003::1/64 dev eth1", Some("net1")),
        "ip -n net1 addr add 2003::1/64 dev eth1"
    );
    assert_eq!(
        n("ip -n net1 -6 route add ::/0 via 2003::1", None),
        "ip -n net1 route add ::/0 via 2003::1"
    );
    assert_eq!(
        n(
            "sudo sysctl net.ipv6.conf.eth0.proxy_ndp=1",
            Some("docker1")
        ),
        "ip netns exec docker1 sysctl -w net.ipv6.conf.eth0.proxy_ndp=1"
    );
    assert_eq!(
        n(
            "ip netns exec docker1 sysctl -w 'net.ipv6.conf.eth0.proxy_ndp=1'",
            None
        ),
        "ip netns exec docker1 sysctl -w net.ipv6.conf.eth0.proxy_ndp=1"
    );
    assert_eq!(
        n(
            "sudo ip -6 neigh add proxy 2003:ab11::8000:242:ac11:2 dev eth0",
            Some("docker1")
        ),
        "ip -n docker1 neigh add proxy 2003:ab11::8000:242:ac11:2 dev eth0"
    );
    assert_eq!(
        n(
            r#"etcdctl set /coreos.com/network/config '{"Network":"10.100.0.0/16"}'"#,
            Some("docker1")
        ),
        r#"etcdctl put /coreos.com/network/config '{"Network":"10.100.0.0/16"}'"#
    );
    assert_eq!(
        n("user@net1:~$ sudo ip netns add namespace1", Some("net1")),
        "ip netns add namespace1"
    );
    assert_eq!(
        n(
            "ip link add link eth0 name macvlan1 type macvlan mode vepa",
            None
        ),
        "ip link add macvlan1 link eth0 type macvlan mode vepa"
    );
    assert_eq!(
        n(
            "docker network create -d macvlan --subnet 10.10.10.0/24 --gateway=10.10.10.1 -o parent=eth0 macvlan_net",
            Some("docker1")
        ),
        "ip netns exec docker1 docker network create -d macvlan --subnet=10.10.10.0/24 --gateway=10.10.10.1 -o parent=eth0 macvlan_net"
    );
}

/// The normalizer must not hide mistakes: a wrong address, name, mode, namespace or order fails.
#[test]
fn a_wrong_address_name_mode_or_order_fails_the_match() {
    let ex = root().join("examples/ch09-macvlan-vepa.netsh");
    let out = dry_run(&ex);
    let good = expected(&expected_file(&ex));
    check_in_order(&out, &good).expect("the real expectations match");
    let mutate = |from: &str, to: &str| -> Vec<(usize, String, String)> {
        let mut hit = false;
        let v = good
            .iter()
            .map(|(l, b, n)| {
                if !hit && n.contains(from) {
                    hit = true;
                    (*l, b.clone(), n.replacen(from, to, 1))
                } else {
                    (*l, b.clone(), n.clone())
                }
            })
            .collect();
        assert!(hit, "mutation {from} -> {to} found nothing to change");
        v
    };
    for (from, to) in [
        ("172.16.10.5/24", "172.16.10.7/24"),         // wrong address
        ("172.16.10.5/24", "172.16.10.5/25"),         // wrong prefix length
        ("mode vepa", "mode bridge"),                 // wrong mode
        ("link add macvlan1", "link add macvlan9"),   // wrong name
        ("ip -n namespace1 addr", "ip -n net1 addr"), // wrong namespace
    ] {
        assert!(
            check_in_order(&out, &mutate(from, to)).is_err(),
            "mutation {from} -> {to} was not caught"
        );
    }
    let mut swapped = good.clone();
    let k = swapped.len() - 1;
    swapped.swap(0, k);
    assert!(
        check_in_order(&out, &swapped).is_err(),
        "reordered expectations were not caught"
    );
    // an address spelled differently in the book text itself is caught too
    assert!(
        check_in_order(
            &out,
            &[(
                1,
                "x".into(),
                normalize(
                    "ip netns exec namespace1 ip address add 172.16.10.50/24 dev macvlan1",
                    Some("net1")
                )
                .unwrap()
            )]
        )
        .is_err()
    );
}
