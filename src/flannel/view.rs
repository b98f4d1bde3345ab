//! The leases as this process last read them, shared by every acquisition through one `Registry`.
//! flanneld reads every lease for every acquisition; with a crowd of hosts acquiring at once that
//! is quadratic (1000 hosts: half a million leases read and parsed). Here the first read is a full
//! one and later ones fetch only what changed since its revision (`Store::get_prefix_since`);
//! callers queued behind a read reuse it instead of reading again. Such a catch-up read sees puts
//! but not deletes, so the view may still list a lease that is gone: that only hides a free
//! subnet, and acquisition does a full read before it believes the range is exhausted or that a
//! lease of its own still exists. The store's create-if-absent stays the only guard against two
//! hosts taking one subnet; the view only makes picking cheaper.
//!
//! The view also counts the acquisitions running through it, so a crowd started together (a lab's
//! hosts, the bench) picks from a window wide enough that its members rarely pick alike.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::lease::SubnetLease;
use crate::store::{Revision, Store, StoreError};

#[derive(Default)]
struct Leases {
    by_key: BTreeMap<String, SubnetLease>,
    /// Every put up to this revision is in `by_key` (0: never read).
    revision: Revision,
    /// Reads done so far.
    reads: u64,
}

#[derive(Default)]
pub(crate) struct LeaseView {
    leases: tokio::sync::Mutex<Leases>,
    /// `Leases::reads`, readable without the lock.
    reads: AtomicU64,
    /// Acquisitions running now.
    running: AtomicUsize,
}

/// One running acquisition, counted until dropped.
pub(crate) struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LeaseView {
    /// Counts an acquisition as running while the guard lives.
    pub(crate) fn running(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::Relaxed);
        Running(&self.running)
    }

    /// How many acquisitions run now (this one included).
    pub(crate) fn crowd(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// The leases under `prefix`, at least as fresh as a read started now; `full` also drops the
    /// ones deleted since the last full read.
    pub(crate) async fn read(
        &self,
        store: &dyn Store,
        prefix: &str,
        full: bool,
    ) -> Result<Vec<SubnetLease>, StoreError> {
        let asked = self.reads.load(Ordering::Acquire);
        let mut view = self.leases.lock().await;
        let fresh_enough = view.reads > asked && !full;
        if !fresh_enough {
            let snap = match full || view.revision == 0 {
                true => {
                    view.by_key.clear();
                    store.get_prefix(prefix).await?
                }
                false => store.get_prefix_since(prefix, view.revision + 1).await?,
            };
            for kv in &snap.kvs {
                match SubnetLease::from_key_value(kv) {
                    Some(l) => view.by_key.insert(kv.key.clone(), l),
                    None => view.by_key.remove(&kv.key),
                };
            }
            // a full read is the truth even when the store's revision went back (a reset store)
            view.revision = if full || view.revision == 0 {
                snap.revision
            } else {
                view.revision.max(snap.revision)
            };
            view.reads += 1;
            self.reads.store(view.reads, Ordering::Release);
        }
        Ok(view.by_key.values().cloned().collect())
    }
}
