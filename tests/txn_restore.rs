//! Rollback of what has no inverse of its own: deletions (rebuilt from the state read before
//! them), store keys, leases, overlays and Docker networks. Each test runs in a private network
//! and mount namespace (util::private_world), makes a change that a later line makes fail, and compares the
//! state after the rollback with the state before: `ip -j` of every namespace, and the store read
//! from its file by the store library in this process.

mod util;

use util::private_world::{first_difference, normalized, private, sections, snap_functions};

/// A lab with something of every kind a deletion can take with it: a bridge with a port, its
/// addresses, a permanent neighbour, a proxy entry, a VXLAN device on it with an FDB entry, a route
/// through an address, a veth pair across namespaces, a second namespace with a veth inside.
const LAB: &str = "netns add r1
netns add r2
veth a1 peer a2 peer-in r1
bridge br0
link set a1 master br0 up mtu 1400
link set br0 up
addr add 10.80.0.1/24 dev br0
addr add 2001:db8:80::1/64 dev br0 nodad
link set a2 up in r1
addr add 10.80.0.2/24 dev a2 in r1
addr add 2001:db8:80::2/64 dev a2 nodad in r1
route add default via 10.80.0.1 in r1
route add 10.81.0.0/16 via 10.80.0.2
neigh add 10.80.0.9 lladdr 02:00:00:00:00:09 dev br0 permanent
vxlan vx1 vni 8 port 4789 dev br0 local 10.80.0.1 nolearning
link set vx1 up
fdb add 02:00:00:00:00:07 dev vx1 dst 10.80.0.2
sysctl net.ipv6.conf.br0.proxy_ndp = 1
proxy-ndp 2001:db8:80::5 on br0
veth b1 peer b2 in r2
link set b1 up in r2
addr add 10.82.0.1/24 dev b1 in r2
";

fn assert_same(before: &str, after: &str, what: &str) {
    // a rebuilt link has a new index: compare without indexes
    if let Some(d) = first_difference(&normalized(before), &normalized(after)) {
        panic!("{what}: the state differs, first at {d}");
    }
}

/// Runs each change on the lab, then a line that fails, and asserts that the rollback gave back
/// the state before it exactly.
fn assert_each_is_rebuilt(changes: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lab.netsh"), LAB).expect("write");
    for (k, d) in changes.iter().enumerate() {
        // the first one fails on an expectation, the others on a missing link
        let fault = if k == 0 {
            "expect reach 10.255.0.1 timeout 0.2"
        } else {
            "link set nofault0 up"
        };
        std::fs::write(
            dir.path().join(format!("del{k}.netsh")),
            format!("{d}\n{fault}\n"),
        )
        .expect("write");
    }
    let out = private(&format!(
        "cd {}\nrun lab $NETSH lab.netsh\necho '--- before'; snap\nfor k in $(seq 0 {}); do\n  run \"del$k\" $NETSH del$k.netsh\n  sleep 0.5; echo \"--- after$k\"; snap\ndone",
        dir.path().display(),
        changes.len() - 1
    ));
    let s = sections(&out.stdout);
    assert!(s.contains_key("lab 0"), "{}\n{}", out.stdout, out.stderr);
    let before = s.get("before").expect("before");
    assert!(before.contains("\"vx1\"") && before.contains("== namespace r2"));
    for (k, d) in changes.iter().enumerate() {
        let report = s
            .get(&format!("del{k} 1"))
            .unwrap_or_else(|| panic!("`{d}` did not fail: {:?}", s.keys()));
        assert!(report.contains("reversed:"), "`{d}`: {report}");
        assert!(!report.contains("could not undo"), "`{d}`: {report}");
        assert!(!report.contains("cannot be undone"), "`{d}`: {report}");
        assert_same(
            before,
            &s[&format!("after{k}")],
            &format!("after `{d}` and a rollback"),
        );
    }
}

#[test]
fn every_deletion_is_rebuilt_when_a_later_line_fails() {
    requires!(Root);
    assert_each_is_rebuilt(&[
        "link del br0",
        "link del a2 in r1",
        "link del a1",
        "netns del r1",
        "netns del r2",
        "neigh del 10.80.0.9 dev br0",
        "fdb del 02:00:00:00:00:07 dev vx1 dst 10.80.0.2",
        "addr del 10.80.0.1/24 dev br0",
        "netns del r1\nlink del br0\nnetns del r2",
    ]);
}

/// Down, an MTU below 1280, leaving a bridge or a new address make the kernel drop the link's
/// IPv6 addresses, routes and permanent neighbours: a rollback brings them back too.
#[test]
fn what_a_link_set_takes_with_it_is_rebuilt_when_a_later_line_fails() {
    requires!(Root);
    assert_each_is_rebuilt(&[
        "link set br0 down",
        "link set a2 down in r1",
        "link set br0 mtu 1200",
        "link set a1 nomaster",
        "link set br0 address 02:00:00:00:00:42",
    ]);
}

#[test]
fn a_deleted_device_netsh_cannot_make_is_reported_and_the_rest_is_rebuilt() {
    requires!(Root);
    let out = private(
        "ip link add ifb9 type ifb\n$NETSH -c 'netns add q1' 2>/dev/null\nip link add qv type veth peer name qp\nip link set qp netns q1\nrun del $NETSH -c 'link del ifb9\nnetns del q1\nlink set nofault0 up'\nip -br link; ip netns list",
    );
    let s = sections(&out.stdout);
    let del = s
        .get("del 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    assert!(
        del.contains(
            "cannot be undone: ip link del ifb9: ifb9: links of kind ifb are not made by netsh"
        ),
        "{del}"
    );
    // the namespace and the veth into it are rebuilt
    assert!(
        del.contains("undone: ip netns del q1, reversed: ip netns add q1"),
        "{del}"
    );
    assert!(del.contains("qv") && !del.contains("ifb9 "), "{del}");
    assert!(del.contains("q1"), "{del}");
}

/// The store's keys with their values and leases, read from the store file by the library.
fn store_keys(path: &std::path::Path) -> Vec<(String, String, Option<i64>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = netsh::store::EmbeddedStore::open(path)
            .await
            .expect("open the store");
        use netsh::store::Store;
        let snap = store.get_prefix("").await.expect("read the store");
        snap.kvs
            .into_iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    String::from_utf8_lossy(&kv.value).into_owned(),
                    kv.lease.map(|l| l.0),
                )
            })
            .collect()
    })
}

#[test]
fn keys_leases_and_overlays_of_a_failed_run_are_taken_back() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let lab = format!(
        "switch lan1
host docker1 on lan1 addr 10.10.10.101/24
host docker2 on lan1 addr 10.10.10.102/24
route add default via 10.10.10.254 in docker1
route add default via 10.10.10.254 in docker2
store embedded {d}/store.redb
network config '{{\"Network\":\"10.100.0.0/16\",\"Backend\":{{\"Type\":\"host-gw\"}}}}'
lease in docker2
overlay host-gw in docker2
"
    );
    // overwrites the config, takes a new lease (docker1) and one that replaces the lease docker2
    // holds from the first run (asked with another TTL, so it is not kept as it is), starts both
    // overlays (routes to each other's subnet), then fails
    let fail = format!(
        "store embedded {d}/store.redb
network config '{{\"Network\":\"10.100.0.0/16\",\"SubnetLen\":24,\"Backend\":{{\"Type\":\"host-gw\"}}}}'
lease in docker1
overlay host-gw in docker1
lease in docker2 ttl 600
overlay host-gw in docker2
expect reach 10.255.0.1 from docker1 timeout 0.2
"
    );
    // a config key that did not exist goes
    let fresh = format!(
        "store embedded {d}/fresh.redb
network config 10.200.0.0/16
lease in docker1
link set nofault0 up
"
    );
    std::fs::write(dir.path().join("lab.netsh"), lab).expect("write");
    std::fs::write(dir.path().join("fail.netsh"), fail).expect("write");
    std::fs::write(dir.path().join("fresh.netsh"), fresh).expect("write");
    let out = private(&format!(
        "cd {d}\nrun lab $NETSH lab.netsh\ncp store.redb before.redb\necho '--- before'; snap; cat /run/flannel/*/subnet.env\nrun fail $NETSH fail.netsh\ncp store.redb after.redb\necho '--- after'; snap; cat /run/flannel/*/subnet.env\nrun fresh $NETSH fresh.netsh\necho '--- fresh-env'; ls /run/flannel/docker1"
    ));
    let s = sections(&out.stdout);
    assert!(s.contains_key("lab 0"), "{}\n{}", out.stdout, out.stderr);
    let report = s
        .get("fail 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    for step in [
        "undone: stopped the overlay of docker1",
        "undone: released the lease on 10.100.",
        "undone: stopped the overlay of docker2",
        "undone: etcdctl put /coreos.com/network/config",
    ] {
        assert!(report.contains(step), "no `{step}` in {report}");
    }
    assert!(!report.contains("could not undo"), "{report}");
    let before = &s["before"];
    assert!(before.contains("FLANNEL_SUBNET"), "{before}");
    assert_same(before, &s["after"], "after the failed flannel run");
    let (b, a) = (
        store_keys(&dir.path().join("before.redb")),
        store_keys(&dir.path().join("after.redb")),
    );
    assert_eq!(b.len(), 2, "config and docker2's lease: {b:?}");
    assert_eq!(b, a, "the store after the rollback");
    let fresh = s
        .get("fresh 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    assert!(
        fresh.contains("undone: etcdctl del /coreos.com/network/config"),
        "{fresh}"
    );
    assert_eq!(store_keys(&dir.path().join("fresh.redb")), vec![]);
    assert!(
        !s["fresh-env"].contains("subnet.env"),
        "docker1's subnet.env is gone again: {}",
        s["fresh-env"]
    );
}

#[test]
fn a_removed_docker_network_comes_back_with_its_containers() {
    requires!(Root);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    std::fs::write(dir.path().join("snap.sh"), snap_functions()).expect("write");
    // the state is taken inside the run, before the transaction that removes the network
    let script = format!(
        "network create net1 driver bridge subnet 10.50.0.0/24
container c1 on net1
serve http 80 text hello in c1
exec \"sh -c 'sleep 0.5; . {d}/snap.sh; snap > {d}/before; true'\"
transaction {{
  network rm net1
  network create net2 driver bridge subnet 10.51.0.0/24
  container c2 on net2
  expect reach 10.255.0.1 from c1 timeout 0.2
}}
"
    );
    std::fs::write(dir.path().join("net.netsh"), script).expect("write");
    let out = private(&format!(
        "cd {d}\nrun net $NETSH --no-rollback net.netsh\necho '--- before'; cat before\nsleep 0.5; echo '--- after'; snap"
    ));
    let s = sections(&out.stdout);
    let report = s
        .get("net 1")
        .unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr));
    assert!(report.contains("forgot Docker network net2"), "{report}");
    assert!(
        report.contains("brought back Docker network net1"),
        "{report}"
    );
    assert!(report.contains("ip netns del c1, reversed"), "{report}");
    // a bridge made with its port in one go reports operstate UNKNOWN, one whose port was
    // added back later UP: the same working state
    let oper = |t: &str| t.replace("\"operstate\":\"UNKNOWN\"", "\"operstate\":\"UP\"");
    let before = oper(&s["before"]);
    assert!(before.contains("== namespace c1"), "{before}");
    assert_same(&before, &oper(&s["after"]), "after the transaction");
}
