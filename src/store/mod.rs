//! Key-value stores for leases and network config: one trait, two implementations.
//!
//! Both stores follow etcd's v3 model so flannel's data can live in either: keys and values are
//! bytes under string keys, every change bumps one store-wide revision, keys may be attached to
//! a TTL lease and vanish when it expires, and a prefix watch reports puts and deletes (expiry
//! included) in revision order.
//!
//! - [`EmbeddedStore`]: a redb file shared by the netsh processes of one machine.
//! - [`EtcdStore`]: a real etcd (v3 API as of etcd 3.4), with TLS, auth and endpoint failover.

pub mod dial;
mod embedded;
mod error;
mod etcd;

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;

pub use embedded::{DEFAULT_EMBEDDED_PATH, EmbeddedOptions, EmbeddedStore};
pub use error::StoreError;
pub use etcd::{EtcdAuth, EtcdOptions, EtcdStore, EtcdTls};

/// A store-wide revision: every committed change increases it (etcd's `mod_revision`).
pub type Revision = i64;

/// Identifies a TTL lease; keys attached to it are deleted when it expires or is revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseId(pub i64);

/// One stored key with its metadata, as etcd reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the change that created the key (since it last did not exist).
    pub create_revision: Revision,
    /// Revision of the last change to the key.
    pub mod_revision: Revision,
    /// The lease the key is attached to, if any.
    pub lease: Option<LeaseId>,
}

impl KeyValue {
    /// The value as text; flannel's values are JSON.
    pub fn value_str(&self) -> Result<&str, StoreError> {
        std::str::from_utf8(&self.value).map_err(|_| StoreError::NotUtf8 {
            key: self.key.clone(),
        })
    }
}

/// What a prefix read returns: the keys, sorted, and the revision the read saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub kvs: Vec<KeyValue>,
    pub revision: Revision,
}

/// A granted lease: its id and the TTL the store actually granted (etcd may raise small TTLs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub id: LeaseId,
    pub ttl: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch. A delete (explicit, by revoke, or by expiry) has an empty value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub key: String,
    pub value: Vec<u8>,
    pub revision: Revision,
}

/// Events in revision order. The stream ends only when dropped or on an error it reports.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, StoreError>> + Send>>;

/// The operations netsh needs from a store, with the same meaning for every implementation.
#[async_trait]
pub trait Store: Send + Sync {
    /// A short description for messages: `embedded /var/lib/netsh/store.redb`, `etcd http://...`.
    fn describe(&self) -> String;

    /// The current revision of the whole store.
    async fn revision(&self) -> Result<Revision, StoreError>;

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// All keys starting with `prefix`, sorted by key, and the revision of the read.
    async fn get_prefix(&self, prefix: &str) -> Result<Snapshot, StoreError>;

    /// The keys under `prefix` changed at or after `min_mod_revision` (deletes do not show), and
    /// the revision of the read: what a reader that saw everything before needs to catch up.
    async fn get_prefix_since(
        &self,
        prefix: &str,
        min_mod_revision: Revision,
    ) -> Result<Snapshot, StoreError> {
        let mut snap = self.get_prefix(prefix).await?;
        snap.kvs.retain(|kv| kv.mod_revision >= min_mod_revision);
        Ok(snap)
    }

    /// Sets `key`, attached to `lease` if given (replacing any earlier attachment).
    async fn put(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Revision, StoreError>;

    /// Sets `key` only if it does not exist; `Some(revision)` when it was created.
    async fn create(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError>;

    /// Sets `key` only if its last change was at `mod_revision`; `Some(revision)` when replaced.
    async fn replace(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
        mod_revision: Revision,
    ) -> Result<Option<Revision>, StoreError>;

    /// Deletes `key`; whether it existed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Grants a lease that expires after `ttl` (whole seconds, at least 1) unless kept alive.
    async fn grant(&self, ttl: Duration) -> Result<Lease, StoreError>;

    /// Restarts the lease's TTL; [`StoreError::LeaseNotFound`] if it already expired or was revoked.
    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, StoreError>;

    /// Ends the lease now, deleting its keys. Revoking an unknown lease is not an error.
    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError>;

    /// Watches keys starting with `prefix`, from revision `start` (inclusive) or, if `None`,
    /// from the next change. A start older than the retained history is
    /// [`StoreError::Compacted`].
    async fn watch_prefix(
        &self,
        prefix: &str,
        start: Option<Revision>,
    ) -> Result<WatchStream, StoreError>;
}

/// Seconds for a TTL as both stores take it: whole seconds, rounded up, at least one.
pub(crate) fn ttl_seconds(ttl: Duration) -> i64 {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
}
