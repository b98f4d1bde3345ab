//! The Store contract, run against the embedded store and a real etcd alike.

mod util;

use std::time::{Duration, Instant};

use futures::StreamExt;
use netsh::store::{EventKind, LeaseId, StoreError, WatchEvent, WatchStream};
use util::stores::Fixture;

both_stores!(
    put_get_and_revisions,
    prefix_reads_stay_in_their_prefix,
    a_catch_up_read_has_only_what_changed_since,
    create_only_when_absent,
    replace_only_when_unchanged,
    delete_reports_existence,
    lease_keep_alive_and_revoke,
    keep_alive_really_extends_the_lease,
    expired_keys_are_gone_even_with_nobody_watching,
    lease_expiry_deletes_keys_and_tells_watchers,
    watch_reports_changes_in_order,
    watch_replays_from_a_past_revision,
    racing_creates_have_one_winner,
    second_connection_sees_writes_and_wakes_watchers,
);

async fn next_event(watch: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected a watch event, got {other:?}"),
    }
}

async fn put_get_and_revisions(f: Fixture) {
    let s = &f.store;
    let r0 = s.revision().await.unwrap();
    assert!(s.get("/t/a").await.unwrap().is_none());
    let r1 = s.put("/t/a", b"one", None).await.unwrap();
    assert!(r1 > r0, "a put bumps the revision ({r0} -> {r1})");
    let r2 = s.put("/t/a", b"two", None).await.unwrap();
    assert!(r2 > r1);
    let kv = s.get("/t/a").await.unwrap().expect("key was put");
    assert_eq!(kv.value, b"two");
    assert_eq!(kv.create_revision, r1);
    assert_eq!(kv.mod_revision, r2);
    assert_eq!(kv.lease, None);
    assert_eq!(s.revision().await.unwrap(), r2);
}

async fn prefix_reads_stay_in_their_prefix(f: Fixture) {
    let s = &f.store;
    for key in [
        "/net/subnets/b",
        "/net/subnets/a",
        "/net/config",
        "/net/subnetsX",
        "/other",
    ] {
        s.put(key, key.as_bytes(), None).await.unwrap();
    }
    let snap = s.get_prefix("/net/subnets/").await.unwrap();
    let keys: Vec<_> = snap.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        ["/net/subnets/a", "/net/subnets/b"],
        "sorted, only the prefix"
    );
    assert_eq!(snap.revision, s.revision().await.unwrap());
    assert!(s.get_prefix("/nothing/").await.unwrap().kvs.is_empty());
}

async fn a_catch_up_read_has_only_what_changed_since(f: Fixture) {
    let s = &f.store;
    s.put("/c/a", b"1", None).await.unwrap();
    let seen = s.put("/c/b", b"1", None).await.unwrap();
    s.put("/c/a", b"2", None).await.unwrap();
    s.put("/c/c", b"1", None).await.unwrap();
    s.put("/d/x", b"1", None).await.unwrap();
    let snap = s.get_prefix_since("/c/", seen + 1).await.unwrap();
    let keys: Vec<_> = snap.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        ["/c/a", "/c/c"],
        "changed after `seen`, in the prefix"
    );
    assert_eq!(snap.kvs[0].value, b"2");
    assert_eq!(snap.revision, s.revision().await.unwrap());
}

async fn create_only_when_absent(f: Fixture) {
    let s = &f.store;
    let created = s.create("/t/k", b"first", None).await.unwrap();
    assert!(created.is_some());
    assert_eq!(s.create("/t/k", b"second", None).await.unwrap(), None);
    assert_eq!(s.get("/t/k").await.unwrap().unwrap().value, b"first");
    // Gone again, it can be created again.
    assert!(s.delete("/t/k").await.unwrap());
    assert!(s.create("/t/k", b"third", None).await.unwrap().is_some());
}

async fn replace_only_when_unchanged(f: Fixture) {
    let s = &f.store;
    assert_eq!(
        s.replace("/t/r", b"x", None, 0).await.unwrap(),
        None,
        "no key, no replace"
    );
    let rev = s.put("/t/r", b"v1", None).await.unwrap();
    let newer = s.replace("/t/r", b"v2", None, rev).await.unwrap();
    assert!(newer.is_some());
    assert_eq!(
        s.replace("/t/r", b"v3", None, rev).await.unwrap(),
        None,
        "stale revision"
    );
    assert_eq!(s.get("/t/r").await.unwrap().unwrap().value, b"v2");
}

async fn delete_reports_existence(f: Fixture) {
    let s = &f.store;
    s.put("/t/d", b"x", None).await.unwrap();
    assert!(s.delete("/t/d").await.unwrap());
    assert!(!s.delete("/t/d").await.unwrap());
    assert!(s.get("/t/d").await.unwrap().is_none());
}

async fn lease_keep_alive_and_revoke(f: Fixture) {
    let s = &f.store;
    let lease = s.grant(Duration::from_secs(30)).await.unwrap();
    assert!(lease.ttl >= Duration::from_secs(30));
    s.put("/t/leased", b"x", Some(lease.id)).await.unwrap();
    s.put("/t/free", b"x", None).await.unwrap();
    assert_eq!(
        s.get("/t/leased").await.unwrap().unwrap().lease,
        Some(lease.id)
    );
    let ttl = s.keep_alive(lease.id).await.unwrap();
    assert!(
        ttl >= Duration::from_secs(29),
        "renewed to its full TTL, got {ttl:?}"
    );
    s.revoke(lease.id).await.unwrap();
    assert!(
        s.get("/t/leased").await.unwrap().is_none(),
        "revoke deletes the lease's keys"
    );
    assert!(s.get("/t/free").await.unwrap().is_some(), "and only those");
    match s.keep_alive(lease.id).await {
        Err(StoreError::LeaseNotFound(id)) => assert_eq!(id, lease.id),
        other => panic!("keep-alive of a revoked lease must fail, got {other:?}"),
    }
    match s.put("/t/late", b"x", Some(lease.id)).await {
        Err(StoreError::LeaseNotFound(_)) => {}
        other => panic!("a put on a revoked lease must fail, got {other:?}"),
    }
    s.revoke(LeaseId(lease.id.0))
        .await
        .expect("revoking twice is harmless");
}

async fn keep_alive_really_extends_the_lease(f: Fixture) {
    let s = &f.store;
    let lease = s.grant(Duration::from_secs(2)).await.unwrap();
    s.put("/t/kept", b"x", Some(lease.id)).await.unwrap();
    // Renew every second for well past the TTL: the key must stay.
    let until = Instant::now() + lease.ttl + Duration::from_secs(2);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(700)).await;
        s.keep_alive(lease.id).await.expect("still alive");
        assert!(
            s.get("/t/kept").await.unwrap().is_some(),
            "renewed key vanished"
        );
    }
}

async fn expired_keys_are_gone_even_with_nobody_watching(f: Fixture) {
    let s = &f.store;
    let lease = s.grant(Duration::from_secs(1)).await.unwrap();
    s.put("/x/ttl", b"x", Some(lease.id)).await.unwrap();
    s.put("/x/stays", b"x", None).await.unwrap();
    let deadline = Instant::now() + lease.ttl + Duration::from_secs(4);
    while s.get("/x/ttl").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the key outlived its lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let keys: Vec<_> = s
        .get_prefix("/x/")
        .await
        .unwrap()
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(keys, ["/x/stays"]);
}

async fn lease_expiry_deletes_keys_and_tells_watchers(f: Fixture) {
    let s = &f.store;
    let lease = s.grant(Duration::from_secs(1)).await.unwrap();
    let mut watch = s.watch_prefix("/t/", None).await.unwrap();
    s.put("/t/ttl", b"x", Some(lease.id)).await.unwrap();
    let put = next_event(&mut watch).await;
    assert_eq!((put.kind, put.key.as_str()), (EventKind::Put, "/t/ttl"));
    let started = Instant::now();
    let gone = next_event(&mut watch).await;
    assert_eq!(
        (gone.kind, gone.key.as_str()),
        (EventKind::Delete, "/t/ttl")
    );
    assert!(gone.revision > put.revision);
    assert!(s.get("/t/ttl").await.unwrap().is_none());
    // The server may round a short TTL up (etcd's minimum is about 2 s), never down.
    let waited = started.elapsed();
    assert!(
        waited < lease.ttl + Duration::from_secs(4),
        "expired after {waited:?}"
    );
    assert!(matches!(
        s.keep_alive(lease.id).await,
        Err(StoreError::LeaseNotFound(_))
    ));
}

async fn watch_reports_changes_in_order(f: Fixture) {
    let s = &f.store;
    let mut watch = s.watch_prefix("/w/", None).await.unwrap();
    let r1 = s.put("/w/a", b"1", None).await.unwrap();
    s.put("/elsewhere", b"x", None).await.unwrap();
    let r2 = s.put("/w/b", b"2", None).await.unwrap();
    s.delete("/w/a").await.unwrap();
    let e1 = next_event(&mut watch).await;
    assert_eq!(
        (e1.kind, e1.key.as_str(), e1.value.as_slice(), e1.revision),
        (EventKind::Put, "/w/a", &b"1"[..], r1)
    );
    let e2 = next_event(&mut watch).await;
    assert_eq!(
        (e2.kind, e2.key.as_str(), e2.revision),
        (EventKind::Put, "/w/b", r2)
    );
    let e3 = next_event(&mut watch).await;
    assert_eq!((e3.kind, e3.key.as_str()), (EventKind::Delete, "/w/a"));
    assert!(e3.revision > r2);
}

async fn watch_replays_from_a_past_revision(f: Fixture) {
    let s = &f.store;
    let r1 = s.put("/w/x", b"1", None).await.unwrap();
    s.put("/w/x", b"2", None).await.unwrap();
    let mut watch = s.watch_prefix("/w/", Some(r1)).await.unwrap();
    assert_eq!(next_event(&mut watch).await.value, b"1");
    assert_eq!(next_event(&mut watch).await.value, b"2");
}

async fn racing_creates_have_one_winner(f: Fixture) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store.create("/race", format!("{i}").as_bytes(), None).await
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn second_connection_sees_writes_and_wakes_watchers(f: Fixture) {
    let other = f.reopen().await;
    let mut watch = f.store.watch_prefix("/shared/", None).await.unwrap();
    other.put("/shared/k", b"from-other", None).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(
        (event.key.as_str(), event.value.as_slice()),
        ("/shared/k", &b"from-other"[..])
    );
    assert_eq!(
        f.store.get("/shared/k").await.unwrap().unwrap().value,
        b"from-other"
    );
}
