//! Which peer (by PublicIP) holds which subnet: the table the overlay's lease watch keeps up to
//! date while the tunnel runs. Writers (`set`/`remove`) build a new immutable snapshot; the data
//! path checks a generation number once per batch and picks up the new snapshot when it changed,
//! so lookups take no lock.

use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One lease: a subnet and the PublicIP of the host holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Route {
    net: u32,
    mask: u32,
    public: Ipv4Addr,
}

/// An immutable view of the table, longest prefix first.
#[derive(Debug, Default)]
pub struct PeerSnapshot {
    routes: Vec<Route>,
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

impl PeerSnapshot {
    fn build(map: &BTreeMap<Ipv4Net, Ipv4Addr>) -> PeerSnapshot {
        let mut routes: Vec<(u8, Route)> = map
            .iter()
            .map(|(n, &public)| {
                (
                    n.prefix_len(),
                    Route {
                        net: u32::from(n.network()),
                        mask: mask(n.prefix_len()),
                        public,
                    },
                )
            })
            .collect();
        routes.sort_by_key(|r| std::cmp::Reverse(r.0));
        PeerSnapshot {
            routes: routes.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// The peer whose subnet holds `dst` (longest prefix wins).
    #[inline]
    pub fn route(&self, dst: u32) -> Option<Ipv4Addr> {
        self.routes
            .iter()
            .find(|r| dst & r.mask == r.net)
            .map(|r| r.public)
    }

    /// Does `public` hold any lease?
    pub fn is_peer(&self, public: Ipv4Addr) -> bool {
        self.routes.iter().any(|r| r.public == public)
    }

    /// Does `public` hold a lease whose subnet contains `src`?
    #[inline]
    pub fn owns(&self, public: Ipv4Addr, src: u32) -> bool {
        self.routes
            .iter()
            .any(|r| r.public == public && src & r.mask == r.net)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[derive(Debug, Default)]
struct Inner {
    map: Mutex<BTreeMap<Ipv4Net, Ipv4Addr>>,
    snapshot: RwLock<Arc<PeerSnapshot>>,
    generation: AtomicU64,
}

/// The shared, updatable table. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct PeerTable {
    inner: Arc<Inner>,
}

impl PeerTable {
    pub fn new() -> PeerTable {
        PeerTable::default()
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<Ipv4Net, Ipv4Addr>)) {
        let mut map = self.inner.map.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut map);
        let snap = Arc::new(PeerSnapshot::build(&map));
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(|p| p.into_inner()) = snap;
        self.inner.generation.fetch_add(1, Ordering::Release);
    }

    /// `subnet` is now leased by the host at `public`.
    pub fn set(&self, subnet: Ipv4Net, public: Ipv4Addr) {
        self.update(|m| {
            m.insert(subnet.trunc(), public);
        });
    }

    /// `subnet`'s lease is gone.
    pub fn remove(&self, subnet: Ipv4Net) {
        self.update(|m| {
            m.remove(&subnet.trunc());
        });
    }

    /// Replaces the whole table (a fresh listing of the leases).
    pub fn replace(&self, entries: impl IntoIterator<Item = (Ipv4Net, Ipv4Addr)>) {
        self.update(|m| {
            m.clear();
            m.extend(entries.into_iter().map(|(n, ip)| (n.trunc(), ip)));
        });
    }

    /// The current entries, sorted by subnet.
    pub fn entries(&self) -> Vec<(Ipv4Net, Ipv4Addr)> {
        let map = self.inner.map.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(n, ip)| (*n, *ip)).collect()
    }

    pub fn snapshot(&self) -> Arc<PeerSnapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A reader for one data-path thread.
    pub fn reader(&self) -> PeerReader {
        PeerReader {
            table: self.clone(),
            generation: self.inner.generation.load(Ordering::Acquire),
            snap: self.snapshot(),
        }
    }
}

/// A data-path thread's view: refreshed with `refresh` once per batch.
pub struct PeerReader {
    table: PeerTable,
    generation: u64,
    snap: Arc<PeerSnapshot>,
}

impl PeerReader {
    #[inline]
    pub fn refresh(&mut self) -> &PeerSnapshot {
        let g = self.table.inner.generation.load(Ordering::Acquire);
        if g != self.generation {
            self.generation = g;
            self.snap = self.table.snapshot();
        }
        &self.snap
    }

    #[inline]
    pub fn current(&self) -> &PeerSnapshot {
        &self.snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn longest_prefix_wins_and_updates_reach_readers() {
        let t = PeerTable::new();
        let mut r = t.reader();
        assert!(r.refresh().route(ip("10.5.1.9")).is_none());
        t.set(
            "10.5.0.0/16".parse().unwrap(),
            "192.168.0.1".parse().unwrap(),
        );
        t.set(
            "10.5.1.7/24".parse().unwrap(),
            "192.168.0.2".parse().unwrap(),
        );
        let s = r.refresh();
        assert_eq!(
            s.route(ip("10.5.1.9")),
            Some("192.168.0.2".parse().unwrap())
        );
        assert_eq!(
            s.route(ip("10.5.2.9")),
            Some("192.168.0.1".parse().unwrap())
        );
        assert_eq!(s.route(ip("10.6.0.1")), None);
        assert!(s.owns("192.168.0.2".parse().unwrap(), ip("10.5.1.200")));
        assert!(!s.owns("192.168.0.2".parse().unwrap(), ip("10.5.2.1")));
        t.remove("10.5.1.0/24".parse().unwrap());
        let s = r.refresh();
        assert_eq!(
            s.route(ip("10.5.1.9")),
            Some("192.168.0.1".parse().unwrap())
        );
        assert!(!s.is_peer("192.168.0.2".parse().unwrap()));
        assert_eq!(t.entries().len(), 1);
    }
}
