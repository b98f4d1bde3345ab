//! The address pool of a `scope global` network kept in the store, for hosts in different netsh
//! processes or machines: one key per handed-out address, `<prefix>/ipam/<network>/<subnet>/<ip>`
//! (subnet written as flannel writes its keys, 10.10.10.0-24), created with create-if-absent so two
//! hosts can never take the same address; the value names the holder. The pool rules (range,
//! network/broadcast/gateway/aux) are a `LocalPool`'s.
//!
//! Not wired into the runtime yet: it has no selected store (`store` is not carried out there).

use super::ipam::{AddressPool, LocalPool};
use crate::interp::world::RunError;
use crate::store::Store;
use std::net::IpAddr;
use std::sync::Arc;

pub struct StorePool {
    store: Arc<dyn Store>,
    base: String,
    rules: LocalPool,
}

fn store_error(e: impl std::fmt::Display) -> RunError {
    RunError::new(format!("the store failed: {e}"))
}

impl StorePool {
    pub fn new(store: Arc<dyn Store>, prefix: &str, network: &str, rules: LocalPool) -> StorePool {
        let subnet = rules.subnet().to_string().replace('/', "-");
        StorePool {
            store,
            base: format!("{}/ipam/{network}/{subnet}/", prefix.trim_end_matches('/')),
            rules,
        }
    }

    fn key(&self, ip: IpAddr) -> String {
        format!("{}{ip}", self.base)
    }

    /// The lowest address free in the store, claimed for `holder`; a lost race moves on to the next.
    pub async fn take_next(&self, holder: &str) -> Result<IpAddr, RunError> {
        let snap = self
            .store
            .get_prefix(&self.base)
            .await
            .map_err(store_error)?;
        let mut view = self.rules.clone();
        for kv in &snap.kvs {
            if let Ok(ip) = kv.key[self.base.len()..].parse::<IpAddr>() {
                view.mark_used(ip);
            }
        }
        loop {
            let ip = view.take_next()?;
            let created = self
                .store
                .create(&self.key(ip), holder.as_bytes(), None)
                .await
                .map_err(store_error)?;
            if created.is_some() {
                return Ok(ip);
            }
        }
    }

    /// Claims a pinned address, checked by the pool's rules and against the store.
    pub async fn take(&self, ip: IpAddr, holder: &str) -> Result<(), RunError> {
        self.rules.clone().take(ip)?;
        let created = self
            .store
            .create(&self.key(ip), holder.as_bytes(), None)
            .await
            .map_err(store_error)?;
        match created {
            Some(_) => Ok(()),
            None => Err(RunError::new(format!(
                "{ip} is already in use on this network (held in the store)"
            ))),
        }
    }

    pub async fn release(&self, ip: IpAddr) -> Result<(), RunError> {
        self.store
            .delete(&self.key(ip))
            .await
            .map(drop)
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EmbeddedStore;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hosts_on_one_store_never_take_the_same_address() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            EmbeddedStore::open(dir.path().join("s.redb"))
                .await
                .unwrap(),
        );
        let rules = || {
            LocalPool::new(
                "10.10.10.0/24".parse().unwrap(),
                None,
                &[ip("10.10.10.1"), ip("10.10.10.101")],
            )
        };
        let one = StorePool::new(store.clone(), "/netsh", "g", rules());
        let two = StorePool::new(store.clone(), "/netsh", "g", rules());
        let (a, b) = tokio::join!(one.take_next("docker1"), two.take_next("docker2"));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a, b);
        assert!([a, b].contains(&ip("10.10.10.2")) && [a, b].contains(&ip("10.10.10.3")));
        assert!(two.take(a, "docker2").await.is_err());
        assert!(two.take(ip("10.10.10.101"), "docker2").await.is_err());
        one.release(a).await.unwrap();
        assert_eq!(two.take_next("docker2").await.unwrap(), a);
        let held = store
            .get("/netsh/ipam/g/10.10.10.0-24/10.10.10.4")
            .await
            .unwrap();
        assert!(held.is_none());
    }
}
