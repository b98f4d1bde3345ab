//! The embedded store shared by several processes: racing acquirers in separate processes,
//! watches woken by another process, and data surviving a process killed mid-write.
//!
//! The child processes are this test binary re-run on an `#[ignore]`d test with an environment
//! variable saying what to do.

mod util;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use netsh::flannel::{LeaseEvent, LeaseRequest, Registry};
use netsh::ops::BackendType;
use netsh::store::{EmbeddedStore, Store};

const ROLE: &str = "NETSH_TEST_CHILD_ROLE";
const PATH: &str = "NETSH_TEST_CHILD_STORE";
const FIRST: &str = "NETSH_TEST_CHILD_FIRST";

fn child(role: &str, store: &Path, first: u32) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([
        "--ignored",
        "--exact",
        "child_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env(PATH, store)
    .env(FIRST, first.to_string())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// Not a test on its own: the body of the child processes the tests below start.
#[test]
#[ignore = "run by the other tests as a child process"]
fn child_process() {
    let role = std::env::var(ROLE).expect("started by a parent test");
    let path = std::env::var(PATH).expect("store path");
    let first: u32 = std::env::var(FIRST).expect("first host").parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).await.unwrap());
        match role.as_str() {
            "acquire" => {
                let registry = Registry::new(store, None);
                let (config, _) = registry.config().await.unwrap();
                let mut tasks = Vec::new();
                for n in first..first + 8 {
                    let (registry, config) = (registry.clone(), config.clone());
                    tasks.push(tokio::spawn(async move {
                        let ip = Ipv4Addr::from(0xC0A8_0000 + n);
                        registry
                            .acquire(&config, &LeaseRequest::new(ip, BackendType::Udp))
                            .await
                    }));
                }
                for t in tasks {
                    let lease = t.await.unwrap().unwrap();
                    println!("LEASE {}", lease.lease.subnet);
                }
            }
            "write-forever" => {
                for i in 0.. {
                    store
                        .put(&format!("/crash/{i:06}"), b"x", None)
                        .await
                        .unwrap();
                    println!("COMMITTED {i}");
                }
            }
            other => panic!("unknown role {other}"),
        }
    });
}

fn lines_with(prefix: &str, output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        // The harness may print "test child_process ... " on the same line first.
        .filter_map(|l| l.find(prefix).map(|at| l[at + prefix.len()..].to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_racing_for_subnets_never_share_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).await.unwrap());
    let registry = Registry::new(store.clone(), None);
    // 32 subnets for 4 processes x 8 hosts: all must fit, each exactly once.
    let config = registry
        .set_config(
            r#"{"Network": "10.60.0.0/16", "SubnetMin": "10.60.1.0", "SubnetMax": "10.60.32.0"}"#,
        )
        .await
        .unwrap();
    let (before, mut events) = registry.watch_leases().await.unwrap();
    assert!(before.is_empty());

    let children: Vec<_> = (0..3)
        .map(|i| {
            child("acquire", &path, 100 + 10 * i)
                .spawn()
                .expect("spawn child")
        })
        .collect();
    let mut subnets = HashSet::new();
    for n in 0..8 {
        let ip = Ipv4Addr::from(0xC0A8_0000 + n);
        let lease = registry
            .acquire(&config, &LeaseRequest::new(ip, BackendType::Udp))
            .await
            .unwrap();
        assert!(subnets.insert(lease.lease.subnet.to_string()));
    }
    for c in children {
        let out = tokio::task::spawn_blocking(move || c.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let leases = lines_with("LEASE ", &out.stdout);
        assert_eq!(leases.len(), 8, "each child got 8 leases");
        for sn in leases {
            assert!(subnets.insert(sn.clone()), "{sn} was given to two hosts");
        }
    }
    assert_eq!(subnets.len(), 32);
    assert_eq!(registry.leases().await.unwrap().len(), 32);

    // Our watch was woken by the other processes' writes: it saw every lease appear.
    let mut seen = HashSet::new();
    while seen.len() < 32 {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(Ok(LeaseEvent::Added(l)))) => {
                seen.insert(l.subnet.to_string());
            }
            other => panic!("expected lease events, got {other:?} after {}", seen.len()),
        }
    }
    assert_eq!(seen, subnets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_process_killed_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let mut writer = child("write-forever", &path, 0).spawn().unwrap();
    let stdout = writer.stdout.take().unwrap();
    let committed = tokio::task::spawn_blocking(move || {
        let mut last = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(at) = line.find("COMMITTED ") {
                last = Some(line[at + "COMMITTED ".len()..].parse::<u32>().unwrap());
                if last >= Some(40) {
                    break;
                }
            }
        }
        last
    })
    .await
    .unwrap()
    .expect("the child committed writes");
    // SIGKILL: no destructors, no clean close, possibly in the middle of a commit.
    writer.kill().unwrap();
    writer.wait().unwrap();

    let store = EmbeddedStore::open(&path)
        .await
        .expect("reopens after a crash");
    let kept = store.get_prefix("/crash/").await.unwrap().kvs;
    assert!(
        kept.len() as u32 > committed,
        "{} keys kept, {committed} acknowledged",
        kept.len()
    );
    for i in 0..=committed {
        assert!(
            store
                .get(&format!("/crash/{i:06}"))
                .await
                .unwrap()
                .is_some(),
            "write {i} lost"
        );
    }
    // And it still takes writes.
    store.put("/crash/after", b"y", None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_trimmed_and_old_watches_refused() {
    use netsh::store::{EmbeddedOptions, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        history_revisions: 5,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_with(dir.path().join("store.redb"), options)
        .await
        .unwrap();
    let first = store.put("/h/k", b"0", None).await.unwrap();
    let mut last = first;
    for i in 1..12 {
        last = store
            .put("/h/k", format!("{i}").as_bytes(), None)
            .await
            .unwrap();
    }
    match store.watch_prefix("/h/", Some(first)).await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!(requested, first);
            assert_eq!(oldest, last - 4, "the last 5 revisions are kept");
        }
        Err(e) => panic!("expected Compacted, got {e}"),
        Ok(_) => panic!("expected Compacted, got a watch"),
    }
    let mut watch = store.watch_prefix("/h/", Some(last - 1)).await.unwrap();
    for expected in ["10", "11"] {
        let event = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(event.value, expected.as_bytes());
    }
}

/// A store file whose pages after the header are garbage (a disk or a copy gone wrong).
fn damaged_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("store.redb");
    util::Netsh::new()
        .sandbox()
        .script(format!(
            "store embedded {}\nnetwork config '{{\"Network\":\"10.5.0.0/16\"}}'\n",
            path.display()
        ))
        .run()
        .code(0);
    let mut bytes = std::fs::read(&path).expect("the store file");
    assert!(bytes.len() > 4096, "a store is more than its header page");
    bytes[4096..].fill(0xff);
    std::fs::write(&path, bytes).expect("damage the store");
    path
}

#[test]
fn a_damaged_store_is_an_error_naming_the_file_not_a_panic() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let path = damaged_store(dir.path());
    let out = util::Netsh::new()
        .sandbox()
        .script(format!("store embedded {}\nshow config\n", path.display()))
        .run()
        .code(1)
        .stderr_has(&format!(
            "embedded store {}: the store file is damaged",
            path.display()
        ));
    for panic_text in [
        "panicked",
        "unreachable",
        "RUST_BACKTRACE",
        "stack backtrace",
    ] {
        assert!(!out.stderr.contains(panic_text), "{}", out.stderr);
    }
}

#[test]
fn an_empty_store_file_is_refused_not_replaced() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::write(&path, b"").unwrap();
    util::Netsh::new()
        .sandbox()
        .script(format!(
            "store embedded {}\nnetwork config '{{\"Network\":\"10.5.0.0/16\"}}'\n",
            path.display()
        ))
        .run()
        .code(1)
        .stderr_has(&format!(
            "embedded store {}: the file is empty (0 bytes), not a store",
            path.display()
        ));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "the file is left as it was"
    );
}

#[tokio::test]
async fn a_new_store_file_is_made_whole_before_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/store.redb");
    let store = EmbeddedStore::open(&path).await.unwrap();
    store.put("/k", b"v", None).await.unwrap();
    drop(store);
    // nothing but the store is left beside it (the temporary file it was made under is gone)
    let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("store.redb")]);
    let store = EmbeddedStore::open(&path).await.unwrap();
    assert_eq!(store.get("/k").await.unwrap().unwrap().value, b"v");
}
