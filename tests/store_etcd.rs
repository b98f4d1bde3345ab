//! What only the etcd store has: auth, TLS, endpoint failover, a clear error when etcd is down,
//! and watches that survive an etcd restart.

mod util;

use std::time::{Duration, Instant};

use std::sync::Arc;

use futures::StreamExt;
use netsh::flannel::{LeaseEvent, LeaseRequest, Registry};
use netsh::ops::BackendType;
use netsh::store::{EtcdAuth, EtcdOptions, EtcdStore, EtcdTls, EventKind, Store, StoreError};
use util::etcd::{EtcdServer, free_port};

fn options(endpoints: &[String]) -> EtcdOptions {
    let mut o = EtcdOptions::new(endpoints.iter().cloned());
    o.connect_timeout = Duration::from_secs(5);
    o.connect_rounds = 2;
    o
}

#[test]
fn a_wrong_password_is_said_as_such_by_the_store_statement() {
    requires!(Etcd);
    let server = EtcdServer::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut admin = etcd_client::Client::connect([server.endpoint()], None)
            .await
            .unwrap();
        admin.user_add("root", "pw", None).await.unwrap();
        admin.user_grant_role("root", "root").await.unwrap();
        admin.auth_enable().await.unwrap();
    });
    let out = util::Netsh::new()
        .script(format!(
            "store etcd {} user root password nope\nshow config\n",
            server.endpoint()
        ))
        .run()
        .code(1)
        .stderr_has("authentication failed for user `root`");
    assert!(
        !out.stderr.contains("no endpoint answered"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_with_user_and_password() {
    requires!(Etcd);
    let server = EtcdServer::start();
    // Turn auth on the way an operator would: a root user with the root role, then enable.
    let mut admin = etcd_client::Client::connect([server.endpoint()], None)
        .await
        .unwrap();
    admin.user_add("root", "s3cret", None).await.unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin.auth_enable().await.unwrap();

    let mut anonymous = options(&[server.endpoint()]);
    anonymous.connect_rounds = 1;
    match EtcdStore::connect(anonymous).await {
        Ok(store) => {
            let e = store.put("/a/k", b"v", None).await.unwrap_err().to_string();
            assert!(
                e.contains("user name is empty") || e.contains("permission denied"),
                "{e}"
            );
        }
        Err(e) => assert!(e.to_string().contains(&server.endpoint())),
    }

    let mut wrong = options(&[server.endpoint()]);
    wrong.auth = Some(EtcdAuth {
        user: "root".into(),
        password: "nope".into(),
    });
    // the default rounds: a refused password is said at once, not retried as if etcd were down
    let e = EtcdStore::connect(wrong)
        .await
        .err()
        .expect("a wrong password is refused");
    assert!(matches!(e, StoreError::AuthFailed { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("authentication failed for user `root`"), "{e}");
    assert!(!e.contains("no endpoint answered"), "{e}");

    let mut right = options(&[server.endpoint()]);
    right.auth = Some(EtcdAuth {
        user: "root".into(),
        password: "s3cret".into(),
    });
    let store = EtcdStore::connect(right)
        .await
        .expect("the right password works");
    store.put("/a/k", b"v", None).await.unwrap();
    assert_eq!(store.get("/a/k").await.unwrap().unwrap().value, b"v");
    let lease = store.grant(Duration::from_secs(30)).await.unwrap();
    assert!(
        store
            .create("/a/leased", b"v", Some(lease.id))
            .await
            .unwrap()
            .is_some()
    );

    // The usual flannel set-up: a user that may only touch the flannel prefix.
    let mut admin = etcd_client::Client::connect(
        [server.endpoint()],
        Some(etcd_client::ConnectOptions::new().with_user("root", "s3cret")),
    )
    .await
    .unwrap();
    admin.role_add("flannel").await.unwrap();
    let perm = etcd_client::Permission::read_write("/coreos.com/network/").with_prefix();
    admin.role_grant_permission("flannel", perm).await.unwrap();
    admin.user_add("flannel", "fl4nnel", None).await.unwrap();
    admin.user_grant_role("flannel", "flannel").await.unwrap();
    let mut limited = options(&[server.endpoint()]);
    limited.auth = Some(EtcdAuth {
        user: "flannel".into(),
        password: "fl4nnel".into(),
    });
    let store: Arc<dyn Store> = Arc::new(EtcdStore::connect(limited).await.unwrap());
    let registry = Registry::new(store.clone(), None);
    let config = registry
        .set_config(r#"{"Network": "10.9.0.0/16"}"#)
        .await
        .unwrap();
    let (_, mut events) = registry
        .watch_leases()
        .await
        .expect("watch within the prefix");
    let request = LeaseRequest::new("10.0.0.9".parse().unwrap(), BackendType::Udp);
    let lease = registry
        .acquire(&config, &request)
        .await
        .expect("lease as a limited user");
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(event, LeaseEvent::Added(l) if l.subnet == lease.lease.subnet));
    registry.renew(&lease).await.unwrap();
    registry.release(&lease).await.unwrap();
    assert!(store.revision().await.expect("revision as a limited user") > 1);
    let denied = store
        .put("/elsewhere", b"v", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(denied.contains("permission denied"), "{denied}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_compacted_history_is_refused() {
    requires!(Etcd);
    let server = EtcdServer::start();
    let store = EtcdStore::connect(options(&[server.endpoint()]))
        .await
        .unwrap();
    let old = store.put("/c/k", b"1", None).await.unwrap();
    let newer = store.put("/c/k", b"2", None).await.unwrap();
    let mut admin = etcd_client::Client::connect([server.endpoint()], None)
        .await
        .unwrap();
    admin.compact(newer, None).await.unwrap();
    match store.watch_prefix("/c/", Some(old)).await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!((requested, oldest), (old, newer));
        }
        Err(e) => panic!("expected Compacted, got {e}"),
        Ok(_) => panic!("expected Compacted, got a watch"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    requires!(Etcd);
    let server = EtcdServer::start_tls();
    let files = server.tls().unwrap();
    let mut with_cert = options(&[server.endpoint()]);
    with_cert.tls = Some(EtcdTls {
        ca: Some(files.ca.clone()),
        cert: Some(files.client_cert.clone()),
        key: Some(files.client_key.clone()),
    });
    let store = EtcdStore::connect(with_cert).await.expect("TLS connect");
    store.put("/tls/k", b"v", None).await.unwrap();
    assert_eq!(store.get("/tls/k").await.unwrap().unwrap().value, b"v");

    // Without a client certificate the server (--client-cert-auth) refuses us.
    let mut no_cert = options(&[server.endpoint()]);
    no_cert.connect_rounds = 1;
    no_cert.tls = Some(EtcdTls {
        ca: Some(files.ca.clone()),
        cert: None,
        key: None,
    });
    assert!(EtcdStore::connect(no_cert).await.is_err());

    let mut half = options(&[server.endpoint()]);
    half.tls = Some(EtcdTls {
        ca: None,
        cert: Some(files.client_cert.clone()),
        key: None,
    });
    let e = EtcdStore::connect(half).await.err().unwrap().to_string();
    assert!(e.contains("both `cert` and `key`"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_skipped() {
    requires!(Etcd);
    let server = EtcdServer::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let store = EtcdStore::connect(options(&[dead.clone(), server.endpoint()]))
        .await
        .expect("the live endpoint is found");
    assert_eq!(store.endpoint().await, server.endpoint());
    store.put("/f/k", b"v", None).await.unwrap();
    assert!(store.describe().contains(&dead));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_over_when_the_endpoint_in_use_dies() {
    requires!(Etcd);
    // Two single-node servers stand in for two members of one cluster: what is checked is that
    // calls move to the next endpoint, not replication.
    let mut first = EtcdServer::start();
    let second = EtcdServer::start();
    let store = EtcdStore::connect(options(&[first.endpoint(), second.endpoint()]))
        .await
        .unwrap();
    assert_eq!(store.endpoint().await, first.endpoint());
    store.put("/fo/k", b"1", None).await.unwrap();
    first.stop();
    store
        .put("/fo/k", b"2", None)
        .await
        .expect("the call moved to the other endpoint");
    assert_eq!(store.endpoint().await, second.endpoint());
    assert_eq!(store.get("/fo/k").await.unwrap().unwrap().value, b"2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_down_at_start_names_the_endpoints() {
    let endpoints = [
        format!("http://127.0.0.1:{}", free_port()),
        format!("http://127.0.0.1:{}", free_port()),
    ];
    let started = Instant::now();
    let e = EtcdStore::connect(options(&endpoints))
        .await
        .err()
        .expect("nothing listens");
    let took = started.elapsed();
    let text = e.to_string();
    for endpoint in &endpoints {
        assert!(text.contains(endpoint.as_str()), "{text}");
    }
    assert!(text.contains("after 2 rounds"), "{text}");
    assert!(matches!(e, StoreError::Etcd { .. }));
    assert!(
        took < Duration::from_secs(10),
        "bounded retries, took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_writes_resume_after_etcd_restarts() {
    requires!(Etcd);
    let mut server = EtcdServer::start();
    let store = EtcdStore::connect(options(&[server.endpoint()]))
        .await
        .unwrap();
    let mut watch = store.watch_prefix("/r/", None).await.unwrap();
    store.put("/r/before", b"1", None).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.key, "/r/before");

    server.restart();
    // The first call after the restart may need a reconnect; it must get through.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match store.put("/r/after", b"2", None).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("retrying after restart: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("writes did not resume: {e}"),
        }
    }
    let e = tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("the watch resumed")
        .unwrap()
        .unwrap();
    assert_eq!((e.kind, e.key.as_str()), (EventKind::Put, "/r/after"));
}
