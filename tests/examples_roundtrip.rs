//! Every example that runs on this machine round-trips (docs/GUARANTEES.md, "Round trips"):
//! (a) its dry run, run by bash in an empty world, builds the state netsh builds, and its checks
//! pass; (b) `dump` of its end state, replayed in an empty world, builds that state again; (c) a
//! second run in the same world reports 0 changes, leaves the journal as it was and the state too;
//! or, for an example that changes its own setup midway (ch08-flannel-vxlan: udp, then vxlan), (d)
//! a second run succeeds and ends in the same state.
//! Each world is a private network and mount namespace (util::private_world); states are compared
//! as `ip -j` snapshots of every namespace.
//!
//! What the comparison leaves out (`comparable`): what `normalized` leaves out (interface
//! indexes, random MACs and the link-local addresses made from them, timers), and what the kernel
//! settles after the run by itself: a link's carrier (`operstate`, `LOWER_UP`, `NO-CARRIER`, a
//! route's `linkdown`, a bridge port's forwarding state, which linkwatch and the bridge set up to
//! a second after the link came up), IPv6 duplicate address detection (`tentative`), and the FDB
//! entries holding a link's own random MAC. What a script sets (the `UP` flag, addresses,
//! routes, neighbours, ...) is compared.
//!
//! Run time: 368 s on this machine with two tests at a time while two other builds ran,
//! most of it the examples' own `no-reach` checks, which wait
//! for their timeout; each test is one example, so two run at a time.

mod util;

use std::path::Path;
use util::private_world::{canonical, first_difference, normalized, private, sections};

/// What is checked of an example.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// (a): its dry run runs.
    DryRun,
    /// (b): its dump replays.
    Dump,
    /// (c): a second run changes nothing.
    Again,
    /// (d): a second run succeeds and ends in the state the first one left, but for the MACs of
    /// VXLAN devices it made anew (`vteps_aside`).
    Converges,
}
use Check::*;

/// One test per example, and the list of examples they cover.
macro_rules! examples {
    ($($test:ident: $file:literal => $($check:ident)*;)*) => {
        $(
            #[test]
            fn $test() {
                requires!(Root);
                round_trip($file, &[$($check),*]);
            }
        )*
        const LISTED: &[&str] = &[$($file),*];
    };
}

// Left out, and why:
// - (a) for the examples with Docker networks, containers or flannel: their dry run shows
//   `docker network create`, `docker run`, `etcdctl` and flanneld's work as the commands they stand
//   for, which need Docker and etcd (and flannel's leases are random, so a dry run's stand-ins
//   differ anyway).
// - (b) for ch09-macvlan-private: its `exec "bridge link set ... hairpin on"` sets a bridge port
//   flag that netsh has no statement for, so `dump` cannot write it.
// - (c) for ch09-macvlan-interfaces, which deletes its MacVLANs at the end (a re-run makes and
//   deletes them again); for ch08-flannel-vxlan, which starts on the udp backend and switches the
//   config to vxlan midway, so its re-run switches back and forth again: (d) instead; for
//   ch08-flannel-options, whose end state (four leases on the eth1 addresses filling the pool)
//   is not the start it assumes: its re-run's first `lease in docker1` finds the pool full and
//   fails, as flanneld would (docs/GUARANTEES.md).
examples! {
    quickstart: "quickstart.netsh" => DryRun Dump Again;
    macvlan_bridge: "ch09-macvlan-bridge.netsh" => DryRun Dump Again;
    macvlan_interfaces: "ch09-macvlan-interfaces.netsh" => DryRun Dump;
    macvlan_passthru: "ch09-macvlan-passthru.netsh" => DryRun Dump Again;
    macvlan_private: "ch09-macvlan-private.netsh" => DryRun Again;
    macvlan_vepa: "ch09-macvlan-vepa.netsh" => DryRun Dump Again;
    ipv6_basics: "ch10-ipv6-basics.netsh" => DryRun Dump Again;
    docker_macvlan: "ch09-docker-macvlan.netsh" => Dump Again;
    docker_ipv6: "ch10-docker-ipv6.netsh" => Dump Again;
    ipv6_containers_across_hosts: "ch10-ipv6-containers-across-hosts.netsh" => Dump Again;
    ipv6_user_networks: "ch10-ipv6-user-networks.netsh" => Dump Again;
    ndp_proxy: "ch10-ndp-proxy.netsh" => Dump Again;
    ndp_proxy_prefix: "ch10-ndp-proxy-prefix.netsh" => Dump Again;
    flannel_docker_integration: "ch08-flannel-docker-integration.netsh" => Dump Again;
    flannel_host_gw_iface: "ch08-flannel-host-gw-iface.netsh" => Dump Again;
    // its re-run fails its first check by design and rolls back what it changed: nothing
    flannel_host_gw: "ch08-flannel-host-gw.netsh" => Dump Again;
    flannel_install_etcd: "ch08-flannel-install-etcd.netsh" => Dump Again;
    flannel_options: "ch08-flannel-options.netsh" => Dump;
    flannel_udp_testing: "ch08-flannel-udp-testing.netsh" => Dump Again;
    flannel_vxlan: "ch08-flannel-vxlan.netsh" => Dump Converges;
}

fn examples_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn every_example_that_runs_here_is_listed() {
    let mut runnable: Vec<String> = util::examples::runnable()
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    runnable.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, runnable,
        "the examples listed here are those that run"
    );
}

/// A snapshot's namespaces (what follows the first `== namespace` line of a section), without
/// what differs between two builds of one state (see the module's comment).
fn comparable(section: &str) -> String {
    let state: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("== namespace"))
        .collect();
    fn settle(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in ["operstate", "tentative"] {
                    m.remove(k);
                }
                // a bridge port forwards once its carrier is up
                if let Some(serde_json::Value::Object(port)) = m.get_mut("info_slave_data") {
                    port.remove("state");
                }
                // an FDB entry without a destination holds a link's own (random) MAC: a
                // macvlan's on its parent
                if m.contains_key("mac") && !m.contains_key("dst") {
                    m.remove("mac");
                }
                // a link's carrier, and a route's `linkdown` that follows it
                if let Some(serde_json::Value::Array(flags)) = m.get_mut("flags") {
                    flags.retain(|f| {
                        !matches!(f.as_str(), Some("LOWER_UP" | "NO-CARRIER" | "linkdown"))
                    });
                }
                m.values_mut().for_each(settle);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(settle),
            _ => {}
        }
    }
    normalized(&state.join("\n"))
        .lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(mut v) if l.starts_with('[') || l.starts_with('{') => {
                settle(&mut v);
                canonical(&mut v);
                v.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A comparable state without the MACs of `flannel.N` devices (a VTEP's MAC is random) in the
/// entries that name them: the FDB entries and neighbours on those devices. An example that
/// switches its overlay's backend (ch08-flannel-vxlan) makes its VXLAN devices anew on a re-run.
fn vteps_aside(state: &str) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                let on_vtep = ["ifname", "dev"].iter().any(|k| {
                    m.get(*k)
                        .and_then(|d| d.as_str())
                        .is_some_and(|d| d.starts_with("flannel."))
                });
                if on_vtep {
                    m.remove("mac");
                    m.remove("lladdr");
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    state
        .lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(mut v) if l.starts_with('[') || l.starts_with('{') => {
                strip(&mut v);
                // entries were sorted with their MACs
                canonical(&mut v);
                v.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The section `key` of a world's output, or a failure that shows the whole output.
fn section(out: &util::Out, key: &str) -> String {
    let s = sections(&out.stdout);
    s.get(key)
        .unwrap_or_else(|| {
            panic!(
                "no section {key:?} (have {:?})\n--- stdout\n{}\n--- stderr\n{}",
                s.keys().collect::<Vec<_>>(),
                out.stdout,
                out.stderr
            )
        })
        .clone()
}

/// Every `N change(s)` a run printed says N = 0, and there is one.
fn changed_nothing(run: &str) -> bool {
    let counts: Vec<&str> = run
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| matches!(w[1], "change" | "changes") && w[0].parse::<u64>().is_ok())
        .map(|w| w[0])
        .collect();
    !counts.is_empty() && counts.iter().all(|n| *n == "0")
}

fn round_trip(file: &str, checks: &[Check]) {
    let path = examples_dir().join(file);
    let path = path.display();
    let dir = tempfile::tempdir().expect("a temp dir");
    // the example run by netsh; the journal and the dump of its end state; then (c) the example
    // again in the same world, going on after a failed check (an example that checks the state
    // before its changes, `no-reach` before the routes, finds them made), and the journal again
    let twice = checks.contains(&Again) || checks.contains(&Converges);
    let again = if twice {
        format!(
            "run second $NETSH --keep-going {path}; snap
echo '--- journal2'; cat /run/netsh/journal/* 2>/dev/null"
        )
    } else {
        String::new()
    };
    let built = private(&format!(
        "run first $NETSH {path}; snap
echo '--- journal1'; cat /run/netsh/journal/* 2>/dev/null
echo '--- dump'; $NETSH -c dump
{again}"
    ));
    let first = section(&built, "first 0");
    let state = comparable(&first);
    assert!(state.contains("== namespace"), "no snapshot:\n{first}");
    let mut failures = Vec::new();

    if twice {
        let s = sections(&built.stdout);
        let (status, second) = s
            .iter()
            .find_map(|(k, v)| Some((k.strip_prefix("second ")?, v.clone())))
            .unwrap_or_default();
        let report: String = second
            .lines()
            .take_while(|l| !l.starts_with("== namespace"))
            .collect::<Vec<_>>()
            .join("\n");
        if checks.contains(&Converges) && status != "0" {
            failures.push(format!("a second run failed (exit {status}):\n{report}"));
        }
        if checks.contains(&Again) && !changed_nothing(&report) {
            failures.push(format!("a second run changed something:\n{report}"));
        }
        if checks.contains(&Again) && section(&built, "journal1") != section(&built, "journal2") {
            failures.push(format!(
                "a second run wrote to the journal:\n{}",
                section(&built, "journal2")
            ));
        }
        let (first_state, second_state) = match checks.contains(&Converges) {
            true => (vteps_aside(&state), vteps_aside(&comparable(&second))),
            false => (state.clone(), comparable(&second)),
        };
        if let Some(d) = first_difference(&first_state, &second_state) {
            failures.push(format!("a second run changed the state: {d}"));
        }
    }

    if checks.contains(&Dump) {
        let dump = section(&built, "dump");
        let script = dir.path().join("dump.netsh");
        std::fs::write(&script, &dump).expect("write the dump");
        let replayed = private(&format!("run replay $NETSH {}; snap", script.display()));
        let s = sections(&replayed.stdout);
        match s.get("replay 0") {
            None => failures.push(format!(
                "its dump did not replay:\n{}{}\n\ndump:\n{dump}",
                replayed.stdout, replayed.stderr
            )),
            Some(replay) => {
                if let Some(d) = first_difference(&state, &comparable(replay)) {
                    failures.push(format!(
                        "its dump did not rebuild its state: {d}\n\ndump:\n{dump}"
                    ));
                }
            }
        }
    }

    if checks.contains(&DryRun) {
        let dry = std::process::Command::new(util::private_world::NETSH)
            .args(["--dry-run", &path.to_string()])
            .output()
            .expect("netsh runs");
        assert!(dry.status.success(), "{file}: the dry run failed");
        let script = dir.path().join("dry.sh");
        std::fs::write(&script, &dry.stdout).expect("write the dry run");
        // the script runs netsh for netsh's own services (`serve http`): the binary under test
        let ran = private(&format!(
            "PATH=$(dirname $NETSH):$PATH; run dry bash {}; snap",
            script.display()
        ));
        let text = String::from_utf8_lossy(&dry.stdout);
        let s = sections(&ran.stdout);
        match s.get("dry 0") {
            None => failures.push(format!(
                "its dry run failed in bash:\n{}{}\n\nscript:\n{text}",
                ran.stdout, ran.stderr
            )),
            Some(dry_state) => {
                if let Some(d) = first_difference(&state, &comparable(dry_state)) {
                    failures.push(format!(
                        "its dry run did not build its state: {d}\n\nscript:\n{text}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n\n"));
}

/// Item: dry-run output is safe to paste. Names the kernel takes but a shell would read as
/// syntax (`;`, `$(...)`, a quote) are quoted, so the script makes links of exactly those names
/// and runs nothing else; text with a line break cannot leave its quotes.
#[test]
fn a_dry_run_quotes_the_words_a_shell_would_read() {
    requires!(Root);
    let script = r#"netns add 'n;s'
bridge 'x;id' in 'n;s'
veth "q'1" peer 'a$(id)' in 'n;s'
link set 'x;id' up in 'n;s'
addr add 10.9.0.1/24 dev 'x;id' in 'n;s'
echo "two
lines; touch /run/netsh/pwned"
serve http 8080 text "it's
here; touch /run/netsh/pwned" in 'n;s'
"#;
    let dry = util::Netsh::dry(script).run().ok();
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("dry.sh");
    std::fs::write(&file, &dry.stdout).expect("write the dry run");
    let out = private(&format!(
        "PATH=$(dirname $NETSH):$PATH; run dry bash {}
echo '--- links'; ip -n 'n;s' -j link show
echo '--- addrs'; ip -n 'n;s' -j addr show dev 'x;id'
echo '--- planted'; ls /run/netsh/pwned 2>/dev/null",
        file.display()
    ));
    assert!(
        section(&out, "dry 0").contains("two\nlines; touch /run/netsh/pwned"),
        "echo printed its text:\n{}",
        dry.stdout
    );
    let links: serde_json::Value =
        serde_json::from_str(section(&out, "links").trim()).expect("ip -j link");
    let mut names: Vec<&str> = links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["a$(id)", "lo", "q'1", "x;id"], "{}", dry.stdout);
    assert!(
        section(&out, "addrs").contains("10.9.0.1"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        section(&out, "planted"),
        "",
        "the dry run ran a planted command"
    );
}
