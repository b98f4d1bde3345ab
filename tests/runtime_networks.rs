//! Docker-style networks under --sandbox: `network create/rm`, containers on them, IPAM, Docker's
//! errors, and the NDP prefix responder; kernel state read back with `ip -j` in the same sandbox.

mod util;
use util::*;

#[test]
fn a_bridge_network_attaches_containers_and_rm_removes_everything() {
    requires!(Root);
    let r = sandbox(
        "network create n1 driver bridge subnet 10.15.20.0/24 subnet 2003:ab11::/64 ipv6
         container c1 on n1
         container c2 on n1 ip 10.15.20.50
         exec \"ip -j addr show dev eth0\" in c1
         exec \"ip -j addr show dev eth0\" in c2
         exec \"ip -j route show\" in c1
         expect reach 10.15.20.50 from c1
         expect reach 2003:ab11::1 from c1
         show networks json
         network rm n1
         exec \"ip -j link show\"
         if exists netns c1 { echo c1-still-there }",
    )
    .ok();
    let j = r.json();
    let c1 = addresses(&j[0]);
    assert!(c1.contains(&"10.15.20.2/24".to_string()), "{c1:?}");
    // Docker's MAC (02:42 + IPv4) and the IPv6 address made from it
    assert!(
        c1.contains(&"2003:ab11::242:a0f:1402/64".to_string()),
        "{c1:?}"
    );
    assert_eq!(j[0][0]["address"], "02:42:0a:0f:14:02");
    assert!(addresses(&j[1]).contains(&"10.15.20.50/24".to_string()));
    let default = find(&j[2], "dst", "default").expect("a default route");
    assert_eq!(default["gateway"], "10.15.20.1");
    let net = &j[3][0];
    assert_eq!(net["name"], "n1");
    assert_eq!(net["subnets"][0]["gateway"], "10.15.20.1");
    assert_eq!(net["containers"].as_array().map(|c| c.len()), Some(2));
    let bridge = net["bridge"].as_str().unwrap().to_string();
    assert!(bridge.starts_with("br-"));
    assert!(
        find(&j[4], "ifname", &bridge).is_none(),
        "{bridge} survived network rm"
    );
    assert!(!r.stdout.contains("c1-still-there"));
}

#[test]
fn macvlan_children_take_the_range_and_a_second_network_on_the_parent_is_refused() {
    requires!(Root);
    let r = sandbox(
        "veth eth0 peer p0
         link set eth0 up; link set p0 up
         network create m1 driver macvlan parent eth0 subnet 10.10.10.0/24 ip-range 10.10.10.128/25 aux h=10.10.10.129
         container a on m1
         container b on m1
         exec \"ip -j -d link show dev eth0\" in b
         exec \"ip -j addr show dev eth0\" in b
         network create m2 driver macvlan parent eth0 subnet 10.20.0.0/24",
    )
    .fails_with("network m1 is already using parent interface eth0");
    let j = r.json();
    let link = &j[0][0];
    assert_eq!(link["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(link["linkinfo"]["info_data"]["mode"], "bridge");
    // .128 went to a, .129 is an aux reservation
    assert_eq!(link["address"], "02:42:0a:0a:0a:82");
    assert!(addresses(&j[1]).contains(&"10.10.10.130/24".to_string()));
}

#[test]
fn a_pinned_address_outside_the_range_and_an_exhausted_pool_are_errors() {
    requires!(Root);
    sandbox(
        "veth eth0 peer p0
         network create m1 driver macvlan parent eth0 subnet 10.10.10.0/24 ip-range 10.10.10.128/25
         container a on m1 ip 10.10.10.5",
    )
    .fails_with("10.10.10.5 is outside the network's ip-range 10.10.10.128/25");
    sandbox(
        "network create t driver bridge subnet 10.9.0.0/30
         container a on t
         container b on t",
    )
    .fails_with("no free address left in 10.9.0.0/30");
}

#[test]
fn a_missing_parent_and_a_dummy_parent_name_what_is_missing() {
    requires!(Root);
    sandbox("network create m driver macvlan parent eth7 subnet 10.1.0.0/24")
        .fails_with("-o parent interface was not found on the host: eth7");
    // no parent: Docker makes a dummy link, which this kernel may lack (CONFIG_DUMMY)
    let r = sandbox("network create m driver macvlan subnet 10.1.0.0/24 \n show networks json");
    if r.code != 0 {
        r.fails_with("CONFIG_DUMMY");
    } else {
        assert_eq!(
            r.json()[0][0]["parent"]
                .as_str()
                .map(|p| p.starts_with("dm-")),
            Some(true)
        );
    }
}

#[test]
fn the_prefix_responder_answers_solicitations_from_the_far_side() {
    requires!(Root);
    let r = sandbox(
        "netns add far; netns add near
         veth eth0 peer eth0 in far peer-in near
         link set eth0 up in far
         link set eth0 up in near
         addr add 2003:ab11::2/64 dev eth0 nodad in far
         addr add 2003:ab11::1/64 dev eth0 nodad in near
         proxy-ndp 2003:ab11:0:0:8000::/65 on eth0 in near
         expect no-reach 2003:ab11::8000:0:0:7 from far timeout 1
         expect no-reach 2003:ab11::7 from far timeout 1
         exec \"ip -j -6 neigh show dev eth0\" in far
         exec \"ip -j link show dev eth0\" in near
         sysctl net.ipv6.conf.eth0.proxy_ndp in near",
    )
    .ok();
    let j = r.json();
    let mac = j[1][0]["address"].as_str().unwrap().to_string();
    let answered = find(&j[0], "dst", "2003:ab11::8000:0:0:7").expect("a neighbour entry");
    assert_eq!(answered["lladdr"], mac.as_str(), "{answered}");
    // an address outside the prefix is not answered
    let outside = find(&j[0], "dst", "2003:ab11::7");
    assert!(
        outside.is_none_or(|o| o.get("lladdr").is_none()),
        "{outside:?}"
    );
    assert!(r.stdout.contains("net.ipv6.conf.eth0.proxy_ndp = 1"));
}

#[test]
fn a_real_host_owning_an_address_of_the_prefix_keeps_its_entry_at_the_router() {
    requires!(Root);
    // both the real host and the responder answer the router's solicitation for ::9; the proxy's
    // answer carries no Override flag, so it never replaces the real host's MAC
    let r = sandbox(
        "switch lan
         host router on lan addr 10.10.10.1/24
         host real on lan addr 10.10.10.2/24
         host proxy on lan addr 10.10.10.3/24
         addr add 2003:ab11::1/64 dev eth0 nodad in router
         addr add 2003:ab11::8000:0:0:9/64 dev eth0 nodad in real
         addr add 2003:ab11::3/64 dev eth0 nodad in proxy
         proxy-ndp 2003:ab11:0:0:8000::/65 on eth0 in proxy
         expect reach 2003:ab11::8000:0:0:9 from router
         exec \"ip -j -6 neigh show dev eth0\" in router
         exec \"ip -j link show dev eth0\" in real
         exec \"ip -j link show dev eth0\" in proxy",
    )
    .ok();
    let j = r.json();
    let real_mac = j[1][0]["address"].as_str().unwrap().to_string();
    let proxy_mac = j[2][0]["address"].as_str().unwrap().to_string();
    assert_ne!(real_mac, proxy_mac);
    let entry = find(&j[0], "dst", "2003:ab11::8000:0:0:9").expect("a neighbour entry");
    assert_eq!(entry["lladdr"], real_mac.as_str(), "{entry}");
}

#[test]
fn a_global_network_shares_its_pool_between_hosts() {
    requires!(Root);
    let r = sandbox(
        "switch lan
         host docker1 on lan addr 10.10.10.101/24
         host docker2 on lan addr 10.10.10.102/24
         network create g driver macvlan parent eth0 subnet 10.10.10.0/24 aux docker1=10.10.10.101 aux docker2=10.10.10.102 scope global in docker1
         network create g driver macvlan parent eth0 subnet 10.10.10.0/24 aux docker1=10.10.10.101 aux docker2=10.10.10.102 scope global in docker2
         container a on g in docker1
         container b on g in docker2
         container c on g in docker1
         expect reach 10.10.10.3 from a
         show networks in docker2 json",
    )
    .ok();
    let j = r.json();
    let held: Vec<&str> = j[0][0]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["addresses"][0].as_str())
        .collect();
    // docker2's only container got the next address of the shared pool, not docker1's .2 again
    assert_eq!(held, vec!["10.10.10.3"]);
}

#[test]
fn an_ndp_proxy_network_proxies_each_container_it_attaches() {
    requires!(Root);
    let r = sandbox(
        "switch lan
         host docker1 on lan addr 10.10.10.101/24 addr 2003:ab11::1/64
         host docker2 on lan addr 10.10.10.102/24 addr 2003:ab11::2/64
         network create v6net driver bridge subnet 10.15.20.0/24 subnet 2003:ab11:0:0:c000::/66 ipv6 ndp-proxy in docker1
         container web1 on v6net in docker1
         expect reach 2003:ab11::c000:242:a0f:1402 from docker2
         expect no-reach 2003:ab11::c000:0:0:99 from docker2 timeout 1
         exec \"ip -j -6 neigh show proxy\" in docker1",
    )
    .ok();
    let j = r.json();
    let proxied = find(&j[0], "dst", "2003:ab11::c000:242:a0f:1402").expect("a proxy entry");
    assert_eq!(proxied["dev"], "eth0");
    assert_eq!(j[0].as_array().map(|a| a.len()), Some(1), "{}", j[0]);
}

/// Whether `ip -j -6 neigh show` lists `dst` with a MAC: its solicitation was answered.
fn resolved(entries: &serde_json::Value, dst: &str) -> bool {
    find(entries, "dst", dst).is_some_and(|e| e.get("lladdr").is_some())
}

#[test]
fn a_responder_for_a_network_answers_only_the_addresses_it_handed_out() {
    requires!(Root);
    // docker2 shares docker1's /64 and takes every address of it for an on-link neighbour; the
    // responder on docker1's eth0 answers for the network's /66, but only what its IPAM handed out
    let r = sandbox(
        "switch lan
         host docker1 on lan addr 10.10.10.101/24 addr 2003:ab11::1/64
         host docker2 on lan addr 10.10.10.102/24 addr 2003:ab11::2/64
         network create v6net driver bridge subnet 10.15.20.0/24 subnet 2003:ab11:0:0:c000::/66 ipv6 in docker1
         container web1 on v6net in docker1
         proxy-ndp 2003:ab11:0:0:c000::/66 on eth0 for v6net in docker1
         container web2 on v6net in docker1
         expect reach 2003:ab11::c000:242:a0f:1402 from docker2
         expect reach 2003:ab11::c000:242:a0f:1403 from docker2
         expect no-reach 2003:ab11::c000:0:0:99 from docker2 timeout 1
         exec \"ip -j -6 neigh show dev eth0\" in docker2
         netns del web1
         exec \"ip -6 neigh flush dev eth0\" in docker2
         expect no-reach 2003:ab11::c000:242:a0f:1402 from docker2 timeout 1
         exec sh -c \"ping -c 3 -i 0.2 -W 1 2003:ab11::c000:242:a0f:1403; true\" in docker2
         exec \"ip -j -6 neigh show dev eth0\" in docker2
         network rm v6net in docker1
         exec \"ip -6 neigh flush dev eth0\" in docker2
         expect no-reach 2003:ab11::c000:242:a0f:1403 from docker2 timeout 1
         exec \"ip -j -6 neigh show dev eth0\" in docker2
         exec \"ip -j -6 neigh show proxy\" in docker1",
    )
    .ok();
    let j = r.json();
    let (web1, web2, free) = (
        "2003:ab11::c000:242:a0f:1402",
        "2003:ab11::c000:242:a0f:1403",
        "2003:ab11::c000:0:0:99",
    );
    // web1 attached before the responder started, web2 after: both answered; nobody holds ::99
    assert!(resolved(&j[0], web1) && resolved(&j[0], web2), "{}", j[0]);
    assert!(find(&j[0], "dst", free).is_some(), "{}", j[0]);
    assert!(
        !resolved(&j[0], free),
        "an address nobody holds was answered: {}",
        j[0]
    );
    // web1 deleted by hand: its address is no longer answered, web2's still is (read from the
    // neighbour entry, not a reply: the bridge may take another MAC as web1's port leaves it, and
    // web2's cached gateway entry is stale until it is probed again)
    assert!(!resolved(&j[1], web1), "{}", j[1]);
    assert!(resolved(&j[1], web2), "{}", j[1]);
    // the network removed with web2 in it: nothing is answered
    assert!(find(&j[2], "dst", web2).is_some(), "{}", j[2]);
    assert!(!resolved(&j[2], web2), "{}", j[2]);
    // the responder answered: the kernel had no proxy entries to do it
    assert_eq!(j[3].as_array().map(|a| a.len()), Some(0), "{}", j[3]);
}

/// docker1 with an `ndp-proxy` bridge network and two containers on it: web1 holds
/// 2003:ab11::c000:242:a0f:1402, web2 ...:1403, each with a proxy entry on docker1's eth0.
const TWO_ON_NDP_PROXY: &str = "switch lan
         host docker1 on lan addr 10.10.10.101/24 addr 2003:ab11::1/64
         network create v6net driver bridge subnet 10.15.20.0/24 subnet 2003:ab11:0:0:c000::/66 ipv6 ndp-proxy in docker1
         container web1 on v6net in docker1
         container web2 on v6net in docker1";

#[test]
fn network_rm_takes_the_proxy_entries_of_ndp_proxy_with_its_containers() {
    requires!(Root);
    // one entry taken away by hand first: `network rm` still succeeds and removes the other
    let r = sandbox(&format!(
        "{TWO_ON_NDP_PROXY}
         exec \"ip -j -6 neigh show proxy\" in docker1
         exec \"ip -6 neigh del proxy 2003:ab11::c000:242:a0f:1402 dev eth0\" in docker1
         network rm v6net in docker1
         exec \"ip -j -6 neigh show proxy\" in docker1"
    ))
    .ok();
    let j = r.json();
    let web2 = "2003:ab11::c000:242:a0f:1403";
    assert_eq!(j[0].as_array().map(|a| a.len()), Some(2), "{}", j[0]);
    assert!(find(&j[0], "dst", web2).is_some(), "{}", j[0]);
    // nobody holds the addresses any more: the host must not go on answering for them
    assert_eq!(j[1].as_array().map(|a| a.len()), Some(0), "{}", j[1]);
}

#[test]
fn a_container_of_ndp_proxy_deleted_by_hand_takes_its_proxy_entry_and_a_rollback_brings_it_back() {
    requires!(Root);
    let r = sandbox(&format!(
        "{TWO_ON_NDP_PROXY}
         expect error \"Cannot find device\" {{
           netns del web1
           link set nosuch0 up in docker1
         }}
         exec \"ip -j -6 neigh show proxy\" in docker1
         container web3 on v6net in docker1
         netns del web1
         exec \"ip -j -6 neigh show proxy\" in docker1
         show networks json in docker1"
    ))
    .ok();
    let j = r.json();
    let (web1, web2) = (
        "2003:ab11::c000:242:a0f:1402",
        "2003:ab11::c000:242:a0f:1403",
    );
    // the block was undone: web1 and its entry are back
    assert_eq!(j[0].as_array().map(|a| a.len()), Some(2), "{}", j[0]);
    assert!(find(&j[0], "dst", web1).is_some(), "{}", j[0]);
    // nobody holds web1's address any more: the host must not go on answering for it
    assert!(find(&j[1], "dst", web1).is_none(), "{}", j[1]);
    assert!(find(&j[1], "dst", web2).is_some(), "{}", j[1]);
    // web1 held its address again after the rollback, so web3 got the next one, not web1's
    let c = &j[2][0]["containers"];
    assert_eq!(c[0]["name"], "web2", "{c}");
    assert_eq!(c[1]["name"], "web3", "{c}");
    assert_eq!(c[1]["addresses"][0], "10.15.20.4", "{c}");
}

/// Docker gives its bridges a MAC of their own; without one the kernel gives a bridge the lowest
/// of its ports' and changes it as ports leave, and the containers' neighbour entry for the
/// gateway goes stale.
#[test]
fn a_bridge_network_keeps_its_mac_when_its_containers_leave() {
    requires!(Root);
    let r = sandbox(
        "network create n driver bridge subnet 10.15.20.0/24
         container a on n
         container b on n
         exec \"ip -j link show br-5807b49cbfb0\"
         netns del a
         exec \"ip -j link show br-5807b49cbfb0\"
         netns del b
         exec \"ip -j link show br-5807b49cbfb0\"",
    )
    .ok();
    let j = r.json();
    let mac = |k: usize| j[k][0]["address"].as_str().unwrap_or_default().to_string();
    assert!(mac(0).starts_with("02:43:"), "{}", j[0]);
    assert_eq!(mac(0), mac(1), "{}", j[1]);
    assert_eq!(mac(0), mac(2), "{}", j[2]);
}

#[test]
fn a_container_deleted_by_hand_frees_its_address_and_network_rm_still_works() {
    requires!(Root);
    let r = sandbox(
        "network create n driver bridge subnet 10.15.20.0/24
         container a on n
         netns del a
         container b on n
         show networks json
         network rm n
         show networks json",
    )
    .ok();
    let j = r.json();
    // b took the address a gave back
    assert_eq!(j[0][0]["containers"][0]["addresses"][0], "10.15.20.2");
    assert_eq!(j[1].as_array().map(|a| a.len()), Some(0));
}

#[test]
fn host_dependent_errors_point_at_the_argument_responsible() {
    requires!(Root);
    let cases = [
        (
            "network create m driver macvlan parent nosuch0 subnet 10.1.0.0/24",
            "-o parent interface was not found on the host: nosuch0",
            "nosuch0",
        ),
        (
            "veth eth0 peer p0
             network create m1 driver macvlan parent eth0 subnet 10.1.0.0/24
             network create m2 driver macvlan parent eth0 subnet 10.2.0.0/24",
            "network m1 is already using parent interface eth0",
            "eth0",
        ),
        (
            "network create n driver bridge subnet 10.1.0.0/24
             container a on n ip 10.1.0.7
             container b on n ip 10.1.0.7",
            "10.1.0.7 is already in use on this network",
            "10.1.0.7",
        ),
        (
            "network create n driver bridge subnet 10.1.0.0/24
             let other = 10.1.0.0/16
             network create o driver bridge subnet 10.3.0.0/24 subnet $other",
            "Pool overlaps with other one on this address space: 10.1.0.0/16 overlaps 10.1.0.0/24",
            "$other",
        ),
        (
            "veth eth0 peer p0
             proxy-ndp 2003:ab11::/64 on eth0 for nosuch",
            "network nosuch not found",
            "nosuch",
        ),
        (
            "veth eth0 peer p0
             network create n driver bridge subnet 10.1.0.0/24 subnet 2003:ab11:0:0:c000::/66
             proxy-ndp 2003:ab11:0:0:8000::/66 on eth0 for n",
            "2003:ab11:0:0:8000::/66 is not in the network n (2003:ab11:0:0:c000::/66)",
            "2003:ab11:0:0:8000::/66",
        ),
    ];
    for (script, message, at) in cases {
        let (r, d, spanned) = sandbox_diagnostic(script);
        assert_eq!(r.code, 1, "{script}: {}", r.stderr);
        assert!(
            d["message"].as_str().unwrap_or_default().contains(message),
            "{script}: {d}"
        );
        assert_eq!(spanned, at, "{script}: {d}");
        assert_eq!(d["label"], "this is why", "{d}");
    }
}

#[test]
fn the_prefix_responder_socket_gets_the_larger_receive_buffer() {
    requires!(Root);
    let r = sandbox(
        "netns add far; netns add near
         veth eth0 peer eth0 in far peer-in near
         link set eth0 up in near
         proxy-ndp 2003:ab11:0:0:8000::/65 on eth0 in near
         exec \"ss -f link -m -n -a\" in near",
    )
    .ok();
    // the responder's is the only packet socket in near; ss prints its buffer as skmem:(...,rbN,...)
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("eth0") && l.contains("skmem:("))
        .unwrap_or_else(|| panic!("no packet socket on eth0 in:\n{}", r.stdout));
    let rb: usize = line
        .split(|c| c == '(' || c == ',' || c == ')')
        .find_map(|f| f.strip_prefix("rb"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rb in {line:?}"));
    // the kernel books twice the size asked for
    assert_eq!(rb, 2 * netsh::ndp::RECEIVE_BUFFER, "{line}");
}
