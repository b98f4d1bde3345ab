//! Fixtures that give a test body a fresh store of each kind, and a macro that runs one body
//! against both, so the two stores are held to the same contract.
#![allow(dead_code)]

use std::sync::Arc;

use netsh::store::{EmbeddedStore, EtcdOptions, EtcdStore, Store};

use super::etcd;

/// A store plus whatever must live as long as it (its temp dir or its etcd server).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub guard: Guard,
}

pub enum Guard {
    Dir(tempfile::TempDir),
    Etcd(etcd::EtcdServer),
}

pub async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("store.redb"))
        .await
        .expect("open embedded store");
    Fixture {
        store: Arc::new(store),
        guard: Guard::Dir(dir),
    }
}

pub async fn etcd() -> Fixture {
    let server = etcd::EtcdServer::start();
    let store = EtcdStore::connect(EtcdOptions::new([server.endpoint()]))
        .await
        .expect("connect to the test etcd");
    Fixture {
        store: Arc::new(store),
        guard: Guard::Etcd(server),
    }
}

impl Fixture {
    /// Another, independent connection to the same store (a second host or process).
    pub async fn reopen(&self) -> Arc<dyn Store> {
        match &self.guard {
            Guard::Dir(dir) => Arc::new(
                EmbeddedStore::open(dir.path().join("store.redb"))
                    .await
                    .expect("reopen embedded store"),
            ),
            Guard::Etcd(server) => Arc::new(
                EtcdStore::connect(EtcdOptions::new([server.endpoint()]))
                    .await
                    .expect("reconnect to the test etcd"),
            ),
        }
    }
}

/// `both_stores!(body)` makes `body::embedded` and `body::etcd` tests that call
/// `body(fixture)` with a fresh store of each kind.
#[macro_export]
macro_rules! both_stores {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$body(super::util::stores::embedded().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn etcd() {
                crate::requires!(Etcd);
                super::$body(super::util::stores::etcd().await).await;
            }
        }
    )*};
}
