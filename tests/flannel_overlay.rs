//! Flannel in real runs: the overlays converge as hosts come and go (checked with `ip -j` and
//! `bridge -j` inside the lab's namespaces, under --sandbox), the VNI change cleans up, the range
//! runs out in words, and the wiring works against a real etcd.

mod util;

use serde_json::Value;
use util::{Netsh, etcd};

/// The JSON printed after the line `== NAME` (one `exec ip -j ...` per line, in order).
fn section(stdout: &str, name: &str) -> Vec<Value> {
    let mut lines = stdout.lines().skip_while(|l| *l != format!("== {name}"));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("== "))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The subnet `Lease acquired:` printed for a host.
fn leased(stdout: &str, host: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("Lease acquired: ") && l.contains(&format!("({host},")))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no lease for {host} in:\n{stdout}"))
        .to_string()
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const LAN: &str = "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
store embedded
";

#[test]
fn vxlan_reaches_a_host_that_joins_later_and_withdraws_a_released_lease() {
    requires!(Root);
    let script = format!(
        "{LAN}network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\"}}}}'
lease in docker1
overlay in docker1
echo \"== alone\"
exec ip -j route show dev flannel.1 in docker1
exec ip -j -d link show flannel.1 in docker1
exec ip -j addr show dev flannel.1 in docker1
lease in docker2
overlay in docker2
exec sleep 0.5
echo \"== joined\"
exec ip -j route show dev flannel.1 in docker1
exec ip -j neigh show dev flannel.1 in docker1
exec bridge -j fdb show dev flannel.1 in docker1
exec ip -j link show flannel.1 in docker2
lease release in docker2
exec sleep 0.5
echo \"== released\"
exec ip -j route show dev flannel.1 in docker1
exec ip -j neigh show dev flannel.1 in docker1
exec bridge -j fdb show dev flannel.1 in docker1
"
    );
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let s1 = leased(&out.stdout, "docker1");
    let s2 = leased(&out.stdout, "docker2");
    assert_ne!(s1, s2);
    let gw2 = s2.split('/').next().unwrap().to_string();

    let alone = section(&out.stdout, "alone");
    assert_eq!(alone.len(), 3, "{}", out.stdout);
    assert_eq!(strs(&alone[0], "dst"), Vec::<String>::new(), "no peers yet");
    let link = &alone[1][0];
    assert_eq!(link["mtu"], 1450, "MTU of eth0 − 50");
    assert_eq!(link["linkinfo"]["info_data"]["id"], 1);
    assert_eq!(link["linkinfo"]["info_data"]["port"], 8472);
    assert_eq!(link["linkinfo"]["info_data"]["local"], "10.10.10.101");
    assert_eq!(link["linkinfo"]["info_data"]["learning"], false);
    let own = &alone[2][0]["addr_info"][0];
    assert_eq!(own["local"], s1.split('/').next().unwrap());
    assert_eq!(own["prefixlen"], 32);

    let joined = section(&out.stdout, "joined");
    assert_eq!(joined.len(), 4, "{}", out.stdout);
    let route = &joined[0][0];
    assert_eq!(route["dst"], s2.as_str());
    assert_eq!(route["gateway"], gw2.as_str());
    assert!(route["flags"].to_string().contains("onlink"), "{route}");
    let mac2 = joined[3][0]["address"].as_str().unwrap().to_string();
    let neigh = &joined[1][0];
    assert_eq!(neigh["dst"], gw2.as_str());
    assert_eq!(
        neigh["lladdr"],
        mac2.as_str(),
        "neighbour → docker2's VtepMAC"
    );
    assert!(neigh["state"].to_string().contains("PERMANENT"));
    let fdb = &joined[2][0];
    assert_eq!(fdb["mac"], mac2.as_str());
    assert_eq!(fdb["dst"], "10.10.10.102", "FDB → docker2's PublicIP");

    let released = section(&out.stdout, "released");
    assert_eq!(released.len(), 3, "{}", out.stdout);
    for (what, v) in ["routes", "neighbours", "fdb"].iter().zip(&released) {
        assert_eq!(
            v.as_array().map(Vec::len),
            Some(0),
            "{what} left after release: {v}"
        );
    }
}

#[test]
fn host_gw_routes_via_peers_and_says_which_peer_is_off_the_segment() {
    requires!(Root);
    let script = "switch lan1
switch lan2
router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker4 on lan2 addr 192.168.50.102/24 gw 192.168.50.1
store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}'
lease in docker1
overlay host-gw in docker1
lease in docker2
overlay host-gw in docker2
lease in docker4
overlay host-gw in docker4
exec sleep 0.5
echo \"== joined\"
exec ip -j route show proto boot in docker1
lease release in docker2
exec sleep 0.5
echo \"== released\"
exec ip -j route show proto boot in docker1
";
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let s2 = leased(&out.stdout, "docker2");
    let s4 = leased(&out.stdout, "docker4");
    let joined = section(&out.stdout, "joined");
    let dsts = strs(&joined[0], "dst");
    assert!(dsts.contains(&s2), "route to docker2's subnet: {dsts:?}");
    assert!(
        !dsts.contains(&s4),
        "no route to an off-segment peer: {dsts:?}"
    );
    let r = joined[0]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dst"] == s2.as_str())
        .unwrap();
    assert_eq!(r["gateway"], "10.10.10.102");
    assert_eq!(r["dev"], "eth0");
    assert!(
        out.stderr.contains(
            "docker4 is not on the same L2 segment as docker1: its PublicIP 192.168.50.102"
        ),
        "{}",
        out.stderr
    );
    let released = section(&out.stdout, "released");
    assert!(!strs(&released[0], "dst").contains(&s2), "{}", out.stdout);
}

#[test]
fn a_new_vni_removes_the_old_flannel_device() {
    requires!(Root);
    let script = format!(
        "{LAN}network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\"}}}}'
lease in docker1
overlay vxlan in docker1
overlay vxlan vni 2 in docker1
echo \"== after\"
exec ip -j link show type vxlan in docker1
show leases
"
    );
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let after = section(&out.stdout, "after");
    assert_eq!(strs(&after[0], "ifname"), vec!["flannel.2".to_string()]);
    assert!(out.stdout.contains("removed flannel.1"), "{}", out.stdout);
}

#[test]
fn the_fourth_host_finds_the_range_out_of_subnets() {
    requires!(Root);
    let script = "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker3 on lan1 addr 10.10.10.103/24 gw 10.10.10.1
host docker4 on lan1 addr 10.10.10.104/24 gw 10.10.10.1
store embedded
network config '{\"Network\":\"10.100.0.0/23\",\"SubnetLen\":25,\"SubnetMax\":\"10.100.1.128\",\"Backend\":{\"Type\":\"host-gw\"}}'
for i in 1..4 {
  lease in docker$i
}
";
    let out = Netsh::new().arg("--sandbox").script(script).run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.stdout.matches("Lease acquired").count(), 3);
    assert!(out.stderr.contains("out of subnets"), "{}", out.stderr);
    assert!(
        out.stderr.contains("3 leases hold that range"),
        "{}",
        out.stderr
    );
}

/// The same wiring against a real etcd: no lab namespaces (the sandbox could not reach etcd on
/// the machine's loopback), so the lease names its interface and PublicIP and writes its
/// subnet.env into the test's directory; nothing in the kernel changes.
#[test]
fn leases_config_and_docker_opts_against_etcd() {
    requires!(Etcd);
    let server = etcd::EtcdServer::start();
    let ep = server.endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let env = dir.join("subnet.env");
    let script = format!(
        "store etcd {ep}
network config '{{\"Network\":\"10.200.0.0/16\",\"Backend\":{{\"Type\":\"host-gw\"}}}}'
show config
lease iface lo public-ip 10.9.9.1 subnet-file {env}
show leases
docker-opts combined file {dir}/docker.env
",
        env = env.display(),
        dir = dir.display()
    );
    let out = Netsh::new().script(script).run().code(0);
    assert!(
        out.stdout.contains(r#"{"Network":"10.200.0.0/16""#),
        "{}",
        out.stdout
    );
    let subnet = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Lease acquired: "))
        .unwrap()
        .to_string();
    assert!(
        out.stdout.contains(&format!("{subnet:<18} 10.9.9.1")),
        "{}",
        out.stdout
    );
    let env_text = std::fs::read_to_string(&env).unwrap();
    let first_ip = subnet.replace(".0/24", ".1/24");
    assert!(
        env_text.contains(&format!("FLANNEL_SUBNET={first_ip}")),
        "{env_text}"
    );
    assert!(
        env_text.contains("FLANNEL_NETWORK=10.200.0.0/16"),
        "{env_text}"
    );
    let docker = std::fs::read_to_string(dir.join("docker.env")).unwrap();
    assert!(docker.contains(&format!("--bip={first_ip}")), "{docker}");

    // the key is flannel's, checked with etcd's own client
    let key = format!("/coreos.com/network/subnets/{}", subnet.replace('/', "-"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let value = rt.block_on(async {
        let mut c = etcd_client::Client::connect([ep.clone()], None)
            .await
            .unwrap();
        let r = c.get(key.as_str(), None).await.unwrap();
        r.kvs()
            .first()
            .map(|kv| kv.value_str().unwrap().to_string())
    });
    assert_eq!(
        value.as_deref(),
        Some(r#"{"PublicIP":"10.9.9.1","PublicIPv6":null,"BackendType":"host-gw"}"#)
    );

    // a second run for the same PublicIP gets the same subnet back, then gives it up
    let again = format!(
        "store etcd {ep}
lease iface lo public-ip 10.9.9.1 subnet-file {env}
lease release
",
        env = env.display()
    );
    let out = Netsh::new().script(again).run().code(0);
    assert!(
        out.stdout.contains(&format!("Lease acquired: {subnet}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("Lease released: {subnet}")),
        "{}",
        out.stdout
    );
    assert!(!env.exists(), "subnet.env is removed with the lease");
    let gone = rt.block_on(async {
        let mut c = etcd_client::Client::connect([ep.clone()], None)
            .await
            .unwrap();
        c.get(key.as_str(), None).await.unwrap().kvs().is_empty()
    });
    assert!(gone, "the lease's key is gone from etcd");
}

#[test]
fn a_literal_config_flannel_would_refuse_is_caught_before_anything_runs() {
    let out = Netsh::new()
        .arg("--check")
        .script(
            "network config '{\"Network\":\"10.5.0.0/16\",\"SubnetMin\":\"10.5.1.7\"}'\n\
             network config '{\"Network\":\"10.5.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",}}'\n",
        )
        .run()
        .code(2);
    // the first points at the key, the second at the stray comma's closing brace
    assert!(out.stderr.contains("main.netsh:1:43"), "{}", out.stderr);
    assert!(
        out.stderr.contains("not on a /24 boundary"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("main.netsh:2:68"), "{}", out.stderr);
    assert!(out.stderr.contains("trailing comma"), "{}", out.stderr);
}

#[test]
fn a_lease_deleted_behind_netshs_back_withdraws_that_hosts_overlay() {
    requires!(Root);
    // another process (sharing the sandbox's store) takes docker2's lease over by its PublicIP
    // and releases it: docker2's key is gone without docker2's run having asked
    let other = util::bin();
    let script = format!(
        "{LAN}network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"host-gw\"}}}}'
lease in docker1
overlay in docker1
lease in docker2
overlay in docker2
exec sleep 0.3
echo \"== before\"
exec ip -j route show proto boot in docker2
exec {other} -c \"lease iface lo public-ip 10.10.10.102 subnet-file /run/netsh/other.env\nlease release\"
exec sleep 0.5
echo \"== after\"
exec ip -j route show proto boot in docker2
exec ip -j route show proto boot in docker1
"
    );
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let s1 = leased(&out.stdout, "docker1");
    let s2 = leased(&out.stdout, "docker2");
    let before = section(&out.stdout, "before");
    assert!(strs(&before[0], "dst").contains(&s1), "{}", out.stdout);
    let after = section(&out.stdout, "after");
    assert!(
        !strs(&after[0], "dst").contains(&s1),
        "docker2 withdrew: {}",
        out.stdout
    );
    assert!(
        !strs(&after[1], "dst").contains(&s2),
        "docker1 forgot docker2: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "docker2: the lease on {s2} is gone; the host-gw overlay withdrew its routes"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn vxlan_direct_routing_routes_same_segment_peers_plainly() {
    requires!(Root);
    let script = "switch lan1
switch lan2
router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker3 on lan2 addr 192.168.50.101/24 gw 192.168.50.1
store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":true}}'
for i in 1..3 {
  lease in docker$i
  overlay in docker$i
}
exec sleep 0.5
echo \"== routes\"
exec ip -j route show proto boot in docker1
";
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let s2 = leased(&out.stdout, "docker2");
    let s3 = leased(&out.stdout, "docker3");
    let routes = section(&out.stdout, "routes");
    let find = |dst: &str| {
        routes[0]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["dst"] == dst).cloned())
            .unwrap_or_else(|| panic!("no route to {dst}: {}", out.stdout))
    };
    let direct = find(&s2);
    assert_eq!(direct["gateway"], "10.10.10.102");
    assert_eq!(direct["dev"], "eth0");
    let tunneled = find(&s3);
    assert_eq!(tunneled["dev"], "flannel.1");
    assert_eq!(tunneled["gateway"], s3.split('/').next().unwrap());
}

#[test]
fn wait_keeps_the_overlay_running_until_ctrl_c_which_rolls_it_back() {
    requires!(Root);
    use std::io::{BufRead, Read};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wait.netsh");
    std::fs::write(
        &path,
        format!(
            "{LAN}network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"host-gw\"}}}}'
lease in docker1
overlay in docker1
wait
echo after-wait
"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(util::bin())
        .arg("--sandbox")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the signal goes once `wait` says it waits
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("services running") {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!("netsh ended before waiting:\n{seen}");
        }
        seen += &line;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    stdout.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{seen}\n{stderr}");
    assert!(!seen.contains("after-wait"), "{seen}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    // under --sandbox the rollback lists what outlives the sandbox: the lease goes back
    assert!(
        stderr.contains("undone: released the lease on 10.100."),
        "{stderr}"
    );
}

#[test]
fn docker0_takes_the_leases_subnet_and_mtu() {
    requires!(Root);
    let script = format!(
        "{LAN}network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\"}}}}'
lease in docker1
container web1 in docker1
echo \"== docker0\"
exec ip -j addr show dev docker0 in docker1
exec ip -j addr show dev eth0 in web1
"
    );
    let out = Netsh::new().arg("--sandbox").script(script).run().code(0);
    let s1 = leased(&out.stdout, "docker1");
    let base = s1.trim_end_matches(".0/24");
    let d = section(&out.stdout, "docker0");
    assert_eq!(d[0][0]["mtu"], 1450, "FLANNEL_MTU: {}", out.stdout);
    assert_eq!(d[0][0]["addr_info"][0]["local"], format!("{base}.1"));
    assert_eq!(d[0][0]["addr_info"][0]["prefixlen"], 24);
    assert_eq!(d[1][0]["addr_info"][0]["local"], format!("{base}.2"));
}

/// The subnets of `prefix`'s leases in etcd by PublicIP, and whether each is on a TTL lease.
async fn leases_in(ep: &str) -> (bool, Vec<(String, String, bool)>) {
    let Ok(mut c) = etcd_client::Client::connect([ep], None).await else {
        return (false, Vec::new());
    };
    let config = c
        .get("/coreos.com/network/config", None)
        .await
        .map(|r| !r.kvs().is_empty())
        .unwrap_or(false);
    let Ok(r) = c
        .get(
            "/coreos.com/network/subnets/",
            Some(etcd_client::GetOptions::new().with_prefix()),
        )
        .await
    else {
        return (config, Vec::new());
    };
    let mut leases: Vec<(String, String, bool)> = r
        .kvs()
        .iter()
        .map(|kv| {
            let v: Value = serde_json::from_slice(kv.value()).unwrap_or_default();
            let key = kv.key_str().unwrap_or_default();
            let subnet = key.rsplit('/').next().unwrap_or_default().replace('-', "/");
            let ip = v["PublicIP"].as_str().unwrap_or_default().to_string();
            (ip, subnet, kv.lease() != 0)
        })
        .collect();
    leases.sort();
    (config, leases)
}

#[test]
fn an_etcd_restarted_empty_gets_the_config_and_leases_again_and_routes_converge() {
    requires!(Root, Etcd);
    let mut server = etcd::EtcdServer::start();
    let ep = server.endpoint();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // a lease nobody renews or registers again: its route must go once etcd forgets it
    rt.block_on(async {
        let mut c = etcd_client::Client::connect([ep.as_str()], None)
            .await
            .unwrap();
        c.put(
            "/coreos.com/network/subnets/10.100.250.0-24",
            r#"{"PublicIP":"10.10.10.150","BackendType":"host-gw"}"#,
            None,
        )
        .await
        .unwrap();
    });
    let tmp = tempfile::tempdir().unwrap();
    // docker3 asks for the subnet of its earlier subnet.env, so the script knows its route
    let env3 = tmp.path().join("docker3.env");
    std::fs::write(&env3, "FLANNEL_SUBNET=10.100.77.1/24\n").unwrap();
    let marker = tmp.path().join("etcd-is-back");
    let script = format!(
        "switch lan1
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker3 on lan1 addr 10.10.10.103/24 gw 10.10.10.1
store etcd {ep}
network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"host-gw\"}}}}'
lease in docker1 ttl 6
overlay in docker1
lease in docker2 ttl 6
overlay in docker2
expect route 10.100.250.0/24 via 10.10.10.150 in docker1 timeout 60
echo \"== ready\"
expect file {marker} timeout 600
lease in docker3 ttl 6 subnet-file {env3}
overlay in docker3
expect route 10.100.77.0/24 via 10.10.10.103 in docker1 timeout 60
expect no-route 10.100.250.0/24 in docker1 timeout 60
echo \"== converged\"
",
        marker = marker.display(),
        env3 = env3.display()
    );
    let mut run = util::running::Running::start(&["--sandbox"], &script);
    run.wait_line("== ready", std::time::Duration::from_secs(120));
    let s1 = leased(&run.stdout, "docker1");
    let s2 = leased(&run.stdout, "docker2");

    server.restart_empty();
    // the hosts notice at their next renewal and register the config and their leases again,
    // on the same subnets, each on a TTL lease
    let want = vec![
        ("10.10.10.101".to_string(), s1.clone(), true),
        ("10.10.10.102".to_string(), s2.clone(), true),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut seen = (false, Vec::new());
    while std::time::Instant::now() < deadline {
        seen = rt.block_on(leases_in(&ep));
        if seen.0 && seen.1 == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if !(seen.0 && seen.1 == want) {
        let done = run.finish(std::time::Duration::from_secs(5));
        panic!(
            "after the reset etcd holds config {} and leases {:?}, not {want:?}\n{}\n--- stderr\n{}",
            seen.0, seen.1, done.stdout, done.stderr
        );
    }

    run.release(&marker);
    let done = run.finish(std::time::Duration::from_secs(240));
    assert_eq!(
        done.code,
        Some(0),
        "{}\n--- stderr\n{}\netcd's log:\n{}",
        done.stdout,
        done.stderr,
        server.log()
    );
    assert!(done.stdout.contains("== converged"), "{}", done.stdout);
    assert!(
        done.stderr.contains("docker1: the store was reset"),
        "{}",
        done.stderr
    );
}
