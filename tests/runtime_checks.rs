//! The built-in checks (ping, expect reach/no-reach/http) against labs built in a sandbox: they
//! pass on a right network and fail, with exit 1 and words on the line, on a wrong one.

mod util;
use util::*;

const TWO_HOSTS: &str = "switch lan
host h1 on lan addr 10.0.0.1/24 addr 2003:ab11::1/64
host h2 on lan addr 10.0.0.2/24 addr 2003:ab11::2/64
";

#[test]
fn ping_and_expect_reach_work_over_ipv4_and_ipv6() {
    requires!(Root);
    let r = sandbox(&format!(
        "{TWO_HOSTS}ping 10.0.0.2 from h1 count 2
         ping 2003:ab11::2 from h1 src 2003:ab11::1 count 1
         expect reach 10.0.0.1 from h2
         expect reach 2003:ab11::1 from h2
         exec \"ip -j neigh show dev eth0\" in h1"
    ))
    .ok();
    assert!(
        r.stdout
            .contains("ping 10.0.0.2 from h1: 2 sent, 2 received"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("ping 2003:ab11::2 from h1: 1 sent, 1 received"),
        "{}",
        r.stdout
    );
    // the echo really crossed the wire: h1 learned h2's MAC
    assert!(find(&r.json()[0], "dst", "10.0.0.2").is_some());
}

#[test]
fn expect_reach_fails_when_the_network_is_wrong() {
    requires!(Root);
    // two hosts on separate switches, no router: unreachable
    let r = sandbox(
        "switch lan1; switch lan2
         host h1 on lan1 addr 10.0.0.1/24
         host h2 on lan2 addr 10.0.0.2/24
         expect reach 10.0.0.2 from h1 timeout 0.6",
    )
    .fails_with("expected 10.0.0.2 to be reachable from h1, but");
    assert!(r.stderr.contains("netsh::expect::failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains(":4:"),
        "on the expect's line: {}",
        r.stderr
    );
}

#[test]
fn expect_no_reach_fails_when_it_answers() {
    requires!(Root);
    // reached first (that waits for h2 to answer at all), then a no-reach must see an answer
    sandbox(&format!(
        "{TWO_HOSTS}expect reach 10.0.0.2 from h1\nexpect no-reach 10.0.0.2 from h1 timeout 0.5"
    ))
    .fails_with("expected 10.0.0.2 to be unreachable from h1, but it answered");
}

#[test]
fn expect_reach_through_a_router_and_no_route_is_unreachable() {
    requires!(Root);
    sandbox(
        "switch lan1; switch lan2
         router r1 on lan1 addr 10.1.0.1/24 on lan2 addr 10.2.0.1/24
         host a on lan1 addr 10.1.0.10/24 gw 10.1.0.1
         host b on lan2 addr 10.2.0.10/24 gw 10.2.0.1
         host c on lan2 addr 10.2.0.11/24
         expect reach 10.2.0.10 from a
         expect no-reach 10.1.0.10 from c timeout 0.5",
    )
    .ok();
}

#[test]
fn expect_http_passes_on_the_right_text_and_fails_on_the_wrong_one() {
    requires!(Root);
    let lab = format!("{TWO_HOSTS}serve http 8080 text \"Web Server #2\" in h2\n");
    sandbox(&format!("{lab}expect http http://10.0.0.2:8080/ from h1 contains \"Web Server #2\"\nexpect http \"http://[2003:ab11::2]:8080/\" from h1 contains \"#2\"")).ok();
    sandbox(&format!(
        "{lab}expect http http://10.0.0.2:8080/ from h1 contains \"Web Server #1\""
    ))
    .fails_with("to contain \"Web Server #1\", but it answered");
    sandbox(&format!(
        "{lab}expect http http://10.0.0.2:9999/ from h1 contains \"x\" timeout 0.5"
    ))
    .fails_with("cannot connect to 10.0.0.2:9999");
}

#[test]
fn macvlan_vepa_isolates_namespaces_and_bridge_joins_them_but_not_the_parent() {
    requires!(Root);
    let lab = |mode: &str| {
        format!(
            "veth eth0 peer wire0
             link set eth0 up; link set wire0 up
             addr add 192.168.1.10/24 dev eth0
             netns add ns1; netns add ns2
             macvlan {mode} on eth0 name mv1 in ns1
             macvlan {mode} on eth0 name mv2 in ns2
             addr add 192.168.1.11/24 dev mv1 in ns1; link set mv1 up in ns1
             addr add 192.168.1.12/24 dev mv2 in ns2; link set mv2 up in ns2
             exec \"ip -j -d link show mv1\" in ns1
             "
        )
    };
    let vepa = sandbox(&format!(
        "{}expect no-reach 192.168.1.12 from ns1 timeout 0.8",
        lab("vepa")
    ))
    .ok();
    assert_eq!(vepa.json()[0][0]["linkinfo"]["info_data"]["mode"], "vepa");
    let bridge = sandbox(&format!(
        "{}expect reach 192.168.1.12 from ns1\nexpect no-reach 192.168.1.10 from ns1 timeout 0.8",
        lab("bridge")
    ))
    .ok();
    assert_eq!(
        bridge.json()[0][0]["linkinfo"]["info_data"]["mode"],
        "bridge"
    );
    // and the check itself notices when vepa is expected to isolate but bridge mode joins
    sandbox(&format!(
        "{}expect no-reach 192.168.1.12 from ns1 timeout 0.8",
        lab("bridge")
    ))
    .fails_with("but it answered");
}

#[test]
fn containers_on_docker0_get_dockers_addresses_and_reach_each_other() {
    requires!(Root);
    let r = sandbox(
        "container web1
         container web2
         expect reach web1 from web2
         expect reach 172.17.0.3 from web1
         exec \"ip -j addr show dev eth0\" in web1
         exec \"ip -j link show dev eth0\" in web2
         exec \"ip -j route show\" in web2
         exec \"ip -j addr show dev docker0\"",
    )
    .ok();
    let j = r.json();
    assert!(
        addresses(&j[0]).contains(&"172.17.0.2/16".to_string()),
        "{}",
        j[0]
    );
    assert_eq!(j[1][0]["address"], "02:42:ac:11:00:03");
    assert_eq!(
        find(&j[2], "dst", "default").expect("default route")["gateway"],
        "172.17.0.1"
    );
    assert!(addresses(&j[3]).contains(&"172.17.0.1/16".to_string()));
}

#[test]
fn the_quickstart_runs_in_a_sandbox() {
    requires!(Root);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.netsh");
    let r = netsh(&["--sandbox", path]).ok();
    assert!(
        r.stdout
            .contains("four hosts on two subnets reach each other through r1")
    );
    assert!(
        r.stdout.contains("default via 192.168.50.1 dev eth0"),
        "show routes in docker3: {}",
        r.stdout
    );
}

#[test]
fn the_udp_overlay_carries_containers_across_a_router() {
    requires!(Root);
    // two hosts on different subnets: only flannel0 and the userspace tunnel join their containers
    let r = sandbox(
        "switch s1
         switch s2
         router r on s1 addr 10.0.1.254/24 on s2 addr 10.0.2.254/24
         host h1 on s1 addr 10.0.1.1/24 gw 10.0.1.254
         host h2 on s2 addr 10.0.2.1/24 gw 10.0.2.254
         network config 10.100.0.0/16 backend udp
         lease in h1
         lease in h2
         overlay in h1
         overlay in h2
         container c1 in h1
         container c2 in h2
         expect reach c2 from c1
         exec \"ip -j -d link show flannel0\" in h1
         exec \"ip -j route show\" in h1
         show tunnel in h1",
    )
    .ok();
    // the ping went through h1's tunnel both ways
    let count = |name: &str| -> u64 {
        r.stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0)
    };
    assert!(
        count("tx_packets") > 0 && count("rx_packets") > 0,
        "{}",
        r.stdout
    );
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    let link: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(link[0]["mtu"], 1472, "{}", lines[0]);
    assert_eq!(link[0]["linkinfo"]["info_kind"], "tun", "{}", lines[0]);
    let routes: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let via_tunnel = routes
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["dst"] == "10.100.0.0/16" && r["dev"] == "flannel0");
    assert!(
        via_tunnel,
        "no route for the Network through flannel0: {}",
        lines[1]
    );
}

#[test]
fn docker_bridge_v6_gives_the_books_addresses_and_names_resolve_in_exec() {
    requires!(Root);
    let r = sandbox(
        "docker-bridge fixed-cidr-v6 2003:cd11::/64
         container web1
         container web2
         expect reach 2003:cd11::242:ac11:2 from web2
         let h = exec \"getent ahostsv4 web1\" in web2
         expect $h contains \"172.17.0.2\"
         exec \"ip -j -6 addr show dev eth0 scope global\" in web1",
    )
    .ok();
    assert!(
        addresses(&r.json()[0]).contains(&"2003:cd11::242:ac11:2/64".to_string()),
        "{}",
        r.stdout
    );
}

#[test]
fn ping_and_expect_speak_json_with_the_flag() {
    requires!(Root);
    let r = netsh(&[
        "--sandbox",
        "--json",
        "-c",
        &format!("{TWO_HOSTS}ping 10.0.0.2 from h1 count 2\nexpect reach 10.0.0.2 from h1"),
    ])
    .ok();
    let j = r.json();
    assert_eq!(j[0]["ping"], "10.0.0.2");
    assert_eq!(j[0]["received"], 2);
    assert_eq!(j[0]["rtt_ms"].as_array().map(Vec::len), Some(2));
    assert_eq!(j[1]["ok"], true);
}

#[test]
fn a_container_inside_a_lab_host_serves_another_host() {
    requires!(Root);
    sandbox(
        "switch lan
         host docker1 on lan addr 10.10.10.101/24
         host docker2 on lan addr 10.10.10.102/24
         container web1 in docker1
         serve http 80 text \"Web Server #1\" in web1
         route add 172.17.0.0/16 via 10.10.10.101 in docker2
         expect reach web1 from docker1
         expect reach 172.17.0.2 from docker2
         expect http http://web1/ from docker2 contains \"Web Server #1\"",
    )
    .ok();
}

/// `expect http` means success: a 404 page that contains the text fails, unless the statement
/// says `status 404`. The server is busybox's httpd on the loopback of a private namespace.
#[test]
fn expect_http_needs_a_2xx_status_unless_it_names_one() {
    requires!(Root);
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "hello from the page\n").unwrap();
    let url = "http://127.0.0.1:8080";
    let out = util::private_world::private(&format!(
        "busybox httpd -f -p 127.0.0.1:8080 -h {www} & server=$!
         run page \"$NETSH\" -c 'expect http {url}/index.html contains hello'
         run missing \"$NETSH\" -c 'expect http {url}/nothing contains \"Not Found\"'
         run named \"$NETSH\" -c 'expect http {url}/nothing contains \"Not Found\" status 404'
         run wrong \"$NETSH\" -c 'expect http {url}/index.html contains hello status 404'
         kill $server",
        www = www.path().display()
    ));
    let parts = util::private_world::sections(&out.stdout);
    let part = |name: &str, code: i32| {
        let (key, text) = parts
            .iter()
            .find(|(k, _)| k.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no step {name}: {}\n{}", out.stdout, out.stderr));
        assert_eq!(key, &format!("{name} {code}"), "{name}: {text}");
        text.clone()
    };
    part("page", 0);
    let missing = part("missing", 1);
    assert!(
        missing.contains("to answer with a 2xx status") && missing.contains("status 404"),
        "{missing}"
    );
    part("named", 0);
    let wrong = part("wrong", 1);
    assert!(wrong.contains("to answer with status 404"), "{wrong}");
}
