//! A host's lease kept alive for as long as the run holds it, as flanneld's renewal loop does, and
//! registered again when the store loses it with everything else (an etcd restarted with an empty
//! data directory): the network config and the lease go back in, on the same subnet, with the
//! backend data the overlay had published, and the overlay (which waits for its lease after a
//! reset, see overlay/service.rs) resyncs with the peers.

use crate::engine::overlay::Order;
use crate::flannel::{AcquiredLease, LeaseAttrs, LeaseError, LeaseRequest, Registry, SubnetLease};
use crate::store::{KeyValue, Revision};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How a host's overlay tells the host's renewal that the store was reset (its watch saw etcd's
/// revision go back): the renewal wakes at once instead of at its next turn (up to an hour), and
/// takes a lease it finds gone for a reset whatever the revision says by then.
#[derive(Default)]
pub struct ResetSignal {
    wake: Notify,
    raised: AtomicBool,
}

impl ResetSignal {
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// The lease a host holds now: the renewal replaces it after a re-registration.
pub type HeldLease = Arc<Mutex<AcquiredLease>>;

/// What registering a host again takes: the config it leased under and its request.
pub struct Registration {
    /// The network config's JSON as the store held it when the lease was taken.
    pub config: String,
    pub request: LeaseRequest,
}

pub fn held(lease: &HeldLease) -> AcquiredLease {
    lease
        .lock()
        .map_or_else(|p| p.into_inner().clone(), |l| l.clone())
}

fn replace(lease: &HeldLease, new: AcquiredLease) {
    match lease.lock() {
        Ok(mut l) => *l = new,
        Err(p) => *p.into_inner() = new,
    }
}

fn say(host: &str, text: &str) {
    eprintln!("netsh: {host}: {text}");
}

/// Keeps the lease alive (a keep-alive a third of its TTL, at most hourly, as flanneld renews well
/// before expiry). A lease lost in a store reset is registered again; otherwise a lost lease stops
/// the host's overlay.
pub async fn renew(
    reg: Registry,
    lease: HeldLease,
    stop: Arc<watch::Sender<Order>>,
    host: String,
    registration: Registration,
    reset: Arc<ResetSignal>,
) {
    let first = held(&lease);
    let Some(ttl) = first.ttl else { return }; // a reservation never expires
    let every = (ttl / 3).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    // the newest store revision seen while the lease was held: a store below it was reset
    let mut seen: Revision = first.lease.mod_revision;
    // the key as last read: its attributes carry the backend data the overlay published
    let mut last: Option<KeyValue> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = reset.wake.notified() => {}
        }
        let current = held(&lease);
        match reg.renew(&current).await {
            Ok(_) => {
                // a reset the watch thought it saw did not take the lease: nothing to register
                reset.raised.store(false, Ordering::SeqCst);
                if let Ok(Some(kv)) = reg.store().get(&current.lease.key).await {
                    seen = seen.max(kv.mod_revision);
                    last = Some(kv);
                }
                if let Ok(revision) = reg.store().revision().await {
                    seen = seen.max(revision);
                }
            }
            Err(lost @ LeaseError::Lost { .. }) => {
                let now = reg.store().revision().await;
                let Ok(now) = now.map_err(|e| say(&host, &format!("{lost}; {e}; retrying"))) else {
                    continue;
                };
                let told = reset.raised.swap(false, Ordering::SeqCst);
                if now >= seen && !told {
                    say(&host, &format!("{lost}; stopping its overlay"));
                    let _ = stop.send(Order::Withdraw);
                    return;
                }
                let why = if now < seen {
                    format!("its revision went back from {seen} or more to {now}")
                } else {
                    "the overlay's watch saw its revision go back".to_string()
                };
                say(
                    &host,
                    &format!(
                        "the store was reset ({why}); registering the network config and the lease on {} again",
                        current.lease.subnet
                    ),
                );
                match register_again(&reg, &registration, &current, last.as_ref()).await {
                    Ok(again) => {
                        say(
                            &host,
                            &format!("Lease registered again: {}", again.lease.subnet),
                        );
                        seen = again.lease.mod_revision;
                        last = None;
                        replace(&lease, again);
                    }
                    Err(e) => {
                        say(
                            &host,
                            &format!("cannot register the lease again ({e}); stopping its overlay"),
                        );
                        let _ = stop.send(Order::Withdraw);
                        return;
                    }
                }
            }
            Err(e) => say(&host, &format!("cannot renew the lease ({e}); retrying")),
        }
    }
}

/// Puts the config back (unless another host already did) and takes the same subnet again,
/// with the attributes the lease last had.
async fn register_again(
    reg: &Registry,
    registration: &Registration,
    lost: &AcquiredLease,
    last: Option<&KeyValue>,
) -> Result<AcquiredLease, LeaseError> {
    let config = match reg.config().await {
        Ok((config, _)) => config,
        Err(LeaseError::NoConfig { .. }) => reg.set_config(&registration.config).await?,
        Err(e) => return Err(e),
    };
    let attrs: LeaseAttrs = last
        .and_then(SubnetLease::from_key_value)
        .map_or_else(|| lost.lease.attrs.clone(), |l| l.attrs);
    let mut request = registration.request.clone();
    request.backend_type = attrs.backend_type;
    request.backend_data = attrs.backend_data;
    request.previous_subnet = Some(lost.lease.subnet);
    request.previous_ipv6_subnet = lost.lease.ipv6_subnet;
    let again = reg.acquire(&config, &request).await?;
    if again.lease.subnet != lost.lease.subnet {
        // another host took the subnet meanwhile: this host's subnet.env and overlay are for
        // the old one, so give the new one back
        let _ = reg.release(&again).await;
        return Err(LeaseError::Lost {
            subnet: lost.lease.subnet,
            why: "another host took the subnet after the store was reset",
        });
    }
    Ok(again)
}
