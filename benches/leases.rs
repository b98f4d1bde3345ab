//! `scripts/bench-leases`: H hosts acquire leases at once, against the embedded store and a
//! real etcd in the same run. Prints time to all leased, leases per second and races lost, and
//! checks that every subnet is distinct. Usage: `cargo bench --bench leases -- [H ...]`.

#[path = "../tests/util/etcd.rs"]
mod etcd;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use netsh::flannel::{LeaseRequest, Registry};
use netsh::ops::BackendType;
use netsh::store::{EmbeddedStore, EtcdOptions, EtcdStore, Store};

/// A /8 with /24 subnets: 65535 subnets, room for any H we run.
const CONFIG: &str = r#"{"Network": "10.0.0.0/8", "SubnetLen": 24, "Backend": {"Type": "vxlan"}}"#;

async fn run(name: &str, store: Arc<dyn Store>, hosts: u32) -> Result<(), String> {
    let registry = Registry::new(store, Some(&format!("/bench/{hosts}")));
    let config = registry
        .set_config(CONFIG)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..hosts)
        .map(|n| {
            let (registry, config) = (registry.clone(), config.clone());
            tokio::spawn(async move {
                let ip = Ipv4Addr::from(0xAC10_0000 + n);
                registry
                    .acquire(&config, &LeaseRequest::new(ip, BackendType::Vxlan))
                    .await
            })
        })
        .collect();
    let (mut subnets, mut conflicts) = (HashSet::new(), 0);
    for t in tasks {
        let lease = t
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        conflicts += lease.conflicts;
        if !subnets.insert(lease.lease.subnet) {
            return Err(format!("{} was leased twice", lease.lease.subnet));
        }
    }
    let took = started.elapsed();
    println!(
        "{name:9} H={hosts:5}  all leased in {:8.3} s  {:8.1} leases/s  {conflicts:6} races lost  {} distinct subnets",
        took.as_secs_f64(),
        f64::from(hosts) / took.as_secs_f64(),
        subnets.len()
    );
    Ok(())
}

fn main() {
    let hosts: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let hosts = if hosts.is_empty() {
        vec![250, 1000]
    } else {
        hosts
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = etcd::EtcdServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let result: Result<(), String> = rt.block_on(async {
        let embedded: Arc<dyn Store> = Arc::new(
            EmbeddedStore::open(dir.path().join("bench.redb"))
                .await
                .map_err(|e| e.to_string())?,
        );
        let etcd: Arc<dyn Store> = Arc::new(
            EtcdStore::connect(EtcdOptions::new([server.endpoint()]))
                .await
                .map_err(|e| e.to_string())?,
        );
        for &h in &hosts {
            run("embedded", embedded.clone(), h).await?;
            run("etcd", etcd.clone(), h).await?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("bench-leases: {e}");
        std::process::exit(1);
    }
}
