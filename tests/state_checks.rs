//! The checks over kernel state (`expect link`, `expect route`, `expect no-route`, `expect neigh`)
//! against labs built in a sandbox, and `expect file`: they pass on what is there and fail, exit 1, with what was expected against
//! what the kernel has; their literals are checked before anything runs; a dry run prints a shell
//! check for each.

mod util;
use util::*;

const LAB: &str = "netns add h1
bridge br0 in h1
vxlan flannel.1 vni 1 port 8472 in h1
link set flannel.1 mtu 1450 master br0 address 02:42:0a:00:00:01 in h1
veth d0 peer d0p in h1
link set d0p up in h1
link set d0 up in h1
addr add 10.0.0.1/24 dev d0 in h1
addr add 2003:ab11::1/64 dev d0 nodad in h1
route add 10.100.0.0/16 via 10.0.0.2 in h1
";

#[test]
fn expect_link_passes_when_every_property_matches() {
    requires!(Root);
    let r = netsh(&[
        "--sandbox",
        "--json",
        "-c",
        &format!(
            "{LAB}expect link flannel.1 in h1 kind vxlan id 1 port 8472 mtu 1450 master br0 down address 02:42:0a:00:00:01
             expect link d0 in h1 kind veth up
             expect link br0 in h1 kind bridge"
        ),
    ])
    .ok();
    let checks: Vec<_> = r
        .json()
        .into_iter()
        .filter(|v| v["expect"].as_str().is_some_and(|e| e.starts_with("link")))
        .collect();
    assert_eq!(checks.len(), 3, "{}", r.stdout);
    assert!(checks.iter().all(|c| c["ok"] == true), "{}", r.stdout);
}

#[test]
fn expect_link_shows_expected_against_actual_for_each_mismatch() {
    requires!(Root);
    sandbox(&format!(
        "{LAB}expect link flannel.1 in h1 kind vxlan id 2 mtu 1472 up timeout 0.2"
    ))
    .fails_with(
        "expected flannel.1 in h1 to have id 2, mtu 1472, up, but it has id 1, mtu 1450, down",
    );
}

#[test]
fn expect_link_names_a_missing_link() {
    requires!(Root);
    let r = sandbox(&format!(
        "{LAB}expect link flannel.9 in h1 mtu 1450 timeout 0.2"
    ))
    .fails_with("expected a link flannel.9 in h1, but there is no link flannel.9 in h1");
    assert!(r.stderr.contains("netsh::expect::failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains(":11:"),
        "on the expect's line: {}",
        r.stderr
    );
}

#[test]
fn expect_route_passes_on_routes_of_either_family() {
    requires!(Root);
    sandbox(&format!(
        "{LAB}expect route 10.100.0.0/16 via 10.0.0.2 in h1
         expect route 10.100.0.0/16 dev d0 in h1
         expect route 10.0.0.0/24 dev d0 in h1
         expect route 2003:ab11::/64 dev d0 in h1
         expect no-route 10.200.0.0/16 in h1
         expect no-route default in h1"
    ))
    .ok();
}

#[test]
fn expect_route_fails_with_what_the_table_holds() {
    requires!(Root);
    sandbox(&format!(
        "{LAB}expect route 10.100.0.0/16 via 10.0.0.3 in h1 timeout 0.2"
    ))
    .fails_with("expected a route to 10.100.0.0/16 via 10.0.0.3 in h1, but the table has `10.100.0.0/16 via 10.0.0.2 dev d0`");
    sandbox(&format!(
        "{LAB}expect route 10.200.0.0/16 in h1 timeout 0.2"
    ))
    .fails_with(
        "expected a route to 10.200.0.0/16 in h1, but the table has no route to 10.200.0.0/16",
    );
}

#[test]
fn expect_no_route_fails_when_the_route_is_there() {
    requires!(Root);
    sandbox(&format!("{LAB}expect no-route 10.100.0.0/16 in h1 timeout 0.2")).fails_with(
        "expected no route to 10.100.0.0/16 in h1, but the table has `10.100.0.0/16 via 10.0.0.2 dev d0`",
    );
}

#[test]
fn expect_route_waits_for_a_route_that_comes_later() {
    requires!(Root);
    // the route is added in the background, a moment after the check starts to look
    sandbox(&format!(
        "{LAB}exec sh -c \"(sleep 0.3; ip route add 10.200.0.0/16 via 10.0.0.2) &\" in h1
         expect route 10.200.0.0/16 via 10.0.0.2 in h1 timeout 10"
    ))
    .ok();
}

const NEIGHBOURS: &str = "neigh add 2003:ab11::9 lladdr 02:42:ac:11:00:09 dev d0 router in h1
neigh add 2003:ab11::8 lladdr 02:42:ac:11:00:08 dev d0 in h1
proxy-ndp 2003:ab11::7 on d0 in h1
";

#[test]
fn expect_neigh_passes_on_entries_as_the_kernel_has_them() {
    requires!(Root);
    sandbox(&format!(
        "{LAB}{NEIGHBOURS}expect neigh 2003:ab11::9 dev d0 lladdr 02:42:ac:11:00:09 router in h1
         expect neigh 2003:ab11::8 host in h1
         expect neigh 2003:ab11::7 dev d0 proxy in h1"
    ))
    .ok();
}

#[test]
fn expect_neigh_fails_with_what_the_table_holds() {
    requires!(Root);
    sandbox(&format!(
        "{LAB}{NEIGHBOURS}expect neigh 2003:ab11::8 router in h1 timeout 0.2"
    ))
    .fails_with(
        "expected a neighbour entry for 2003:ab11::8 flagged router in h1, but the neighbour table has `2003:ab11::8 dev d0 lladdr 02:42:ac:11:00:08`",
    );
    sandbox(&format!(
        "{LAB}{NEIGHBOURS}expect neigh 2003:ab11::9 lladdr 02:42:ac:11:00:01 in h1 timeout 0.2"
    ))
    .fails_with("with lladdr 02:42:ac:11:00:01 in h1, but the neighbour table has `2003:ab11::9 dev d0 lladdr 02:42:ac:11:00:09 router`");
    // a proxy entry is not a neighbour, and a neighbour is not a proxy entry
    sandbox(&format!(
        "{LAB}{NEIGHBOURS}expect neigh 2003:ab11::7 in h1 timeout 0.2"
    ))
    .fails_with("but the neighbour table has no entry for 2003:ab11::7");
    sandbox(&format!(
        "{LAB}{NEIGHBOURS}expect neigh 2003:ab11::9 proxy in h1 timeout 0.2"
    ))
    .fails_with("expected a proxy entry for 2003:ab11::9 in h1, but the proxy table has no entry");
}

#[test]
fn expect_file_checks_that_each_text_is_there() {
    requires!(Root);
    let env = "FLANNEL_NETWORK=10.100.0.0/16\nFLANNEL_SUBNET=10.100.15.1/24\nFLANNEL_MTU=1472\n";
    Netsh::new()
        .sandbox()
        .file("subnet.env", env)
        .script("expect file subnet.env contains \"FLANNEL_MTU=1472\" contains \"FLANNEL_SUBNET=10.100.15.1/24\"")
        .run()
        .ok();
    Netsh::new()
        .sandbox()
        .file("subnet.env", env)
        .script("expect file subnet.env contains \"FLANNEL_MTU=1472\" contains \"FLANNEL_IPMASQ=false\" timeout 0.2")
        .run()
        .fails_with("expected subnet.env to contain \"FLANNEL_IPMASQ=false\", but it does not; it holds: FLANNEL_NETWORK=10.100.0.0/16");
    Netsh::new()
        .sandbox()
        .script("expect file missing.env timeout 0.2")
        .run()
        .fails_with("expected a file missing.env, but there is no such file");
    Netsh::new()
        .sandbox()
        .script("expect file /run timeout 0.2")
        .run()
        .fails_with("expected a file /run, but it is not a regular file");
}

#[test]
fn bad_literals_are_located_before_anything_runs() {
    for (script, code) in [
        (
            "netns add a\nexpect link eth0 kind vxlam in a",
            "netsh::check::",
        ),
        (
            "netns add a\nexpect link eth0 address 02:42:zz:00:00:01 in a",
            "netsh::check::bad_mac",
        ),
        ("netns add a\nexpect link eth0 mtu 7 in a", "netsh::check::"),
        (
            "netns add a\nexpect route 10.0.0.0/99 in a",
            "netsh::check::",
        ),
        (
            "netns add a\nexpect no-route 10.0.0.0/16 via 10.0.0.1 in a",
            "netsh::check::",
        ),
        (
            "netns add a\nexpect neigh 2003:ab11::zz in a",
            "netsh::check::",
        ),
        (
            "netns add a\nexpect neigh 10.0.0.1 router gateway in a",
            "netsh::check::",
        ),
        (
            "netns add a\nexpect file /etc/hostname in a",
            "netsh::check::",
        ),
    ] {
        let r = netsh(&["--check", "--json", "-c", script]).code(2);
        assert!(r.stdout.contains(code), "{script:?}: {}", r.stdout);
        assert!(
            r.stdout.contains("\"line\":2")
                || r.stdout.contains(":2:")
                || r.stdout.contains("span"),
            "{script:?}: {}",
            r.stdout
        );
    }
}

#[test]
fn a_dry_run_prints_shell_checks() {
    Netsh::dry(
        "expect link flannel.1 in h1 kind vxlan id 1 mtu 1450 up
         expect route 10.100.0.0/16 via 10.0.0.2 dev eth0 in h1
         expect no-route 2003:ab11::/64 in h1
         expect neigh 2003:ab11::2 dev eth0 lladdr 02:42:ac:11:00:02 router in net1
         expect neigh 2003:ab11::7 proxy in docker2
         expect file /run/flannel/subnet.env contains \"FLANNEL_MTU=1472\" contains \"FLANNEL_IPMASQ=false\"",
    )
    .run()
    .ok()
    .stdout_is(
        "ip -n h1 -d -j link show flannel.1 | jq -e '.[0] | .linkinfo.info_kind == \"vxlan\" and .linkinfo.info_data.id == 1 and .mtu == 1450 and (.flags | index(\"UP\") != null)' >/dev/null || exit 1
[ -n \"$(ip -n h1 route show 10.100.0.0/16 via 10.0.0.2 dev eth0)\" ] || exit 1
[ -z \"$(ip -n h1 -6 route show 2003:ab11::/64)\" ] || exit 1
ip -n net1 -j neigh show to 2003:ab11::2 dev eth0 | jq -e 'length > 0 and .[0].lladdr == \"02:42:ac:11:00:02\" and (.[0] | has(\"router\"))' >/dev/null || exit 1
ip -n docker2 -j neigh show proxy to 2003:ab11::7 | jq -e 'length > 0' >/dev/null || exit 1
grep -qF -- FLANNEL_MTU=1472 /run/flannel/subnet.env || exit 1; grep -qF -- FLANNEL_IPMASQ=false /run/flannel/subnet.env || exit 1
",
    );
}
