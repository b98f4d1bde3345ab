//! The one example that runs against a real etcd: the harness starts etcd on a free loopback port
//! with a temporary data dir, runs `examples/ch08-flannel-host-gw.netsh ENDPOINT` under --sandbox
//! (netsh dials the store from the namespace it started in, so the sandbox reaches the machine's
//! loopback), checks that the leases really are in that etcd, and stops etcd afterwards (when the
//! server is dropped, on failure too; and with the test process, by PR_SET_PDEATHSIG).

mod util;

use netsh::store::{EtcdOptions, EtcdStore, Store};
use std::path::Path;
use std::process::Command;
use util::etcd;

const EXAMPLE: &str = "examples/ch08-flannel-host-gw.netsh";

#[test]
fn the_host_gw_example_runs_against_a_real_etcd() {
    requires!(Root, Etcd);
    let server = etcd::EtcdServer::start();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    let out = Command::new(env!("CARGO_BIN_EXE_netsh"))
        .arg("--sandbox")
        .arg(&example)
        .arg(server.endpoint())
        .output()
        .expect("netsh runs");
    assert!(
        out.status.success(),
        "{EXAMPLE} against {} exited {:?}\n{}{}\netcd's log:\n{}",
        server.endpoint(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    // the leases are in etcd, as flannel writes them, one per host of the lab
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut public_ips: Vec<String> = rt.block_on(async {
        let store = EtcdStore::connect(EtcdOptions::new([server.endpoint()]))
            .await
            .expect("connect to etcd");
        let config = store.get("/coreos.com/network/config").await.unwrap();
        assert!(config.is_some(), "no network config in etcd");
        let leases = store
            .get_prefix("/coreos.com/network/subnets/")
            .await
            .unwrap();
        leases
            .kvs
            .iter()
            .map(|kv| {
                let v: serde_json::Value = serde_json::from_slice(&kv.value).unwrap();
                v["PublicIP"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    });
    public_ips.sort();
    assert_eq!(
        public_ips,
        [
            "10.10.10.101",
            "10.10.10.102",
            "10.10.10.103",
            "10.10.10.104"
        ]
    );
}
