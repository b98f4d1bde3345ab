//! A second run of a converged flannel script changes nothing (docs/GUARANTEES.md, "Re-runs"):
//! this host's lease is kept (its TTL renewed, nothing written), a vxlan overlay keeps the
//! flannel.N it finds as it would make it (same MAC, same entries), and what must change still
//! does, through the run's record: a flannel.1 with other settings is replaced, and a rollback
//! brings it back. Each test runs in a private network and mount namespace
//! (util::private_world); the examples' second runs are in tests/examples_roundtrip.rs.

mod util;

use util::private_world::{private, sections};

/// Two hosts on one segment with a vxlan overlay; `tail` is appended (a failing check, say).
/// The last check waits for docker1's route to docker2's lease, which docker1's overlay adds in
/// the background when docker2 publishes its VTEP.
fn vxlan_lab(hosts: &[&str], tail: &str) -> String {
    let mut s = String::from(
        "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}'
",
    );
    for h in hosts {
        s += &format!("lease in {h}\noverlay in {h}\n");
    }
    s += "docker-opts in docker1\n";
    s += "let l2 = exec \"sh -c '. /run/flannel/docker2/subnet.env; printf %s ${FLANNEL_SUBNET%.1/24}'\"
expect route $l2.0/24 via $l2.0 dev flannel.1 in docker1
";
    s + tail
}

/// Shell lines that print a host's flannel.1 (`ip -d -j link`, one line), its address, and its
/// FDB entries, neighbours and routes, under `--- NAME`.
fn show_vxlan(name: &str, host: &str) -> String {
    format!(
        "echo '--- {name}'; ip -n {host} -d -j link show flannel.1; echo; ip -n {host} -4 -o addr show dev flannel.1 | awk '{{print $4}}'
bridge -n {host} fdb show dev flannel.1 | grep dst | sort; ip -n {host} neigh show dev flannel.1 | sort
ip -n {host} route show dev flannel.1 | sort\n"
    )
}

/// flannel.1 as `show_vxlan` printed it, without what a rebuilt link cannot keep (its index):
/// the MAC, MTU, flags and VXLAN settings, then the other lines as they are.
fn vxlan_state(section: &str) -> String {
    let mut lines = section.lines();
    let link: serde_json::Value =
        serde_json::from_str(lines.next().unwrap_or_default()).expect("ip -j link");
    let l = &link[0];
    let data = &l["linkinfo"]["info_data"];
    let kept = serde_json::json!({
        "address": l["address"],
        "mtu": l["mtu"],
        "up": l["flags"].as_array().is_some_and(|f| f.iter().any(|x| x == "UP")),
        "kind": l["linkinfo"]["info_kind"],
        "id": data["id"],
        "port": data["port"],
        "local": data["local"],
        "learning": data["learning"],
    });
    let rest: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    format!("{kept}\n{}", rest.join("\n"))
}

fn ifindex(section: &str) -> i64 {
    let link: serde_json::Value =
        serde_json::from_str(section.lines().next().unwrap_or_default()).expect("ip -j link");
    link[0]["ifindex"].as_i64().expect("an ifindex")
}

/// The steps' output by section, and all of it (for failure messages); the run `first` succeeded.
fn read(out: &util::Out, first: &str) -> (std::collections::BTreeMap<String, String>, String) {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let s = sections(&out.stdout);
    section(&s, first, &all);
    (s, all)
}

fn section<'a>(s: &'a std::collections::BTreeMap<String, String>, key: &str, all: &str) -> &'a str {
    s.get(key)
        .unwrap_or_else(|| panic!("no section {key:?}:\n{all}"))
        .as_str()
}

#[test]
fn a_second_run_of_a_vxlan_lab_keeps_flannel_1_and_changes_nothing() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("lab.netsh");
    std::fs::write(&script, vxlan_lab(&["docker1", "docker2"], "")).expect("write");
    let p = script.display();
    let out = private(&format!(
        "run first $NETSH {p}
echo '--- journal1'; cat /run/netsh/journal/*
echo '--- files1'; stat -c '%n %i' /run/flannel/*/*
{}{}run second $NETSH {p}
echo '--- journal2'; cat /run/netsh/journal/*
echo '--- files2'; stat -c '%n %i' /run/flannel/*/*
{}{}",
        show_vxlan("d1-before", "docker1"),
        show_vxlan("d2-before", "docker2"),
        show_vxlan("d1-after", "docker1"),
        show_vxlan("d2-after", "docker2"),
    ));
    let (s, all) = read(&out, "first 0");
    let second = section(&s, "second 0", &all);
    assert!(second.contains("netsh: 0 changes"), "{second}");
    assert_eq!(
        section(&s, "journal1", &all),
        section(&s, "journal2", &all),
        "the journal as it was"
    );
    // subnet.env and the docker options file held what a re-run writes: left alone (the same
    // inodes, not files renamed over them)
    let files = section(&s, "files1", &all);
    assert!(files.contains("docker1/subnet.env"), "{files}");
    assert!(files.contains("docker1/docker_opts.env"), "{files}");
    assert_eq!(files, section(&s, "files2", &all));
    for h in ["d1", "d2"] {
        let before = section(&s, &format!("{h}-before"), &all);
        let after = section(&s, &format!("{h}-after"), &all);
        assert!(before.contains("dst 10.10.10.10"), "{before}");
        // the same link, not one made again with the same settings
        assert_eq!(ifindex(before), ifindex(after), "{h}: flannel.1 kept");
        assert_eq!(vxlan_state(before), vxlan_state(after), "{h}");
    }
}

#[test]
fn a_flannel_1_with_other_settings_is_replaced_and_a_rollback_brings_it_back() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = dir.path().join("lab.netsh");
    let fail = dir.path().join("fail.netsh");
    std::fs::write(&lab, vxlan_lab(&["docker1", "docker2"], "")).expect("write");
    // docker1's overlay again, then a failing check: the run rolls back
    std::fs::write(
        &fail,
        vxlan_lab(
            &["docker1"],
            "expect reach 10.255.0.1 from docker1 timeout 0.2\n",
        ),
    )
    .expect("write");
    let out = private(&format!(
        "run lab $NETSH {lab}
ip -n docker1 link set flannel.1 mtu 1400
echo '--- leases-before'; $NETSH -c 'show leases json'
{}run fail $NETSH {fail}
echo '--- leases-after'; $NETSH -c 'show leases json'
{}",
        show_vxlan("before", "docker1"),
        show_vxlan("after", "docker1"),
        lab = lab.display(),
        fail = fail.display(),
    ));
    let (s, all) = read(&out, "lab 0");
    let report = section(&s, "fail 1", &all);
    assert!(
        report.contains("docker1: replaced flannel.1, which had other settings"),
        "{report}"
    );
    assert!(
        report.contains("undone: ip -n docker1 link del flannel.1"),
        "{report}"
    );
    let before = section(&s, "before", &all);
    assert!(before.contains("\"mtu\":1400"), "{before}");
    assert_eq!(
        vxlan_state(before),
        vxlan_state(section(&s, "after", &all)),
        "flannel.1 back as it was: its MTU, MAC, address and entries"
    );
    assert_eq!(
        section(&s, "leases-before", &all),
        section(&s, "leases-after", &all),
        "the leases as they were (docker1's VtepMAC put back)"
    );
}

#[test]
fn a_lease_found_in_place_stays_when_the_run_rolls_back() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = dir.path().join("lab.netsh");
    let fail = dir.path().join("fail.netsh");
    let common = "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}'
lease in docker1
overlay in docker1
lease in docker2
overlay in docker2
let l2 = exec \"sh -c '. /run/flannel/docker2/subnet.env; printf %s ${FLANNEL_SUBNET%.1/24}'\"
expect route $l2.0/24 via 10.10.10.102 dev eth0 in docker1
";
    std::fs::write(&lab, common).expect("write");
    std::fs::write(
        &fail,
        format!("{common}expect reach 10.255.0.1 from docker1 timeout 0.2\n"),
    )
    .expect("write");
    let out = private(&format!(
        "run lab $NETSH {lab}
echo '--- before'; $NETSH -c 'show leases json'; cat /run/flannel/*/subnet.env; ip -n docker1 route
run fail $NETSH {fail}
echo '--- after'; $NETSH -c 'show leases json'; cat /run/flannel/*/subnet.env; ip -n docker1 route",
        lab = lab.display(),
        fail = fail.display(),
    ));
    let (s, all) = read(&out, "lab 0");
    let report = section(&s, "fail 1", &all);
    // nothing changed, so nothing is rolled back: the leases existed before the run
    assert!(!report.contains("released the lease"), "{report}");
    assert!(!report.contains("rolled back"), "{report}");
    let before = section(&s, "before", &all);
    assert!(
        before.contains("\"public_ip\":\"10.10.10.102\""),
        "{before}"
    );
    assert!(before.contains("via 10.10.10.102 dev eth0"), "{before}");
    assert_eq!(before, section(&s, "after", &all));
}

/// Three hosts on one segment with a host-gw overlay each, docker3's lease taken last.
fn host_gw_lab(dir: &std::path::Path) -> std::path::PathBuf {
    let lab = dir.join("lab.netsh");
    let mut s = String::from(
        "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker3 on lan1 addr 10.10.10.103/24 gw 10.10.10.1
store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}'
",
    );
    for h in ["docker1", "docker2", "docker3"] {
        s += &format!("lease in {h}\noverlay in {h}\n");
    }
    std::fs::write(&lab, s).expect("write");
    lab
}

/// The routes of `host` via the other hosts, sorted (`ip route` lists them in order).
fn routes_via_peers(section: &str) -> Vec<&str> {
    section
        .lines()
        .filter(|l| l.starts_with("10.100.") && l.contains(" via 10.10.10.10"))
        .collect()
}

/// The embedded store's watch polls, so docker1's overlay learns of docker3's lease, taken in the
/// last statement, only after the run's last poll: the end of the run applies it.
#[test]
fn every_overlay_is_in_line_with_the_store_when_the_run_ends() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = host_gw_lab(dir.path());
    let out = private(&format!(
        "run lab $NETSH {lab}
for h in docker1 docker2 docker3; do echo \"--- $h\"; ip -n $h route; done",
        lab = lab.display(),
    ));
    let (s, all) = read(&out, "lab 0");
    for h in ["docker1", "docker2", "docker3"] {
        let routes = routes_via_peers(section(&s, h, &all));
        assert_eq!(
            routes.len(),
            2,
            "{h} reaches both other hosts' leases:\n{all}"
        );
    }
}

/// An overlay whose start changed something (a route taken away by hand, put back) is stopped
/// by the rollback; the routes it found in place stay, and the one it put back goes again.
#[test]
fn a_rolled_back_overlay_leaves_the_routes_it_found_in_place() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = host_gw_lab(dir.path());
    let fail = dir.path().join("fail.netsh");
    std::fs::write(
        &fail,
        "store embedded
lease in docker1
overlay in docker1
expect reach 10.255.0.1 from docker1 timeout 0.2
",
    )
    .expect("write");
    let out = private(&format!(
        "run lab $NETSH {lab}
l3=$(sh -c '. /run/flannel/docker3/subnet.env; printf %s ${{FLANNEL_SUBNET%.1/24}}')
ip -n docker1 route del $l3.0/24
echo '--- before'; ip -n docker1 route
run fail $NETSH {fail}
echo '--- after'; ip -n docker1 route",
        lab = lab.display(),
        fail = fail.display(),
    ));
    let (s, all) = read(&out, "lab 0");
    let report = section(&s, "fail 1", &all);
    assert!(
        report.contains("stopped the overlay of docker1"),
        "{report}"
    );
    let before = section(&s, "before", &all);
    assert_eq!(routes_via_peers(before).len(), 1, "{before}");
    assert_eq!(
        routes_via_peers(before),
        routes_via_peers(section(&s, "after", &all)),
        "docker1's routes as before the run:\n{all}"
    );
}
