//! Addresses, routes, neighbours, sysctls, exec and show, checked with `ip -j` in the same sandbox.

mod util;
use util::*;

#[test]
fn v4_and_v6_addresses_are_added_and_deleted() {
    requires!(Root);
    let r = sandbox(
        "netns add a
         veth eth0 peer p0 in a
         addr add 10.10.10.101/24 dev eth0 in a
         addr add 2003:ab11::1/64 dev eth0 nodad in a
         addr add 10.10.10.102/24 dev eth0 in a
         exec \"ip -j addr show dev eth0\" in a
         addr del 10.10.10.102/24 dev eth0 in a
         exec \"ip -j addr show dev eth0\" in a
         show addrs in a json",
    )
    .ok();
    let j = r.json();
    let first = addresses(&j[0]);
    for want in ["10.10.10.101/24", "10.10.10.102/24", "2003:ab11::1/64"] {
        assert!(
            first.contains(&want.to_string()),
            "{want} missing from {first:?}"
        );
    }
    // nodad: the address is usable at once, never tentative
    let v6 = j[0][0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["local"] == "2003:ab11::1")
        .unwrap();
    assert!(v6.get("tentative").is_none());
    assert!(!addresses(&j[1]).contains(&"10.10.10.102/24".to_string()));
    // netsh's own show agrees, nested as ip -j nests addresses (one object per link, `addr_info`)
    let mine = addresses(&j[2]);
    assert!(mine.contains(&"10.10.10.101/24".to_string()), "{}", j[2]);
    assert!(!mine.contains(&"10.10.10.102/24".to_string()), "{}", j[2]);
    assert!(find(&j[2], "ifname", "eth0").is_some(), "{}", j[2]);
}

#[test]
fn routes_v4_and_v6_with_via_dev_onlink_metric_table_and_default() {
    requires!(Root);
    let r = sandbox(
        "veth eth0 peer p0
         link set eth0 up; link set p0 up
         addr add 10.1.0.1/24 dev eth0
         addr add 2003:ab11::1/64 dev eth0 nodad
         route add 10.100.0.0/16 via 10.1.0.254 metric 7
         route add 10.101.0.0/16 via 10.99.99.99 dev eth0 onlink
         route add 10.102.0.0/16 dev eth0 table 100
         route add default via 2003:ab11::fe
         route add 2003:cd11::/64 dev eth0
         route replace 10.100.0.0/16 via 10.1.0.253 metric 7
         route add 10.103.0.0/16 via 10.1.0.254
         route del 10.103.0.0/16
         exec \"ip -j route show\"
         exec \"ip -j route show table 100\"
         exec \"ip -j -6 route show\"",
    )
    .ok();
    let j = r.json();
    let r100 = find(&j[0], "dst", "10.100.0.0/16").expect("10.100/16");
    assert_eq!(r100["gateway"], "10.1.0.253");
    assert_eq!(r100["metric"], 7);
    let onlink = find(&j[0], "dst", "10.101.0.0/16").expect("onlink route");
    assert!(
        onlink["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "onlink")
    );
    assert!(find(&j[0], "dst", "10.103.0.0/16").is_none(), "deleted");
    assert_eq!(
        find(&j[1], "dst", "10.102.0.0/16").expect("table 100")["dev"],
        "eth0"
    );
    assert_eq!(
        find(&j[2], "dst", "default").expect("v6 default")["gateway"],
        "2003:ab11::fe"
    );
    assert!(find(&j[2], "dst", "2003:cd11::/64").is_some());
}

#[test]
fn a_gateway_off_every_network_gets_the_kernels_words() {
    requires!(Root);
    sandbox("veth eth0 peer p0\nlink set eth0 up\nroute add 10.7.0.0/16 via 10.99.0.1")
        .fails_with("Nexthop has invalid gateway");
}

#[test]
fn neighbours_router_flag_and_proxy_ndp_entries() {
    requires!(Root);
    let r = sandbox(
        "veth eth0 peer p0
         neigh add 10.0.0.9 lladdr 02:42:0a:00:00:09 dev eth0
         neigh add 2003:ab11::9 lladdr 02:42:0a:00:00:0a dev eth0 router
         proxy-ndp 2003:ab11::2 on eth0
         neigh add 10.0.0.10 lladdr 02:42:0a:00:00:10 dev eth0
         neigh del 10.0.0.10 dev eth0
         exec \"ip -j neigh show dev eth0\"
         exec \"ip -j -6 neigh show proxy\"
         sysctl net.ipv6.conf.eth0.proxy_ndp",
    )
    .ok();
    let j = r.json();
    let n = find(&j[0], "dst", "10.0.0.9").expect("v4 neighbour");
    assert_eq!(n["lladdr"], "02:42:0a:00:00:09");
    assert!(
        n["state"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "PERMANENT")
    );
    let v6 = find(&j[0], "dst", "2003:ab11::9").expect("v6 neighbour");
    assert_eq!(
        v6["router"],
        serde_json::Value::Null,
        "ip -j prints the flag as a key: {v6}"
    );
    assert!(find(&j[0], "dst", "10.0.0.10").is_none());
    assert!(
        find(&j[1], "dst", "2003:ab11::2").is_some(),
        "NTF_PROXY entry: {}",
        j[1]
    );
    assert!(r.stdout.contains("net.ipv6.conf.eth0.proxy_ndp = 1"));
}

#[test]
fn sysctls_are_per_namespace() {
    requires!(Root);
    let r = sandbox(
        "netns add a; netns add b
         forwarding on in a
         sysctl net.ipv4.conf.all.rp_filter = 2 in b
         let fa = exec \"cat /proc/sys/net/ipv4/ip_forward\" in a
         let fb = exec \"cat /proc/sys/net/ipv4/ip_forward\" in b
         let rb = exec \"cat /proc/sys/net/ipv4/conf/all/rp_filter\" in b
         echo \"a=$fa b=$fb rp=$rb\"
         sysctl net.ipv6.conf.all.forwarding in a",
    )
    .ok();
    assert!(
        r.stdout.contains("a=1\n b=0\n rp=2") || r.stdout.contains("a=1 b=0 rp=2"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("net.ipv6.conf.all.forwarding = 1"));
}

#[test]
fn exec_in_a_namespace_sees_its_links_in_sys_class_net() {
    requires!(Root);
    let r = sandbox(
        "netns add a
         veth outside0 peer inside0 peer-in a
         let seen = exec \"ls /sys/class/net\" in a
         expect $seen contains \"inside0\"
         let here = exec \"ls /sys/class/net\"
         expect $here contains \"outside0\"
         exec \"sh -c 'exit 3'\" in a",
    );
    r.fails_with("exited with status 3");
}

#[test]
fn show_prints_text_and_json() {
    requires!(Root);
    let r = sandbox(
        "netns add a
         veth eth0 peer p0 in a
         link set eth0 up in a
         addr add 10.0.0.1/24 dev eth0 in a
         show links in a json
         show routes in a json
         show links in a
         show netns",
    )
    .ok();
    let j = r.json();
    let eth0 = find(&j[0], "ifname", "eth0").expect("eth0 in show links json");
    assert_eq!(eth0["link_kind"], "veth");
    assert!(find(&j[1], "dst", "10.0.0.0/24").is_some());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("eth0") && l.contains("type veth"))
    );
    assert!(r.stdout.lines().any(|l| l == "a"));
}

#[test]
fn adding_what_exists_converges_unless_strict() {
    requires!(Root);
    let body = "netns add a
         veth eth0 peer p0 in a
         link set eth0 up in a
         addr add 10.0.0.1/24 dev eth0 in a
         route add 10.9.0.0/16 via 10.0.0.254 in a
         neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev eth0 in a";
    let r = sandbox(&format!(
        "for round in 1..2 {{\n{body}\n}}\nexec \"ip -j addr show dev eth0\" in a"
    ))
    .ok();
    assert_eq!(
        addresses(&r.json()[0])
            .iter()
            .filter(|a| a.starts_with("10.0.0.1/"))
            .count(),
        1
    );
    netsh(&[
        "--sandbox",
        "--strict",
        "-c",
        "netns add a\nveth v0 peer v1\nveth v0 peer v2",
    ])
    .fails_with("File exists");
}

#[test]
fn a_proxy_entry_is_deleted_and_a_failure_brings_it_back() {
    requires!(Root);
    // deleted, then the script goes on: the entry is gone
    let r = sandbox(
        "veth eth0 peer p0
         proxy-ndp 2003:ab11::2 on eth0
         proxy-ndp 2003:ab11::3 on eth0
         neigh del 2003:ab11::2 dev eth0 proxy
         exec \"ip -j -6 neigh show proxy\"",
    )
    .ok();
    let j = r.json();
    assert!(find(&j[0], "dst", "2003:ab11::2").is_none(), "{j:?}");
    assert!(find(&j[0], "dst", "2003:ab11::3").is_some(), "{j:?}");
    // a proxy entry is an IPv6 address
    sandbox("veth eth0 peer p0\nneigh del 10.0.0.2 dev eth0 proxy")
        .fails_with("a proxy entry is an IPv6 address");
    // a failure after the deletion brings the entry back (outside a sandbox, in a private
    // network namespace, so the state can be read after netsh exits)
    let out = util::private_world::private(
        "$NETSH -c 'veth eth0 peer p0
proxy-ndp 2003:ab11::2 on eth0' >/dev/null 2>&1
run fails $NETSH -c 'neigh del 2003:ab11::2 dev eth0 proxy
link del no-such-link'
run after ip -6 neigh show proxy",
    );
    let s = util::private_world::sections(&out.stdout);
    assert!(s.contains_key("fails 1"), "{}\n{}", out.stdout, out.stderr);
    let after = s.get("after 0").expect("the proxy entries after");
    assert!(after.contains("2003:ab11::2 dev eth0"), "{}", out.stdout);
}

/// The prefix responder turns the link's proxy_ndp on; a failure later in the run turns it back
/// off, and so does `netsh down` after a run that kept it (the step is in the journal).
#[test]
fn the_prefix_responders_proxy_ndp_is_put_back_by_rollback_and_down() {
    requires!(Root);
    let out = util::private_world::private(
        "ip link add eth0 type veth peer name p0
ip link set eth0 up
run fails $NETSH -c 'proxy-ndp 2003:ab11::/66 on eth0
link del no-such-link'
run rolled-back cat /proc/sys/net/ipv6/conf/eth0/proxy_ndp
cat > /tmp/responder.netsh <<'X'
proxy-ndp 2003:ab11::/66 on eth0
X
run kept $NETSH /tmp/responder.netsh
run on cat /proc/sys/net/ipv6/conf/eth0/proxy_ndp
run down $NETSH down /tmp/responder.netsh
run off cat /proc/sys/net/ipv6/conf/eth0/proxy_ndp",
    );
    let s = util::private_world::sections(&out.stdout);
    let text = format!("{}\n{}", out.stdout, out.stderr);
    assert!(s.contains_key("fails 1"), "{text}");
    assert_eq!(
        s.get("rolled-back 0").map(|v| v.trim()),
        Some("0"),
        "{text}"
    );
    assert!(s.contains_key("kept 0"), "{text}");
    assert_eq!(s.get("on 0").map(|v| v.trim()), Some("1"), "{text}");
    assert!(s.contains_key("down 0"), "{text}");
    assert_eq!(s.get("off 0").map(|v| v.trim()), Some("0"), "{text}");
}
