//! Leases against both stores: flannel's keys and values, subnet choice, races, renew, release,
//! and the lease watch the overlays follow.

mod util;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use futures::StreamExt;
use ipnet::Ipv4Net;
use netsh::flannel::{LeaseError, LeaseEvent, LeaseOrigin, LeaseRequest, NetworkConfig, Registry};
use netsh::ops::BackendType;
use util::stores::Fixture;

both_stores!(
    config_is_stored_as_written_and_checked,
    lease_is_written_as_flannel_writes_it,
    same_public_ip_gets_its_lease_back,
    a_hosts_lease_as_it_would_write_it_is_kept_without_a_write,
    previous_subnet_is_taken_when_free,
    racing_hosts_never_share_a_subnet,
    race_for_the_last_subnet_has_one_winner,
    renew_notices_a_lost_lease,
    release_frees_the_subnet,
    a_subnet_freed_elsewhere_is_found_when_the_range_looks_full,
    flanneld_written_lease_is_read_and_reused,
    watch_reports_leases_coming_and_going,
    dual_stack_leases_carry_both_subnets,
);

const PREFIX: &str = "/coreos.com/network";

fn host(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 168, 0, 0)) + n)
}

async fn next_event(events: &mut netsh::flannel::LeaseEvents) -> LeaseEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("a lease event in time")
        .expect("stream open")
        .expect("no store error")
}

async fn registry(f: &Fixture, config: &str) -> (Registry, NetworkConfig) {
    let registry = Registry::new(f.store.clone(), None);
    let config = registry.set_config(config).await.expect("store config");
    (registry, config)
}

async fn config_is_stored_as_written_and_checked(f: Fixture) {
    let r = Registry::new(f.store.clone(), Some("/my/net/"));
    match r.config().await {
        Err(LeaseError::NoConfig { key }) => assert_eq!(key, "/my/net/config"),
        other => panic!("expected no config, got {other:?}"),
    }
    let text = r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan"}}"#;
    r.set_config(text).await.unwrap();
    let raw = f.store.get("/my/net/config").await.unwrap().unwrap();
    assert_eq!(raw.value, text.as_bytes(), "stored as written");
    let (config, shown) = r.config().await.unwrap();
    assert_eq!((config.subnet_len, shown.as_str()), (24, text));
    let bad = r
        .set_config(r#"{"Network": "10.1.0.0/16", "SubnetLen": 33}"#)
        .await;
    assert!(matches!(bad, Err(LeaseError::BadConfig { .. })), "{bad:?}");
    assert_eq!(
        f.store.get("/my/net/config").await.unwrap().unwrap().value,
        text.as_bytes(),
        "a bad config is not stored"
    );
}

async fn lease_is_written_as_flannel_writes_it(f: Fixture) {
    let (r, config) = registry(
        &f,
        r#"{"Network": "10.100.0.0/16", "Backend": {"Type": "vxlan"}}"#,
    )
    .await;
    let mut request = LeaseRequest::new("10.10.10.101".parse().unwrap(), BackendType::Vxlan);
    request.backend_data = Some(serde_json::json!({"VNI": 1, "VtepMAC": "0e:5c:8a:1f:22:01"}));
    let acquired = r.acquire(&config, &request).await.unwrap();
    assert_eq!(acquired.origin, LeaseOrigin::New);
    let sn = acquired.lease.subnet;
    assert_eq!(sn.prefix_len(), 24);
    assert!(config.network.unwrap().contains(&sn));
    assert_ne!(
        sn.network(),
        Ipv4Addr::new(10, 100, 0, 0),
        "the first subnet is never leased"
    );
    let key = format!("{PREFIX}/subnets/{}-24", sn.network());
    let kv = f.store.get(&key).await.unwrap().expect("lease key exists");
    assert_eq!(
        kv.value_str().unwrap(),
        r#"{"PublicIP":"10.10.10.101","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:5c:8a:1f:22:01"}}"#
    );
    assert!(kv.lease.is_some(), "the key hangs on a TTL lease");
    let ttl = acquired.ttl.expect("a TTL lease");
    assert!(ttl >= Duration::from_secs(24 * 3600), "24 h, got {ttl:?}");
}

async fn same_public_ip_gets_its_lease_back(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let request = LeaseRequest::new(host(1), BackendType::Udp);
    let first = r.acquire(&config, &request).await.unwrap();
    let again = r.acquire(&config, &request).await.unwrap();
    assert_eq!(again.origin, LeaseOrigin::Reused);
    assert_eq!(again.lease.subnet, first.lease.subnet);
    assert_eq!(r.leases().await.unwrap().len(), 1);
    // The old TTL lease no longer holds the key: the key moved to the new one.
    assert_ne!(again.lease.store_lease, first.lease.store_lease);
    r.renew(&again).await.expect("the reused lease renews");
}

/// A re-run finds this host's lease as it would write it: `keep` renews its TTL and writes
/// nothing (same key, value, revision and TTL lease), also after an overlay published its
/// backend data in it. A lease that must change is not kept: another backend type, other
/// backend data, another TTL, one that no longer fits the config, another PublicIP's.
async fn a_hosts_lease_as_it_would_write_it_is_kept_without_a_write(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let request = LeaseRequest::new(host(1), BackendType::Vxlan);
    let first = r.acquire(&config, &request).await.unwrap();
    // the overlay publishes its VTEP in the lease
    let key = first.lease.key.clone();
    let published = format!(
        r#"{{"PublicIP":"{}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{{"VNI":1,"VtepMAC":"0e:8f:1a:2b:3c:4d"}}}}"#,
        host(1)
    );
    f.store
        .put(&key, published.as_bytes(), first.lease.store_lease)
        .await
        .unwrap();
    let before = f.store.get(&key).await.unwrap().unwrap();
    let revision = f.store.revision().await.unwrap();

    let kept = r
        .keep(&config, &request)
        .await
        .unwrap()
        .expect("this host's lease is kept");
    assert_eq!(kept.origin, LeaseOrigin::Kept);
    assert_eq!(kept.lease.subnet, first.lease.subnet);
    assert_eq!(kept.lease.store_lease, first.lease.store_lease);
    assert_eq!(kept.lease.mod_revision, before.mod_revision);
    assert!(
        kept.ttl
            .is_some_and(|t| t >= Duration::from_secs(23 * 3600))
    );
    assert_eq!(
        f.store.get(&key).await.unwrap(),
        Some(before.clone()),
        "the key as it was"
    );
    assert_eq!(
        f.store.revision().await.unwrap(),
        revision,
        "nothing was written"
    );
    r.renew(&kept).await.expect("the kept lease renews");

    let mut other = request.clone();
    other.backend_type = "udp".into();
    assert_eq!(
        r.keep(&config, &other).await.unwrap(),
        None,
        "another backend"
    );
    let mut other = request.clone();
    other.backend_data = Some(serde_json::json!({"VNI": 1, "VtepMAC": "0e:00:00:00:00:01"}));
    assert_eq!(r.keep(&config, &other).await.unwrap(), None, "other data");
    let mut other = request.clone();
    other.ttl = Duration::from_secs(600);
    assert_eq!(r.keep(&config, &other).await.unwrap(), None, "another TTL");
    let narrow = NetworkConfig::parse(r#"{"Network": "10.200.0.0/16"}"#).unwrap();
    assert_eq!(
        r.keep(&narrow, &request).await.unwrap(),
        None,
        "out of the Network"
    );
    let stranger = LeaseRequest::new(host(2), BackendType::Vxlan);
    assert_eq!(r.keep(&config, &stranger).await.unwrap(), None, "no lease");
    assert_eq!(
        f.store.get(&key).await.unwrap(),
        Some(before),
        "still as it was"
    );
}

async fn previous_subnet_is_taken_when_free(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let wanted: Ipv4Net = "10.100.77.0/24".parse().unwrap();
    let mut request = LeaseRequest::new(host(1), BackendType::Udp);
    request.previous_subnet = Some(wanted);
    let got = r.acquire(&config, &request).await.unwrap();
    assert_eq!(
        (got.lease.subnet, got.origin),
        (wanted, LeaseOrigin::Previous)
    );
    // Held by host 1 now, so host 2 with the same subnet.env gets another one.
    let mut other = LeaseRequest::new(host(2), BackendType::Udp);
    other.previous_subnet = Some(wanted);
    let got = r.acquire(&config, &other).await.unwrap();
    assert_eq!(got.origin, LeaseOrigin::New);
    assert_ne!(got.lease.subnet, wanted);
    // A previous subnet outside SubnetMin..SubnetMax is ignored.
    let mut outside = LeaseRequest::new(host(3), BackendType::Udp);
    outside.previous_subnet = Some("10.100.0.0/24".parse().unwrap());
    assert_eq!(
        r.acquire(&config, &outside).await.unwrap().origin,
        LeaseOrigin::New
    );
}

async fn racing_hosts_never_share_a_subnet(f: Fixture) {
    // 24 subnets for 24 hosts: every host must get one, and no two the same.
    let (r, config) = registry(
        &f,
        r#"{"Network": "10.50.0.0/16", "SubnetMin": "10.50.1.0", "SubnetMax": "10.50.24.0"}"#,
    )
    .await;
    let mut tasks = Vec::new();
    for n in 0..24 {
        let (r, config) = (r.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            r.acquire(&config, &LeaseRequest::new(host(n), BackendType::Vxlan))
                .await
        }));
    }
    let mut subnets = HashSet::new();
    for t in tasks {
        let lease = t.await.unwrap().expect("every host gets a subnet");
        assert!(
            subnets.insert(lease.lease.subnet),
            "{} given twice",
            lease.lease.subnet
        );
    }
    let stored: HashSet<_> = r.leases().await.unwrap().iter().map(|l| l.subnet).collect();
    assert_eq!(stored, subnets);
}

async fn race_for_the_last_subnet_has_one_winner(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.5.0.0/23"}"#).await; // three /25s
    for n in 0..2 {
        r.acquire(&config, &LeaseRequest::new(host(n), BackendType::Udp))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for n in 10..30 {
        let (r, config) = (r.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            r.acquire(&config, &LeaseRequest::new(host(n), BackendType::Udp))
                .await
        }));
    }
    let (mut won, mut out) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(LeaseError::OutOfSubnets { held, total, .. }) => {
                assert_eq!((held, total), (3, 3));
                out += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((won, out), (1, 19));
    let e = r
        .acquire(&config, &LeaseRequest::new(host(99), BackendType::Udp))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("out of subnets") && e.contains("10.5.0.128/25 to 10.5.1.128/25"),
        "{e}"
    );
}

async fn renew_notices_a_lost_lease(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let a = r
        .acquire(&config, &LeaseRequest::new(host(1), BackendType::Udp))
        .await
        .unwrap();
    assert!(r.renew(&a).await.unwrap().is_some());
    f.store.delete(&a.lease.key).await.unwrap();
    assert!(
        matches!(r.renew(&a).await, Err(LeaseError::Lost { .. })),
        "deleted behind our back"
    );
    let b = r
        .acquire(&config, &LeaseRequest::new(host(2), BackendType::Udp))
        .await
        .unwrap();
    f.store.revoke(b.lease.store_lease.unwrap()).await.unwrap();
    let e = r.renew(&b).await.unwrap_err();
    assert!(matches!(e, LeaseError::Lost { .. }), "{e}");
    assert!(e.to_string().contains(&b.lease.subnet.to_string()));
}

async fn release_frees_the_subnet(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let a = r
        .acquire(&config, &LeaseRequest::new(host(1), BackendType::Udp))
        .await
        .unwrap();
    assert!(r.release(&a).await.unwrap());
    assert!(f.store.get(&a.lease.key).await.unwrap().is_none());
    assert!(r.leases().await.unwrap().is_empty());
    assert!(
        !r.release(&a).await.unwrap(),
        "releasing twice finds nothing"
    );
}

/// A registry catches up on what others wrote without seeing deletes (src/flannel/view.rs): a
/// subnet another host released must still be found once the range looks full to it.
async fn a_subnet_freed_elsewhere_is_found_when_the_range_looks_full(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.5.0.0/23"}"#).await; // three /25s
    let other = Registry::new(f.store.clone(), Some(PREFIX));
    let mut held = Vec::new();
    for n in 0..3 {
        let reg = if n == 0 { &other } else { &r };
        let l = reg
            .acquire(&config, &LeaseRequest::new(host(n), BackendType::Udp))
            .await
            .unwrap();
        held.push(l);
    }
    // r's view holds all three; the other host gives its subnet back behind r's back
    assert!(other.release(&held[0]).await.unwrap());
    let again = r
        .acquire(&config, &LeaseRequest::new(host(7), BackendType::Udp))
        .await
        .unwrap();
    assert_eq!(again.lease.subnet, held[0].lease.subnet);
    let e = r
        .acquire(&config, &LeaseRequest::new(host(8), BackendType::Udp))
        .await
        .unwrap_err();
    assert!(matches!(e, LeaseError::OutOfSubnets { held: 3, .. }), "{e}");
}

async fn flanneld_written_lease_is_read_and_reused(f: Fixture) {
    let (r, config) = registry(
        &f,
        r#"{"Network": "10.100.0.0/16", "Backend": {"Type": "vxlan"}}"#,
    )
    .await;
    // Exactly what flanneld v0.2x puts, under its own TTL lease.
    let flanneld = r#"{"PublicIP":"10.10.10.101","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"7a:1b:2c:3d:4e:5f"}}"#;
    let lease = f.store.grant(Duration::from_secs(3600)).await.unwrap();
    let key = format!("{PREFIX}/subnets/10.100.15.0-24");
    f.store
        .put(&key, flanneld.as_bytes(), Some(lease.id))
        .await
        .unwrap();
    f.store
        .put(&format!("{PREFIX}/subnets/not-a-subnet"), b"{}", None)
        .await
        .unwrap();
    let leases = r.leases().await.unwrap();
    assert_eq!(leases.len(), 1, "non-subnet keys are skipped");
    let l = &leases[0];
    assert_eq!(l.subnet, "10.100.15.0/24".parse::<Ipv4Net>().unwrap());
    assert_eq!(l.attrs.public_ip, Ipv4Addr::new(10, 10, 10, 101));
    assert_eq!(l.attrs.backend_type, "vxlan");
    assert_eq!(
        l.attrs.backend_data.as_ref().unwrap()["VtepMAC"],
        "7a:1b:2c:3d:4e:5f"
    );
    assert_eq!(l.attrs.to_json(), flanneld, "re-serialises byte for byte");
    // The host that was running flanneld switches to netsh: it gets its subnet back.
    let mut request = LeaseRequest::new("10.10.10.101".parse().unwrap(), BackendType::Vxlan);
    request.backend_data = Some(serde_json::json!({"VNI": 1, "VtepMAC": "7a:1b:2c:3d:4e:5f"}));
    let got = r.acquire(&config, &request).await.unwrap();
    assert_eq!(
        (got.lease.subnet, got.origin),
        (l.subnet, LeaseOrigin::Reused)
    );
    assert_eq!(
        f.store.get(&key).await.unwrap().unwrap().value,
        flanneld.as_bytes()
    );
}

async fn watch_reports_leases_coming_and_going(f: Fixture) {
    let (r, config) = registry(&f, r#"{"Network": "10.100.0.0/16"}"#).await;
    let first = r
        .acquire(&config, &LeaseRequest::new(host(1), BackendType::Udp))
        .await
        .unwrap();
    let (existing, mut events) = r.watch_leases().await.unwrap();
    assert_eq!(existing.len(), 1);
    assert_eq!(existing[0].subnet, first.lease.subnet);
    let second = r
        .acquire(&config, &LeaseRequest::new(host(2), BackendType::Udp))
        .await
        .unwrap();
    match next_event(&mut events).await {
        LeaseEvent::Added(l) => {
            assert_eq!(l.subnet, second.lease.subnet);
            assert_eq!(l.attrs.public_ip, host(2));
        }
        other => panic!("expected the new lease, got {other:?}"),
    }
    r.release(&first).await.unwrap();
    let event = next_event(&mut events).await;
    assert_eq!(
        event,
        LeaseEvent::Removed {
            subnet: first.lease.subnet,
            ipv6_subnet: None
        }
    );
}

async fn dual_stack_leases_carry_both_subnets(f: Fixture) {
    let (r, config) = registry(
        &f,
        r#"{"Network": "10.7.0.0/16", "EnableIPv6": true, "IPv6Network": "fc00:7::/48", "Backend": {"Type": "vxlan"}}"#,
    )
    .await;
    let mut request = LeaseRequest::new(host(1), BackendType::Vxlan);
    request.public_ipv6 = Some("2001:db8::1".parse().unwrap());
    let a = r.acquire(&config, &request).await.unwrap();
    let sn6 = a.lease.ipv6_subnet.expect("an IPv6 subnet too");
    assert_eq!(sn6.prefix_len(), 64);
    assert!(
        "fc00:7::/48"
            .parse::<ipnet::Ipv6Net>()
            .unwrap()
            .contains(&sn6)
    );
    let key = format!(
        "{PREFIX}/subnets/{}-24&{}-64",
        a.lease.subnet.network(),
        sn6.network()
    );
    assert_eq!(a.lease.key, key);
    let kv = f
        .store
        .get(&key)
        .await
        .unwrap()
        .expect("dual-stack key as flannel writes it");
    assert!(
        kv.value_str()
            .unwrap()
            .starts_with(r#"{"PublicIP":"192.168.0.1","PublicIPv6":"2001:db8::1","#)
    );
    let b = r
        .acquire(
            &config,
            &LeaseRequest {
                public_ipv6: Some("2001:db8::2".parse().unwrap()),
                ..LeaseRequest::new(host(2), BackendType::Vxlan)
            },
        )
        .await
        .unwrap();
    assert_ne!(
        b.lease.ipv6_subnet,
        Some(sn6),
        "IPv6 subnets are not shared either"
    );
    let again = r.acquire(&config, &request).await.unwrap();
    assert_eq!(
        (again.origin, again.lease.ipv6_subnet),
        (LeaseOrigin::Reused, Some(sn6))
    );
}
