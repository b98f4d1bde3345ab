//! A `scope global` network's pool shared through the store by two netsh processes, each in its
//! own --sandbox, on one embedded store file: distinct addresses, the holder recorded in the
//! store, an exhausted shared pool's error, and addresses given back when a sandbox ends.

mod util;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use util::*;

/// One host of the shared network in its own sandbox: `store`, a lab host, the network, then
/// `rest` (a container attach, checks).
fn script(store: &Path, host: &str, addr: &str, subnet: &str, rest: &str) -> String {
    format!(
        "store embedded {store}
         switch lan
         host {host} on lan addr {addr}
         network create g driver bridge subnet {subnet} scope global in {host}
         {rest}",
        store = store.display()
    )
}

/// Starts netsh on `script` under --sandbox without waiting for it.
fn start(script: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netsh"))
        .args(["--sandbox", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netsh runs")
}

/// What a finished netsh printed, for messages.
fn output(child: Child) -> String {
    match child.wait_with_output() {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("<no output: {e}>"),
    }
}

fn wait_for(file: &Path, mut child: Child) -> Child {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !file.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the first netsh ended ({status}) before attaching:\n{}",
                output(child)
            );
        }
        assert!(Instant::now() < deadline, "the first netsh never attached");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// The IPAM keys of network `g` in the store file, with their holders.
fn held(store: &Path) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = netsh::store::EmbeddedStore::open(store).await.unwrap();
        let snap = netsh::store::Store::get_prefix(&s, "/netsh/ipam/g/")
            .await
            .unwrap();
        snap.kvs
            .iter()
            .map(|kv| (kv.key.clone(), String::from_utf8_lossy(&kv.value).into()))
            .collect()
    })
}

/// docker1's netsh attaches web1, says so with a file, and holds on until told to go.
fn first_host(dir: &Path, subnet: &str) -> Child {
    let (attached, go) = (dir.join("attached"), dir.join("go"));
    let wait = format!(
        "exec sh -c \"touch {}; while [ ! -e {} ]; do sleep 0.05; done\"",
        attached.display(),
        go.display()
    );
    let a = start(&script(
        &dir.join("store.redb"),
        "docker1",
        "10.10.10.101/24",
        subnet,
        &format!(
            "container web1 on g in docker1
             {wait}"
        ),
    ));
    wait_for(&attached, a)
}

#[test]
fn two_processes_on_one_store_file_get_distinct_addresses() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.redb");
    let a = first_host(dir.path(), "10.9.0.0/24");
    let b = sandbox(&script(
        &store,
        "docker2",
        "10.10.10.102/24",
        "10.9.0.0/24",
        "container web2 on g in docker2
         exec \"ip -j addr show dev eth0\" in web2
         show networks in docker2 json",
    ));
    let during = held(&store);
    std::fs::write(dir.path().join("go"), "").unwrap();
    let a_out = output(a);
    let b = b.ok();
    let j = b.json();
    // web1 took the pool's first address in the other process; web2 got the next one
    assert!(
        addresses(&j[0]).contains(&"10.9.0.3/24".to_string()),
        "{:?}\nfirst netsh: {a_out}",
        j[0]
    );
    assert_eq!(j[1][0]["containers"][0]["addresses"][0], "10.9.0.3");
    // web2's sandbox has ended, taking web2 with it: only web1 (still running) holds an address
    assert_eq!(
        during,
        vec![(
            "/netsh/ipam/g/10.9.0.0-24/10.9.0.2".to_string(),
            "docker1/web1".to_string()
        )],
        "first netsh: {a_out}"
    );
    // both sandboxes are gone, and their containers with them: the pool is empty again
    assert_eq!(held(&store), vec![], "first netsh: {a_out}");
}

#[test]
fn an_exhausted_shared_pool_is_a_clear_error_on_the_network_argument() {
    requires!(Root);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.redb");
    // a /30 with its gateway has one address to give
    let a = first_host(dir.path(), "10.9.0.0/30");
    let (b, d, spanned) = sandbox_diagnostic(&script(
        &store,
        "docker2",
        "10.10.10.102/24",
        "10.9.0.0/30",
        "container web2 on g in docker2",
    ));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let a_out = output(a);
    assert_eq!(b.code, 1, "{}\nfirst netsh: {a_out}", b.stderr);
    let message = d["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no free address left in 10.9.0.0/30 (1 taken)"),
        "{d}"
    );
    assert!(
        d["help"]
            .as_str()
            .unwrap_or_default()
            .contains("scope global"),
        "{d}"
    );
    // the diagnostic points at the network the container asked to join
    assert_eq!(spanned, "g", "{d}");
}
