//! A four-host vxlan lab on a real three-member etcd cluster (loopback), under --sandbox: the
//! leader is killed while the lab runs, then (with it back) a follower. Throughout, every lease is
//! renewed (etcd's remaining TTL goes back up, and the same lease IDs outlive several TTLs), a host
//! that asks after each kill is granted a lease, and every host's routes converge on everyone's
//! lease, with traffic crossing the overlay. The figures it prints are in docs/GUARANTEES.md.

mod util;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use util::etcd_cluster::EtcdCluster;
use util::running::Running;

/// The lease's TTL in the lab: renewed every 2 s, so a lost renewal shows within seconds.
const TTL: u64 = 6;

/// The lab and its checks; the script waits for `MARK1` after the first three hosts converge
/// (the test kills the leader then), and for `MARK2` after the fourth joins (a follower dies).
fn script(endpoints: &str, mark1: &str, mark2: &str) -> String {
    format!(
        r#"switch lan1
switch lan2
router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24
host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1
host docker2 on lan1 addr 10.10.10.102/24 gw 10.10.10.1
host docker3 on lan2 addr 192.168.50.101/24 gw 192.168.50.1
host docker4 on lan2 addr 192.168.50.102/24 gw 192.168.50.1
store etcd {endpoints}
network config '{{"Network":"10.100.0.0/16","Backend":{{"Type":"vxlan"}}}}'
let lease_of = 'sh -c ". /run/flannel/$0/subnet.env; printf %s ${{FLANNEL_SUBNET%.1/24}}"'
let first = [docker1, docker2, docker3]
for h in $first {{
  lease in $h ttl {TTL}
  overlay in $h
}}
for h in $first {{
  let l = exec "$lease_of $h"
  for p in $first {{
    if $p != $h {{
      expect route $l.0/24 via $l.0 dev flannel.1 in $p timeout 120
    }}
  }}
}}
echo "== three hosts converged"
expect file {mark1} timeout 900
lease in docker4 ttl {TTL}
overlay in docker4
let all = [docker1, docker2, docker3, docker4]
for h in $all {{
  let l = exec "$lease_of $h"
  for p in $all {{
    if $p != $h {{
      expect route $l.0/24 via $l.0 dev flannel.1 in $p timeout 120
      expect reach $l.0 from $p timeout 30
    }}
  }}
}}
echo "== four hosts converged after the leader died"
expect file {mark2} timeout 900
lease release in docker4
lease in docker4 ttl {TTL}
overlay in docker4
for h in $all {{
  let l = exec "$lease_of $h"
  for p in $all {{
    if $p != $h {{
      expect route $l.0/24 via $l.0 dev flannel.1 in $p timeout 120
      expect reach $l.0 from $p timeout 30
    }}
  }}
}}
echo "== four hosts converged after a follower died"
"#
    )
}

/// Lease IDs by the PublicIP of their key, as etcd holds them (asked of each endpoint in turn
/// until one answers: a member just killed refuses, an election may be under way).
async fn lease_ids(endpoints: &[String]) -> BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for ep in endpoints {
            let read = async {
                let mut c = etcd_client::Client::connect([ep.as_str()], None).await?;
                let options = etcd_client::GetOptions::new().with_prefix();
                c.get("/coreos.com/network/subnets/", Some(options)).await
            };
            if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(3), read).await {
                return r
                    .kvs()
                    .iter()
                    .filter_map(|kv| {
                        let v: serde_json::Value = serde_json::from_slice(kv.value()).ok()?;
                        Some((v["PublicIP"].as_str()?.to_string(), kv.lease()))
                    })
                    .collect();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no member of {endpoints:?} answered in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What watching the leases for a while showed.
struct Renewals {
    /// How often each lease's remaining TTL went back up.
    ups: BTreeMap<i64, usize>,
    /// The first time after the start every lease had gone back up at least once.
    all_renewed_after: Option<Duration>,
}

/// Samples each lease's remaining TTL for `window`; a lease gone is a failure.
async fn watch_renewals(endpoints: &[String], ids: &[i64], window: Duration) -> Renewals {
    let start = Instant::now();
    let mut client = etcd_client::Client::connect(endpoints, None)
        .await
        .expect("connect to the cluster");
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    let mut ups: BTreeMap<i64, usize> = ids.iter().map(|id| (*id, 0)).collect();
    let mut all_renewed_after = None;
    while start.elapsed() < window {
        for id in ids {
            // a member that just died makes a call fail: the next sample asks again
            let Ok(Ok(r)) =
                tokio::time::timeout(Duration::from_secs(2), client.lease_time_to_live(*id, None))
                    .await
            else {
                continue;
            };
            assert!(r.ttl() > 0, "lease {id:x} expired (TTL {})", r.ttl());
            if let Some(before) = last.insert(*id, r.ttl())
                && r.ttl() > before
            {
                *ups.entry(*id).or_default() += 1;
            }
        }
        if all_renewed_after.is_none() && ups.values().all(|n| *n > 0) {
            all_renewed_after = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Renewals {
        ups,
        all_renewed_after,
    }
}

fn check_renewed(what: &str, r: &Renewals, window: Duration) {
    // a leader change extends every lease once; renewals every TTL/3 make the rest
    let least = (window.as_secs() / (TTL / 3)) as usize / 2;
    for (id, n) in &r.ups {
        assert!(
            *n >= least.max(2),
            "{what}: lease {id:x} was renewed {n} times in {window:?}"
        );
    }
}

#[test]
fn a_vxlan_lab_rides_out_the_loss_of_the_leader_and_then_a_follower() {
    requires!(Root, Etcd);
    let mut cluster = EtcdCluster::start();
    let endpoints = cluster.endpoints();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mark1 = tmp.path().join("leader-killed");
    let mark2 = tmp.path().join("follower-killed");
    let mut run = Running::start(
        &["--sandbox"],
        &script(
            &endpoints.join(","),
            &mark1.display().to_string(),
            &mark2.display().to_string(),
        ),
    );
    run.wait_line("== three hosts converged", Duration::from_secs(300));
    let before = rt.block_on(lease_ids(&cluster.running_endpoints()));
    assert_eq!(before.len(), 3, "{before:?}\n{}", run.stdout);

    // the leader dies while the lab waits
    let leader = rt.block_on(cluster.wait_leader(Duration::from_secs(60)));
    let killed = Instant::now();
    cluster.kill(leader);
    let elected = rt.block_on(cluster.wait_leader(Duration::from_secs(60)));
    let election = killed.elapsed();
    assert_ne!(elected, leader);
    let window = Duration::from_secs(4 * TTL);
    let ids: Vec<i64> = before.values().copied().collect();
    let renewed = rt.block_on(watch_renewals(&cluster.running_endpoints(), &ids, window));
    check_renewed("after the leader died", &renewed, window);
    // nothing lost: the same leases, on the same keys, outlived four TTLs
    assert_eq!(rt.block_on(lease_ids(&cluster.running_endpoints())), before);

    // a host that asks now is granted a lease, and everyone converges on it
    run.release(&mark1);
    let asked = Instant::now();
    run.wait_line(
        "== four hosts converged after the leader died",
        Duration::from_secs(600),
    );
    let joined = asked.elapsed();
    let with_fourth = rt.block_on(lease_ids(&cluster.running_endpoints()));
    assert_eq!(with_fourth.len(), 4, "{with_fourth:?}");

    // the old leader comes back (a quorum needs two of three), then a follower dies
    cluster.restart(leader);
    let current = rt.block_on(cluster.wait_leader(Duration::from_secs(60)));
    let follower = (0..3)
        .find(|i| *i != current && cluster.members[*i].running())
        .expect("a follower");
    let killed2 = Instant::now();
    cluster.kill(follower);
    rt.block_on(cluster.wait_leader(Duration::from_secs(60)));
    let settled = killed2.elapsed();
    let ids: Vec<i64> = with_fourth.values().copied().collect();
    let renewed2 = rt.block_on(watch_renewals(&cluster.running_endpoints(), &ids, window));
    check_renewed("after a follower died", &renewed2, window);
    assert_eq!(
        rt.block_on(lease_ids(&cluster.running_endpoints())),
        with_fourth
    );

    // docker4 gives its lease back and asks again on the two members left
    run.release(&mark2);
    let asked2 = Instant::now();
    run.wait_line(
        "== four hosts converged after a follower died",
        Duration::from_secs(600),
    );
    let rejoined = asked2.elapsed();
    let done = run.finish(Duration::from_secs(120));
    assert_eq!(
        done.code,
        Some(0),
        "{}\n--- stderr\n{}",
        done.stdout,
        done.stderr
    );
    let after = rt.block_on(lease_ids(&cluster.running_endpoints()));
    assert_eq!(after.len(), 4, "{after:?}");
    for ip in ["10.10.10.101", "10.10.10.102", "192.168.50.101"] {
        assert_eq!(after.get(ip), before.get(ip), "{ip} kept its lease");
    }
    eprintln!(
        "figures: leader killed: new leader in {election:?}; every lease renewed within {:?} \
         (renewals per lease in {window:?}: {:?}); fourth host leased and converged in {joined:?}; \
         follower killed: leader confirmed in {settled:?}; every lease renewed within {:?} \
         ({:?}); fourth host leased again and converged in {rejoined:?}; leases kept: {}/{}",
        renewed.all_renewed_after,
        renewed.ups.values().collect::<Vec<_>>(),
        renewed2.all_renewed_after,
        renewed2.ups.values().collect::<Vec<_>>(),
        before
            .iter()
            .filter(|(ip, id)| after.get(*ip) == Some(id))
            .count(),
        before.len(),
    );
}
