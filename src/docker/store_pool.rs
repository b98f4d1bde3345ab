//! The address pool of a `scope global` network kept in the store, for hosts in different netsh
//! processes or machines: one key per handed-out address, `<prefix>/ipam/<network>/<subnet>/<ip>`
//! (subnet written as flannel writes its keys, 10.10.10.0-24), created with create-if-absent so two
//! hosts can never take the same address; the value names the holder (`HOST/CONTAINER`). The pool
//! rules (range, network/broadcast/gateway/aux) are a `LocalPool`'s.
//!
//! The runtime plans attaches synchronously, so the `AddressPool` methods wait on the runtime the
//! store's connections live on (the flannel runtime, src/runtime/flannel.rs).

use super::ipam::{AddressPool, LocalPool};
use crate::base::error::RunError;
use crate::store::Store;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::runtime::Handle;

/// Where netsh keeps its own keys (IPAM), beside flannel's `/coreos.com/network`.
pub const IPAM_PREFIX: &str = "/netsh";

pub struct StorePool {
    store: Arc<dyn Store>,
    rt: Handle,
    base: String,
    rules: LocalPool,
}

impl std::fmt::Debug for StorePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StorePool({} in {})", self.base, self.store.describe())
    }
}

impl StorePool {
    pub fn new(
        store: Arc<dyn Store>,
        rt: Handle,
        prefix: &str,
        network: &str,
        rules: LocalPool,
    ) -> StorePool {
        let subnet = rules.subnet().to_string().replace('/', "-");
        StorePool {
            store,
            rt,
            base: format!("{}/ipam/{network}/{subnet}/", prefix.trim_end_matches('/')),
            rules,
        }
    }

    fn key(&self, ip: IpAddr) -> String {
        format!("{}{ip}", self.base)
    }

    fn store_error(&self, e: impl std::fmt::Display) -> RunError {
        RunError::new(format!(
            "the shared address pool in the store ({}) failed: {e}",
            self.store.describe()
        ))
    }

    /// The lowest address free in the store, claimed for `holder`; a lost race moves on to the next.
    async fn claim_next(&self, holder: &str) -> Result<IpAddr, RunError> {
        let snap = self
            .store
            .get_prefix(&self.base)
            .await
            .map_err(|e| self.store_error(e))?;
        let mut view = self.rules.clone();
        for kv in &snap.kvs {
            if let Ok(ip) = kv.key[self.base.len()..].parse::<IpAddr>() {
                view.mark_used(ip);
            }
        }
        loop {
            let ip = view.take_next(holder).map_err(|e| {
                e.help(format!(
                    "the pool is shared by every host of this `scope global` network through {}: \
                     remove a container on any of them, or widen the subnet or ip-range",
                    self.store.describe()
                ))
            })?;
            let created = self
                .store
                .create(&self.key(ip), holder.as_bytes(), None)
                .await
                .map_err(|e| self.store_error(e))?;
            if created.is_some() {
                return Ok(ip);
            }
        }
    }

    /// Claims a pinned address, checked by the pool's rules and against the store.
    async fn claim(&self, ip: IpAddr, holder: &str) -> Result<(), RunError> {
        self.rules.clone().take(ip, holder)?;
        let created = self
            .store
            .create(&self.key(ip), holder.as_bytes(), None)
            .await
            .map_err(|e| self.store_error(e))?;
        if created.is_some() {
            return Ok(());
        }
        let by = match self.store.get(&self.key(ip)).await {
            Ok(Some(kv)) => format!(" by {}", String::from_utf8_lossy(&kv.value)),
            _ => String::new(),
        };
        Err(RunError::new(format!(
            "{ip} is already in use on this network (held{by} in the shared pool)"
        )))
    }
}

impl AddressPool for StorePool {
    fn subnet(&self) -> IpNet {
        self.rules.subnet()
    }

    fn take_next(&mut self, holder: &str) -> Result<IpAddr, RunError> {
        self.rt.block_on(self.claim_next(holder))
    }

    fn take(&mut self, ip: IpAddr, holder: &str) -> Result<(), RunError> {
        self.rt.block_on(self.claim(ip, holder))
    }

    fn release(&mut self, ip: IpAddr) {
        if let Err(e) = self.rt.block_on(self.store.delete(&self.key(ip))) {
            // the address stays held in the store; say so rather than fail the removal
            eprintln!("netsh: {}", self.store_error(e).message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EmbeddedStore;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A fresh embedded store and the runtime its pools wait on.
    fn store() -> (tokio::runtime::Runtime, tempfile::TempDir, Arc<dyn Store>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            rt.block_on(EmbeddedStore::open(dir.path().join("s.redb")))
                .unwrap(),
        );
        (rt, dir, store)
    }

    #[test]
    fn two_hosts_on_one_store_never_take_the_same_address() {
        let (rt, _dir, store) = store();
        let pool = |store: &Arc<dyn Store>| {
            let rules = LocalPool::new(
                "10.10.10.0/24".parse().unwrap(),
                None,
                &[ip("10.10.10.1"), ip("10.10.10.101")],
            );
            StorePool::new(store.clone(), rt.handle().clone(), "/netsh", "g", rules)
        };
        let (mut one, mut two) = (pool(&store), pool(&store));
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| one.take_next("docker1/a"));
            let b = s.spawn(|| two.take_next("docker2/b"));
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        assert_ne!(a, b);
        assert!([a, b].contains(&ip("10.10.10.2")) && [a, b].contains(&ip("10.10.10.3")));
        let taken = two.take(a, "docker2/c").unwrap_err();
        assert!(
            taken.message.contains("held by docker"),
            "{}",
            taken.message
        );
        assert!(two.take(ip("10.10.10.101"), "docker2/c").is_err());
        one.release(a);
        assert_eq!(two.take_next("docker2/c").unwrap(), a);
        let held = rt
            .block_on(store.get(&format!("/netsh/ipam/g/10.10.10.0-24/{a}")))
            .unwrap()
            .unwrap();
        assert_eq!(held.value, b"docker2/c");
    }

    #[test]
    fn an_exhausted_shared_pool_says_where_it_is_shared() {
        let (rt, _dir, store) = store();
        let rules = LocalPool::new("10.9.0.0/30".parse().unwrap(), None, &[ip("10.9.0.1")]);
        let mut p = StorePool::new(store, rt.handle().clone(), "/netsh", "g", rules);
        assert_eq!(p.take_next("h/a").unwrap(), ip("10.9.0.2"));
        let e = p.take_next("h/b").unwrap_err();
        assert!(
            e.message
                .contains("no free address left in 10.9.0.0/30 (1 taken)"),
            "{}",
            e.message
        );
        assert!(e.help.unwrap_or_default().contains("scope global"));
    }
}
