//! A store seen through flannel's key layout under one prefix: the config, the leases, and a
//! watch of the leases (what the overlays follow).

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use ipnet::{Ipv4Net, Ipv6Net};

use super::config::NetworkConfig;
use super::keys::{DEFAULT_PREFIX, config_key, parse_subnet_key, subnets_prefix};
use super::lease::{LeaseError, SubnetLease};
use super::view::LeaseView;
use crate::store::{EventKind, KeyValue, Revision, Store, StoreError};

/// Flannel's data in one store under one prefix (flanneld's `--etcd-prefix`).
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    prefix: String,
    /// The leases as acquisitions through this registry (and its clones) last read them.
    view: Arc<LeaseView>,
}

/// A change to the set of leases. (Rare, so the size difference between variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum LeaseEvent {
    /// A lease appeared or changed (renewal by flanneld rewrites it).
    Added(SubnetLease),
    /// A lease was released, revoked, expired or deleted.
    Removed {
        subnet: Ipv4Net,
        ipv6_subnet: Option<Ipv6Net>,
    },
}

pub type LeaseEvents = Pin<Box<dyn Stream<Item = Result<LeaseEvent, StoreError>> + Send>>;

impl Registry {
    /// `prefix` defaults to flannel's `/coreos.com/network` when `None`.
    pub fn new(store: Arc<dyn Store>, prefix: Option<&str>) -> Registry {
        let prefix = prefix.unwrap_or(DEFAULT_PREFIX).trim_end_matches('/');
        Registry {
            store,
            prefix: prefix.to_string(),
            view: Arc::default(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Checks `json` as flannel would and stores it, as written, at `<prefix>/config`.
    pub async fn set_config(&self, json: &str) -> Result<NetworkConfig, LeaseError> {
        let config = NetworkConfig::parse(json).map_err(|error| LeaseError::BadConfig {
            key: config_key(&self.prefix),
            error,
        })?;
        self.store
            .put(&config_key(&self.prefix), json.as_bytes(), None)
            .await?;
        Ok(config)
    }

    /// The stored config, checked; its JSON text too, for `show config`.
    pub async fn config(&self) -> Result<(NetworkConfig, String), LeaseError> {
        let key = config_key(&self.prefix);
        let Some(kv) = self.store.get(&key).await? else {
            return Err(LeaseError::NoConfig { key });
        };
        let text = kv.value_str()?.to_string();
        let config =
            NetworkConfig::parse(&text).map_err(|error| LeaseError::BadConfig { key, error })?;
        Ok((config, text))
    }

    /// Every lease under the prefix (entries that are not leases are skipped, as flanneld does).
    pub async fn leases(&self) -> Result<Vec<SubnetLease>, StoreError> {
        Ok(self.leases_at().await?.0)
    }

    async fn leases_at(&self) -> Result<(Vec<SubnetLease>, Revision), StoreError> {
        let snap = self.store.get_prefix(&subnets_prefix(&self.prefix)).await?;
        let leases = snap
            .kvs
            .iter()
            .filter_map(SubnetLease::from_key_value)
            .collect();
        Ok((leases, snap.revision))
    }

    /// The leases for picking a subnet: caught up cheaply with what changed since the last read,
    /// or read in full (see view.rs).
    pub(crate) async fn known_leases(&self, full: bool) -> Result<Vec<SubnetLease>, StoreError> {
        self.view
            .read(self.store(), &subnets_prefix(&self.prefix), full)
            .await
    }

    pub(crate) fn view(&self) -> &LeaseView {
        &self.view
    }

    /// The current leases and every change after them, with no gap between the two.
    pub async fn watch_leases(&self) -> Result<(Vec<SubnetLease>, LeaseEvents), StoreError> {
        let (leases, revision) = self.leases_at().await?;
        let events = self
            .store
            .watch_prefix(&subnets_prefix(&self.prefix), Some(revision + 1))
            .await?;
        let events = events.filter_map(|event| async move {
            match event {
                Err(e) => Some(Err(e)),
                Ok(event) => match event.kind {
                    EventKind::Put => SubnetLease::from_key_value(&KeyValue {
                        key: event.key,
                        value: event.value,
                        create_revision: 0,
                        mod_revision: event.revision,
                        lease: None,
                    })
                    .map(|l| Ok(LeaseEvent::Added(l))),
                    EventKind::Delete => {
                        parse_subnet_key(&event.key).map(|(subnet, ipv6_subnet)| {
                            Ok(LeaseEvent::Removed {
                                subnet,
                                ipv6_subnet,
                            })
                        })
                    }
                },
            }
        });
        Ok((leases, Box::pin(events)))
    }
}
