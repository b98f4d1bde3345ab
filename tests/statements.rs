//! One test per statement form: the script, and the commands its dry run prints.

mod util;
use util::Netsh;

macro_rules! dry {
    ($name:ident, $script:expr, $expected:expr) => {
        #[test]
        fn $name() {
            Netsh::dry($script)
                .run()
                .code(0)
                .stdout_is(concat!($expected, "\n"));
        }
    };
}

dry!(netns_add, "netns add docker1", "ip netns add docker1");
dry!(netns_del, "netns del docker1", "ip netns del docker1");
dry!(netns_list, "netns list", "ip netns list");
dry!(
    veth_plain,
    "veth v1 peer v2",
    "ip link add v1 type veth peer name v2"
);
dry!(
    veth_peer_in,
    "veth host_veth1 peer ns_veth1 peer-in net1_ns",
    "ip link add host_veth1 type veth peer name ns_veth1 netns net1_ns"
);
dry!(
    veth_in_ns,
    "veth a peer b in ns1 peer-in ns2",
    "ip -n ns1 link add a type veth peer name b netns ns2"
);
dry!(bridge, "bridge docker0", "ip link add docker0 type bridge");
dry!(
    dummy,
    "dummy dummy0 in ns1",
    "ip -n ns1 link add dummy0 type dummy"
);
dry!(tun, "tun flannel0", "ip tuntap add dev flannel0 mode tun");
dry!(
    macvlan_default_vepa,
    "macvlan on eth0",
    "ip link add macvlan1 link eth0 type macvlan mode vepa"
);
dry!(
    macvlan_moved,
    "macvlan bridge on eth0 in namespace1\nmacvlan private on eth0 name mv in namespace2",
    "ip link add macvlan1 link eth0 netns namespace1 type macvlan mode bridge\nip link add mv link eth0 netns namespace2 type macvlan mode private"
);
dry!(
    macvlan_passthru,
    "macvlan passthru on eth1",
    "ip link add macvlan1 link eth1 type macvlan mode passthru"
);
dry!(
    ipvlan_default_l3,
    "ipvlan on eth0",
    "ip link add ipvlan1 link eth0 type ipvlan mode l3"
);
dry!(
    ipvlan_l2_moved,
    "ipvlan l2 on eth0 in ns1",
    "ip link add ipvlan1 link eth0 netns ns1 type ipvlan mode l2"
);
dry!(
    vlan_default_name,
    "vlan 19 on eth1",
    "ip link add eth1.19 link eth1 type vlan id 19"
);
dry!(
    vlan_named,
    "vlan 20 on eth1 name v20",
    "ip link add v20 link eth1 type vlan id 20"
);
dry!(
    vxlan,
    "vxlan vxlan1 vni 1 port 8472 dev eth0 local 10.10.10.101 nolearning",
    "ip link add vxlan1 type vxlan id 1 dstport 8472 dev eth0 local 10.10.10.101 nolearning"
);
dry!(
    vxlan_remote,
    "vxlan vx vni 42 remote 192.168.50.101",
    "ip link add vx type vxlan id 42 remote 192.168.50.101"
);
dry!(
    link_set_many,
    "link set eth1 up mtu 1450 master docker0",
    "ip link set eth1 up mtu 1450 master docker0"
);
dry!(
    link_set_any_order,
    "link set eth1 master docker0 down",
    "ip link set eth1 down master docker0"
);
dry!(
    link_set_nomaster,
    "link set eth1 nomaster",
    "ip link set eth1 nomaster"
);
dry!(
    link_set_address_netns_name,
    "link set v1 address 02:42:AC:11:00:02 netns ns1 name eth0",
    "ip link set v1 address 02:42:ac:11:00:02 netns ns1 name eth0"
);
dry!(
    link_del,
    "link del macvlan1 in ns1",
    "ip -n ns1 link del macvlan1"
);
dry!(
    addr_add_v4,
    "addr add 10.10.10.101/24 dev eth0",
    "ip addr add 10.10.10.101/24 dev eth0"
);
dry!(
    addr_add_v6_nodad,
    "addr add 2003:ab11::1/64 dev eth0 nodad in net1",
    "ip -n net1 addr add 2003:ab11::1/64 dev eth0 nodad"
);
dry!(
    addr_add_host,
    "addr add 10.0.0.1/32 dev eth0",
    "ip addr add 10.0.0.1/32 dev eth0"
);
dry!(
    addr_del,
    "addr del 10.10.10.101/24 dev eth0",
    "ip addr del 10.10.10.101/24 dev eth0"
);
dry!(
    route_add_via,
    "route add 10.100.0.0/16 via 10.10.10.1",
    "ip route add 10.100.0.0/16 via 10.10.10.1"
);
dry!(
    route_default_v4,
    "route add default via 10.10.10.1",
    "ip route add default via 10.10.10.1"
);
dry!(
    route_default_v6_via,
    "route add default via 2003:ab11::1 in ns1",
    "ip -n ns1 route add default via 2003:ab11::1"
);
dry!(
    route_v6_default_dev,
    "route add ::/0 dev eth0",
    "ip route add ::/0 dev eth0"
);
dry!(
    route_all_options,
    "route replace 10.100.15.0/24 via 10.100.15.0 dev flannel.1 onlink metric 10 table 100 src 10.100.93.0",
    "ip route replace 10.100.15.0/24 via 10.100.15.0 dev flannel.1 onlink metric 10 table 100 src 10.100.93.0"
);
dry!(
    route_table_name,
    "route add 10.0.0.0/8 dev eth0 table main",
    "ip route add 10.0.0.0/8 dev eth0 table 254"
);
dry!(
    route_del,
    "route del 10.100.0.0/16",
    "ip route del 10.100.0.0/16"
);
dry!(
    route_host,
    "route add 10.0.0.5 dev eth0",
    "ip route add 10.0.0.5/32 dev eth0"
);
dry!(
    neigh_add,
    "neigh add 10.100.15.0 lladdr 02:42:ac:11:00:02 dev flannel.1 permanent",
    "ip neigh add 10.100.15.0 lladdr 02:42:ac:11:00:02 dev flannel.1 nud permanent"
);
dry!(
    neigh_add_v6_router,
    "neigh add 2003:ab11::1 lladdr 02:00:00:00:00:01 dev eth0 router",
    "ip neigh add 2003:ab11::1 lladdr 02:00:00:00:00:01 dev eth0 router"
);
dry!(
    neigh_del,
    "neigh del 10.100.15.0 dev flannel.1",
    "ip neigh del 10.100.15.0 dev flannel.1"
);
dry!(
    neigh_del_proxy,
    "neigh del 2003:ab11::2 dev eth0 proxy in h1",
    "ip -n h1 -6 neigh del proxy 2003:ab11::2 dev eth0"
);
dry!(
    fdb_add,
    "fdb add 02:42:ac:11:00:02 dev flannel.1 dst 10.10.10.102",
    "bridge fdb add 02:42:ac:11:00:02 dev flannel.1 dst 10.10.10.102"
);
dry!(
    fdb_append_in_ns,
    "fdb append 00:00:00:00:00:00 dev vx dst 10.0.0.2 in h1",
    "bridge -n h1 fdb append 00:00:00:00:00:00 dev vx dst 10.0.0.2"
);
dry!(
    fdb_del,
    "fdb del 02:42:ac:11:00:02 dev flannel.1",
    "bridge fdb del 02:42:ac:11:00:02 dev flannel.1"
);
dry!(
    sysctl_set,
    "sysctl net.ipv6.conf.eth0.proxy_ndp = 1",
    "sysctl -w net.ipv6.conf.eth0.proxy_ndp=1"
);
dry!(
    sysctl_set_one_word,
    "sysctl net.ipv4.ip_forward=1 in r1",
    "ip netns exec r1 sysctl -w net.ipv4.ip_forward=1"
);
dry!(
    sysctl_show,
    "sysctl net.ipv4.ip_forward",
    "sysctl net.ipv4.ip_forward"
);
dry!(
    forwarding_both,
    "forwarding on",
    "sysctl -w net.ipv4.ip_forward=1\nsysctl -w net.ipv6.conf.all.forwarding=1"
);
dry!(
    forwarding_v6_off,
    "forwarding off ipv6 in net2",
    "ip netns exec net2 sysctl -w net.ipv6.conf.all.forwarding=0"
);
dry!(
    proxy_ndp_address,
    "proxy-ndp 2003:ab11::8000:242:ac11:2 on eth0",
    "sysctl -w net.ipv6.conf.eth0.proxy_ndp=1\nip -6 neigh add proxy 2003:ab11::8000:242:ac11:2 dev eth0"
);
dry!(
    proxy_ndp_vlan_parent,
    "proxy-ndp 2003:ab11::2 on eth1.19",
    "sysctl -w net.ipv6.conf.eth1/19.proxy_ndp=1\nip -6 neigh add proxy 2003:ab11::2 dev eth1.19"
);
dry!(
    proxy_ndp_prefix,
    "proxy-ndp 2003:ab11:0:0:8000::/65 on eth0",
    "trap 'kill -INT $(jobs -p) 2>/dev/null' EXIT\nnetsh -c 'proxy-ndp 2003:ab11:0:0:8000::/65 on eth0; wait' &"
);
dry!(
    switch,
    "switch lan1",
    "ip netns add lan1\nip -n lan1 link add sw type bridge\nip -n lan1 link set sw up"
);
dry!(
    host,
    "host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1",
    "ip netns add docker1\nip -n docker1 link set lo up\nip -n docker1 link add eth0 type veth peer name docker1 netns lan1\nip -n lan1 link set docker1 up master sw\nip -n docker1 link set eth0 up\nip -n docker1 addr add 10.10.10.101/24 dev eth0\nip -n docker1 route add default via 10.10.10.1"
);
dry!(
    host_dual_stack_iface,
    "host net1 on lan addr 172.16.10.1/24 addr 2003:ab11::1/64 iface eth1",
    "ip netns add net1\nip -n net1 link set lo up\nip -n net1 link add eth1 type veth peer name net1 netns lan\nip -n lan link set net1 up master sw\nip -n net1 link set eth1 up\nip -n net1 addr add 172.16.10.1/24 dev eth1\nip -n net1 addr add 2003:ab11::1/64 dev eth1 nodad"
);
dry!(
    router,
    "router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24",
    "ip netns add r1\nip -n r1 link set lo up\nip -n r1 link add eth0 type veth peer name r1 netns lan1\nip -n lan1 link set r1 up master sw\nip -n r1 link set eth0 up\nip -n r1 addr add 10.10.10.1/24 dev eth0\nip -n r1 link add eth1 type veth peer name r1 netns lan2\nip -n lan2 link set r1 up master sw\nip -n r1 link set eth1 up\nip -n r1 addr add 192.168.50.1/24 dev eth1\nip netns exec r1 sysctl -w net.ipv4.ip_forward=1\nip netns exec r1 sysctl -w net.ipv6.conf.all.forwarding=1"
);
dry!(
    container_default_bridge,
    "container web1 in docker1",
    "ip netns exec docker1 docker run -d --name web1"
);
// a container on a network: the docker command as a comment, then what netsh does for it
dry!(
    container_network,
    "network create macvlan_net driver macvlan parent eth0 subnet 10.10.10.0/24 in docker1\ncontainer web1 on macvlan_net ip 10.10.10.20 in docker1",
    "# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.10.0/24 -o parent=eth0 macvlan_net\n# ip netns exec docker1 docker run -d --name web1 --net=macvlan_net --ip 10.10.10.20\nip netns add web1\nip -n web1 link set lo up\nip -n docker1 link add mva25cd5c link eth0 type macvlan mode bridge\nip -n docker1 link set mva25cd5c address 02:42:0a:0a:0a:14 netns web1 name eth0\nip -n web1 addr add 10.10.10.20/24 dev eth0\nip -n web1 link set eth0 up\nip -n web1 route add default via 10.10.10.1"
);
dry!(
    serve_http,
    "serve http 80 text \"Web Server #1\" in web1",
    "trap 'kill -INT $(jobs -p) 2>/dev/null' EXIT\nip netns exec web1 netsh -c 'serve http 80 text '\\''Web Server #1'\\''; wait' &\ni=0; until ip netns exec web1 ss -Hltn 'sport = :80' | grep -q .; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done"
);
dry!(
    docker_bridge,
    "docker-bridge fixed-cidr-v6 2003:cd11::/64 in docker1",
    "ip netns exec docker1 dockerd --ipv6 --fixed-cidr-v6=2003:cd11::/64"
);
dry!(
    capture,
    "capture eth0 in a count 4 to a.pcap",
    "ip netns exec a tcpdump -i eth0 -c 4 -w a.pcap &"
);
dry!(
    ping,
    "ping 10.10.10.102 from docker1 count 2",
    "ip netns exec docker1 ping -i 0.2 -c 2 -W 1 10.10.10.102 || exit 1"
);
dry!(
    expect_reach,
    "expect reach 10.100.93.2 from web2",
    "ip netns exec web2 ping -i 0.2 -c 1 -w 3 10.100.93.2 >/dev/null || exit 1"
);
dry!(
    expect_no_reach,
    "expect no-reach 192.168.50.171 from namespace2 timeout 1",
    "! ip netns exec namespace2 ping -i 0.2 -c 1 -w 1 192.168.50.171 >/dev/null || exit 1"
);
dry!(
    expect_http,
    "expect http http://10.100.93.2/ from web2 contains \"Web Server #1\"",
    "ip netns exec web2 curl -sf -m 3 http://10.100.93.2/ | grep -qF 'Web Server #1' || exit 1"
);
dry!(
    expect_condition,
    "let out = \"Web Server #2\"\nexpect $out contains \"Web Server #2\"",
    "# expect $out contains \"Web Server #2\""
);
dry!(
    exec_in_ns,
    "exec \"ip -6 neigh show\" in net1",
    "ip netns exec net1 ip -6 neigh show"
);
dry!(
    let_exec,
    "let out = exec \"ip -j link\" in net1\necho \"[$out]\"",
    "ip netns exec net1 ip -j link\necho '[]'"
);
dry!(
    show_routes_json,
    "show routes in docker1 json",
    "ip -n docker1 -j route show; ip -n docker1 -j -6 route show"
);
dry!(show_links, "show links", "ip link show");
dry!(echo, "echo hello \"big world\"", "echo 'hello big world'");
dry!(
    wait,
    "wait",
    "wait  # netsh: until Ctrl-C, keeping services running"
);
dry!(dump, "dump in docker1", "# netsh: dump in docker1");
dry!(
    store_embedded,
    "store embedded /tmp/x.redb",
    "# netsh: store embedded /tmp/x.redb"
);
dry!(
    store_etcd,
    "store etcd http://10.10.10.101:2379,http://10.10.10.102:2379",
    "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=http://10.10.10.101:2379,http://10.10.10.102:2379"
);
dry!(
    network_config_json,
    "network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}'",
    "etcdctl put /coreos.com/network/config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}'"
);
dry!(
    network_config_keywords,
    "store etcd http://127.0.0.1:2379 prefix /lab/network\nnetwork config 10.100.0.0/16 subnet-len 24 backend vxlan vni 2",
    "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=http://127.0.0.1:2379\netcdctl put /lab/network/config '{\"Network\":\"10.100.0.0/16\",\"SubnetLen\":24,\"Backend\":{\"Type\":\"vxlan\",\"VNI\":2}}'"
);
dry!(
    lease,
    "lease iface eth1 in docker1",
    "# netsh: flanneld lease for docker1 iface eth1"
);
dry!(
    lease_release,
    "lease release in docker1",
    "# netsh: release the lease of docker1"
);
dry!(
    overlay,
    "overlay vxlan vni 1 direct-routing in docker1",
    "# netsh: run the vxlan overlay for docker1 vni 1 direct-routing"
);
dry!(
    overlay_from_config,
    "overlay in docker2",
    "# netsh: run the configured overlay for docker2"
);
dry!(
    docker_opts,
    "docker-opts combined no-masq in docker1",
    "ip netns exec docker1 mk-docker-opts.sh -c -m"
);
// a network on an existing parent takes no kernel operation: only its docker command, as a comment
dry!(
    network_create_macvlan,
    "network create macvlan_net driver macvlan parent eth0 subnet 10.10.10.0/24 ip-range 10.10.10.0/25 gateway 10.10.10.1 aux docker1=10.10.10.101 aux docker2=10.10.10.102 in docker1",
    "# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.10.0/24 --ip-range=10.10.10.0/25 --gateway=10.10.10.1 --aux-address=docker1=10.10.10.101 --aux-address=docker2=10.10.10.102 -o parent=eth0 macvlan_net"
);
dry!(
    network_create_ipvlan_l3,
    "network create ipvlan_net driver ipvlan mode l3 parent eth0 subnet 10.10.20.0/24",
    "# docker network create -d ipvlan --subnet=10.10.20.0/24 -o parent=eth0 -o ipvlan_mode=l3 ipvlan_net"
);
// the parent NAME.VID is made as a real run makes it, unless the script made it
dry!(
    network_create_on_a_vlan_parent,
    "network create vlan19 driver macvlan parent eth1.19 subnet 10.10.90.0/24 in docker1\nvlan 20 on eth1 in docker1\nnetwork create vlan20 driver macvlan parent eth1.20 subnet 10.10.91.0/24 in docker1",
    "# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.90.0/24 -o parent=eth1.19 vlan19\nip -n docker1 link add eth1.19 link eth1 type vlan id 19\nip -n docker1 link set eth1.19 up\nip link add eth1.20 link eth1 netns docker1 type vlan id 20\n# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.91.0/24 -o parent=eth1.20 vlan20"
);
dry!(
    network_create_bridge,
    "network create br_net driver bridge subnet 10.20.0.0/24",
    "# docker network create -d bridge --subnet=10.20.0.0/24 br_net\nip link add br-f85dc784716a type bridge\nip link set br-f85dc784716a address 02:43:c7:84:71:6a\nip addr add 10.20.0.1/24 dev br-f85dc784716a\nip link set br-f85dc784716a up\nsysctl -w net.ipv4.ip_forward=1"
);
dry!(
    network_rm,
    "network create macvlan_net driver macvlan parent eth0 subnet 10.10.10.0/24 in docker1\ncontainer web1 on macvlan_net in docker1\nnetwork rm macvlan_net in docker1",
    "# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.10.0/24 -o parent=eth0 macvlan_net\n# ip netns exec docker1 docker run -d --name web1 --net=macvlan_net\nip netns add web1\nip -n web1 link set lo up\nip -n docker1 link add mva25cd5c link eth0 type macvlan mode bridge\nip -n docker1 link set mva25cd5c address 02:42:0a:0a:0a:02 netns web1 name eth0\nip -n web1 addr add 10.10.10.2/24 dev eth0\nip -n web1 link set eth0 up\nip -n web1 route add default via 10.10.10.1\n# ip netns exec docker1 docker network rm macvlan_net\nip netns del web1"
);
dry!(
    help_statement,
    "help vlan",
    "vlan ID on PARENT [name NAME] [in NS]\n  create an 802.1Q VLAN subinterface (named PARENT.ID unless named)\n  example: vlan 19 on eth1"
);

#[test]
fn network_create_rejects_a_mode_of_another_driver() {
    Netsh::dry("network create n driver macvlan mode l3 parent eth0 subnet 10.0.0.0/24")
        .run()
        .code(1)
        .stderr_has("`l3` is not a mode of the macvlan driver");
}

#[test]
fn a_gateway_outside_every_subnet_is_refused() {
    // found by the checker (exit 2), on the gateway argument, before anything runs
    Netsh::dry("network create n driver macvlan parent eth0 subnet 10.0.0.0/24 gateway 10.1.0.1")
        .run()
        .code(2)
        .stderr_has("the gateway 10.1.0.1 is in none of the network's subnets");
}

/// A dry run is what would be done: `network create` on a VLAN parent shows the VLAN netsh makes,
/// under the docker command it stands for as a comment, and a container on an ipvlan network
/// shows its namespace and ipvlan.
#[test]
fn network_create_and_its_containers_dry_run_as_kernel_operations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dry = |example: &str| {
        let out = util::netsh(&["--dry-run", root.join(example).to_str().expect("a path")]);
        assert_eq!(out.code, 0, "{example}: {}", out.stderr);
        out.stdout
    };
    let vlan = dry("examples/ch09-vlan-tagging.netsh");
    let lines: Vec<&str> = vlan.lines().collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line {line:?} in:\n{vlan}"))
    };
    let comment = at(
        "# ip netns exec docker1 docker network create -d macvlan --subnet=10.10.90.0/24 --gateway=10.10.90.1 -o parent=eth1.19 vlan19",
    );
    assert_eq!(
        lines[comment + 1..comment + 3],
        [
            "ip -n docker1 link add eth1.19 link eth1 type vlan id 19",
            "ip -n docker1 link set eth1.19 up"
        ]
    );
    // no line of the dry run runs docker
    assert!(
        !lines
            .iter()
            .any(|l| !l.starts_with('#') && l.contains("docker network create")),
        "{vlan}"
    );
    let ipvlan = dry("examples/ch09-docker-ipvlan.netsh");
    let run = ipvlan
        .find("# ip netns exec docker1 docker run -d --name web1 --net=ipvlan_net\n")
        .unwrap_or_else(|| panic!("no docker run comment in:\n{ipvlan}"));
    let after: Vec<&str> = ipvlan[run..].lines().skip(1).take(7).collect();
    assert_eq!(after[0], "ip netns add web1");
    assert!(
        after
            .iter()
            .any(|l| l.starts_with("ip -n docker1 link add ")
                && l.ends_with(" link eth0 type ipvlan mode l3")),
        "{after:?}"
    );
    assert!(
        after.contains(&"ip -n web1 addr add 10.10.20.2/24 dev eth0"),
        "{after:?}"
    );
}
