//! Links made by netsh, checked with `ip -j` run inside the same sandbox.

mod util;
use util::*;

#[test]
fn a_veth_peer_is_created_directly_in_its_namespace() {
    requires!(Root);
    let r = sandbox(
        "netns add a; netns add b
         veth v1 peer v2 in a peer-in b
         exec \"ip -j -d link show v1\" in a
         exec \"ip -j -d link show v2\" in b
         exec \"ip -j link show\"",
    )
    .ok();
    let j = r.json();
    assert_eq!(j[0][0]["ifname"], "v1");
    assert_eq!(j[0][0]["linkinfo"]["info_kind"], "veth");
    assert_eq!(j[1][0]["ifname"], "v2");
    // nothing of the pair is left in the namespace netsh runs in
    assert!(find(&j[2], "ifname", "v1").is_none() && find(&j[2], "ifname", "v2").is_none());
}

#[test]
fn a_bridge_takes_a_port_and_link_set_changes_what_it_says() {
    requires!(Root);
    let r = sandbox(
        "bridge br0
         veth x peer y
         link set x master br0 up mtu 1400 address 02:00:00:00:00:aa
         link set y name wire
         link set br0 up
         exec \"ip -j link show x\"
         exec \"ip -j link show wire\"
         link set x nomaster
         exec \"ip -j link show x\"
         link del wire
         exec \"ip -j link show\"",
    )
    .ok();
    let j = r.json();
    assert_eq!(j[0][0]["master"], "br0");
    assert_eq!(j[0][0]["mtu"], 1400);
    assert_eq!(j[0][0]["address"], "02:00:00:00:00:aa");
    assert!(
        j[0][0]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "UP")
    );
    assert_eq!(j[1][0]["ifname"], "wire");
    assert!(j[2][0].get("master").is_none());
    // deleting one end of a veth pair deletes both
    assert!(find(&j[3], "ifname", "x").is_none());
}

#[test]
fn tun_and_vxlan_devices_are_made_with_their_settings() {
    requires!(Root);
    let r = sandbox(
        "tun tun0
         veth under peer other
         addr add 192.168.7.1/24 dev under
         vxlan vx0 vni 42 dev under local 192.168.7.1 port 4789 nolearning
         fdb add 02:42:0a:00:00:02 dev vx0 dst 192.168.7.2
         fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.7.3
         exec \"ip -j -d link show tun0\"
         exec \"ip -j -d link show vx0\"
         exec \"bridge -j fdb show dev vx0\"",
    )
    .ok();
    let j = r.json();
    assert_eq!(j[0][0]["linkinfo"]["info_kind"], "tun");
    let vx = &j[1][0]["linkinfo"];
    assert_eq!(vx["info_kind"], "vxlan");
    assert_eq!(vx["info_data"]["id"], 42);
    assert_eq!(vx["info_data"]["port"], 4789);
    assert_eq!(vx["info_data"]["local"], "192.168.7.1");
    assert_eq!(vx["info_data"]["learning"], false);
    let fdb = j[2].as_array().unwrap();
    assert!(
        fdb.iter()
            .any(|e| e["mac"] == "02:42:0a:00:00:02" && e["dst"] == "192.168.7.2")
    );
    assert!(
        fdb.iter()
            .any(|e| e["mac"] == "00:00:00:00:00:00" && e["dst"] == "192.168.7.3")
    );
}

/// Whether this kernel can make a link of a kind, asked of iproute2 in a throwaway network namespace
/// (`unshare -n`), independently of netsh: `Ok(())` when `ip link add` worked, `Err(stderr)` when
/// the kernel answered "Unknown device type" (the kind is compiled out and no module loads).
fn kernel_has(ip_commands: &str) -> Result<(), String> {
    let out = std::process::Command::new("unshare")
        .args(["-n", "sh", "-ec", ip_commands])
        .output()
        .expect("unshare(1) runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        return Ok(());
    }
    assert!(
        stderr.contains("Unknown device type"),
        "iproute2 failed for another reason than a missing kind, so it cannot tell: {stderr}"
    );
    Err(stderr)
}

/// The statement must do what iproute2 does on this kernel: where `ip link add` makes the kind,
/// netsh makes it too (and `ip -j -d` shows it); where the kernel lacks it (this machine: no
/// CONFIG_IPVLAN, CONFIG_VLAN_8021Q, CONFIG_DUMMY), netsh fails on the statement's line with a
/// diagnostic naming the option and keeping the kernel's words. The VM test (scripts/vm-test)
/// covers the kinds working on a kernel that has them.
fn missing_kind(script: &str, ip_commands: &str, link: &str, kind: &str, option: &str) {
    let r = sandbox(&format!("{script}\nexec \"ip -j -d link show dev {link}\""));
    match kernel_has(ip_commands) {
        Ok(()) => {
            let r = r.ok();
            assert_eq!(
                r.json()[0][0]["linkinfo"]["info_kind"],
                kind,
                "{}",
                r.stdout
            );
        }
        Err(ip_said) => {
            let r = r.fails_with(&format!("this kernel has no {kind} support ({option})"));
            assert!(
                r.stderr.contains("netsh::run::not_supported"),
                "{}",
                r.stderr
            );
            assert!(
                r.stderr.contains("Unknown device type"),
                "the kernel's own words are kept (ip said: {ip_said}): {}",
                r.stderr
            );
            let line = script.lines().count();
            assert!(
                r.stderr.contains(&format!(":{line}:1")),
                "placed on the statement's line {line}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn missing_ipvlan_vlan_and_dummy_support_is_named() {
    requires!(Root);
    missing_kind(
        "veth eth0 peer p\nipvlan l2 on eth0 name ipvl0",
        "ip link add eth0 type veth peer name p; ip link add link eth0 name ipvl0 type ipvlan mode l2",
        "ipvl0",
        "ipvlan",
        "CONFIG_IPVLAN",
    );
    missing_kind(
        "veth eth1 peer p\nvlan 19 on eth1",
        "ip link add eth1 type veth peer name p; ip link add link eth1 name eth1.19 type vlan id 19",
        "eth1.19",
        "vlan",
        "CONFIG_VLAN_8021Q",
    );
    missing_kind(
        "dummy d0",
        "ip link add d0 type dummy",
        "d0",
        "dummy",
        "CONFIG_DUMMY",
    );
}

#[test]
fn a_missing_device_is_reported_in_ips_words_on_its_line() {
    requires!(Root);
    let r = sandbox("echo start\nlink set nosuch up").fails_with("Cannot find device \"nosuch\"");
    assert!(
        r.stderr.contains(":2:"),
        "the error is placed on line 2: {}",
        r.stderr
    );
}

#[test]
fn macvlan_modes_are_set_and_moved_into_their_namespace() {
    requires!(Root);
    let r = sandbox(
        "veth eth0 peer wire
         netns add ns1
         macvlan private on eth0 name mv1 in ns1
         veth eth9 peer wire9
         macvlan passthru on eth9 name mv2
         exec \"ip -j -d link show mv1\" in ns1
         exec \"ip -j -d link show mv2\"",
    )
    .ok();
    let j = r.json();
    assert_eq!(j[0][0]["linkinfo"]["info_data"]["mode"], "private");
    assert_eq!(j[1][0]["linkinfo"]["info_data"]["mode"], "passthru");
}

#[test]
fn namespaces_outside_a_sandbox_are_made_without_fork_and_removed() {
    requires!(Root);
    // a real run (not --sandbox), in a private world so the machine's /run/netns is not touched
    let out = util::private_world::private(
        r#"run made "$NETSH" -c 'netns add lab
veth a0 peer a1 in lab
exec "ip -j link show a0" in lab
netns list'
echo "--- ip sees"; ip netns list
run removed "$NETSH" -c 'netns del lab'
echo "--- left"; ls /run/netns"#,
    );
    let section = |name: &str| {
        let start = out.stdout.find(&format!("--- {name}")).expect(name);
        let rest = &out.stdout[start..];
        let body = &rest[rest.find('\n').map_or(rest.len(), |i| i + 1)..];
        body[..body.find("\n---").unwrap_or(body.len())].to_string()
    };
    assert!(
        out.stdout.contains("--- made 0"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let made = section("made");
    let link: serde_json::Value =
        serde_json::from_str(made.lines().next().unwrap_or("")).expect(&made);
    assert_eq!(link[0]["ifname"], "a0");
    assert!(
        made.lines().any(|l| l == "lab"),
        "netns list names it: {made}"
    );
    assert!(
        section("ip sees").lines().any(|l| l.starts_with("lab")),
        "ip(8) sees the namespace: {}",
        out.stdout
    );
    assert!(out.stdout.contains("--- removed 0"), "{}", out.stdout);
    assert_eq!(section("left").trim(), "", "/run/netns is empty again");
}
