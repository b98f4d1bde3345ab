//! The overlay service of one host: converges the kernel on the leases in the store, then follows
//! the lease watch. Runs as a tokio task until stopped, until the host's own lease goes, or until
//! the process exits.

use crate::engine::lease_renewal::ResetSignal;
use crate::engine::overlay::external::External;
use crate::engine::overlay::{Kind, Names, Order, bare_name, hostgw, name_of, parse_mac, vxlan};
use crate::flannel::{LeaseEvent, LeaseEvents, Registry, SubnetLease};
use crate::netlink::handle::Netlink;
use crate::store::StoreError;
use futures::StreamExt;
use ipnet::Ipv4Net;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What the service put in the kernel for one remote lease, so it can take it out again.
#[derive(Clone, Debug, PartialEq)]
enum Installed {
    Route {
        via: Ipv4Addr,
    },
    /// An entry of the udp tunnel's peer table.
    Peer {
        public_ip: Ipv4Addr,
    },
    Vxlan {
        mac: [u8; 6],
        public_ip: Ipv4Addr,
    },
    /// Nothing could be installed (reported once); kept so a changed lease is retried.
    Nothing {
        public_ip: Ipv4Addr,
        mac: Option<[u8; 6]>,
    },
}

impl Installed {
    /// The remote host's PublicIP.
    fn public_ip(&self) -> Ipv4Addr {
        match self {
            Installed::Route { via } => *via,
            Installed::Peer { public_ip }
            | Installed::Vxlan { public_ip, .. }
            | Installed::Nothing { public_ip, .. } => *public_ip,
        }
    }
}

pub struct Service {
    /// The host as the user named it (for messages).
    pub host: String,
    pub nl: Netlink,
    pub own: Ipv4Net,
    pub ext: External,
    /// This host's address on the external interface's network (DirectRouting decides by it).
    pub public_ip: Ipv4Addr,
    pub kind: Kind,
    pub names: Names,
    installed: HashMap<Ipv4Net, Installed>,
    /// `installed` as the start left it: a rollback puts that back (`put_back`).
    initial: HashMap<Ipv4Net, Installed>,
}

fn say(text: &str) {
    eprintln!("netsh: {text}");
}

impl Service {
    pub fn new(
        host: String,
        nl: Netlink,
        own: Ipv4Net,
        ext: External,
        public_ip: Ipv4Addr,
        kind: Kind,
        names: Names,
    ) -> Service {
        Service {
            host,
            nl,
            own,
            ext,
            public_ip,
            kind,
            names,
            installed: HashMap::new(),
            initial: HashMap::new(),
        }
    }

    /// Converges on the leases the store holds as the overlay starts, and remembers the result:
    /// what the start found in place and what it added (the start's own undo takes that back).
    pub async fn start(&mut self, leases: &[SubnetLease]) {
        self.resync(leases).await;
        self.initial = self.installed.clone();
    }

    /// Remote subnets currently reached (for `show` and tests).
    pub fn reached(&self) -> Vec<Ipv4Net> {
        let mut v: Vec<_> = self
            .installed
            .iter()
            .filter(|(_, i)| !matches!(i, Installed::Nothing { .. }))
            .map(|(s, _)| *s)
            .collect();
        v.sort();
        v
    }

    /// Whether a peer can be reached directly (same L2 segment as the external interface).
    fn on_segment(&self, ip: Ipv4Addr) -> bool {
        self.ext.addr.is_some_and(|a| a.contains(&ip))
    }

    fn wanted(&self, lease: &SubnetLease) -> Installed {
        let public_ip = lease.attrs.public_ip;
        match self.kind {
            Kind::HostGw => Installed::Route { via: public_ip },
            Kind::Udp { .. } => Installed::Peer { public_ip },
            Kind::Vxlan { direct_routing, .. } => {
                if direct_routing && self.on_segment(public_ip) {
                    return Installed::Route { via: public_ip };
                }
                let mac = lease
                    .attrs
                    .backend_data
                    .as_ref()
                    .and_then(|d| d.get("VtepMAC"))
                    .and_then(|m| m.as_str())
                    .and_then(parse_mac);
                match mac {
                    Some(mac) if lease.attrs.backend_type == "vxlan" => {
                        Installed::Vxlan { mac, public_ip }
                    }
                    _ => Installed::Nothing { public_ip, mac },
                }
            }
        }
    }

    /// Installs what a remote lease needs; a lease of this host is skipped.
    pub async fn add(&mut self, lease: &SubnetLease) {
        if lease.subnet == self.own {
            return;
        }
        let want = self.wanted(lease);
        if self.installed.get(&lease.subnet) == Some(&want) {
            return;
        }
        self.remove(lease.subnet).await;
        self.install(lease.subnet, want).await;
    }

    /// Puts in the entries `want` names for a remote subnet that has none.
    async fn install(&mut self, subnet: Ipv4Net, want: Installed) {
        let peer = name_of(&self.names, want.public_ip());
        let got = match &want {
            Installed::Route { via } => {
                let r = hostgw::route(subnet, *via, &self.ext);
                match hostgw::add(&self.nl, &r, &self.ext).await {
                    Ok(()) => want.clone(),
                    Err(hostgw::AddError::NotOnLink) => {
                        say(&format!(
                            "{}: {} is not on the same L2 segment as {}: its PublicIP {via} is not on {} ({}), so {} cannot be routed via it; host-gw needs every host on one segment: use the vxlan overlay, or take the leases on an interface they share (`lease iface IF`)",
                            self.host,
                            bare_name(&self.names, *via),
                            self.host,
                            self.ext
                                .addr
                                .map(|a| a.trunc().to_string())
                                .unwrap_or_default(),
                            self.ext.name,
                            subnet
                        ));
                        Installed::Nothing {
                            public_ip: *via,
                            mac: None,
                        }
                    }
                    Err(hostgw::AddError::Other(e)) => {
                        say(&format!("{}: {e}", self.host));
                        Installed::Nothing {
                            public_ip: *via,
                            mac: None,
                        }
                    }
                }
            }
            Installed::Vxlan { mac, public_ip } => {
                let Kind::Vxlan { vni, .. } = self.kind else {
                    return;
                };
                match vxlan::add(&self.nl, vni, subnet, *mac, *public_ip).await {
                    Ok(()) => want.clone(),
                    Err(e) => {
                        say(&format!("{}: {peer}: {e}", self.host));
                        Installed::Nothing {
                            public_ip: *public_ip,
                            mac: Some(*mac),
                        }
                    }
                }
            }
            Installed::Peer { public_ip } => {
                if let Kind::Udp { peers } = &self.kind {
                    peers.set(subnet, *public_ip);
                }
                want.clone()
            }
            // a vxlan lease without a VtepMAC yet: its host's overlay has not started; its
            // VtepMAC arrives as an update of the lease
            Installed::Nothing { .. } => want.clone(),
        };
        self.installed.insert(subnet, got);
    }

    /// Takes out what was installed for a remote subnet.
    pub async fn remove(&mut self, subnet: Ipv4Net) {
        let Some(old) = self.installed.remove(&subnet) else {
            return;
        };
        let result = match old {
            Installed::Route { via } => {
                let r = hostgw::route(subnet, via, &self.ext);
                let removed = hostgw::del(&self.nl, &r, Some(self.ext.index)).await;
                removed.map_err(|e| e.message)
            }
            Installed::Vxlan { mac, public_ip } => match self.kind {
                Kind::Vxlan { vni, .. } => vxlan::del(&self.nl, vni, subnet, mac, public_ip).await,
                Kind::HostGw | Kind::Udp { .. } => Ok(()),
            },
            Installed::Peer { .. } => {
                if let Kind::Udp { peers } = &self.kind {
                    peers.remove(subnet);
                }
                Ok(())
            }
            Installed::Nothing { .. } => Ok(()),
        };
        if let Err(e) = result {
            say(&format!("{}: {e}", self.host));
        }
    }

    /// Brings the kernel in line with a full list of leases.
    pub async fn resync(&mut self, leases: &[SubnetLease]) {
        let gone: Vec<Ipv4Net> = self
            .installed
            .keys()
            .filter(|s| !leases.iter().any(|l| l.subnet == **s))
            .copied()
            .collect();
        for s in gone {
            self.remove(s).await;
        }
        for l in leases {
            self.add(l).await;
        }
    }

    /// Withdraws everything (the host's own lease is gone).
    async fn withdraw(&mut self) {
        let all: Vec<Ipv4Net> = self.installed.keys().copied().collect();
        for s in all {
            self.remove(s).await;
        }
    }

    /// Puts the kernel back as the start left it, for a rollback: an entry changed since is taken
    /// out and the one the start found or made is put back. What the start made is then taken
    /// out by the start's own undo, so an entry found in place stays, as before the run.
    async fn put_back(&mut self) {
        let subnets: BTreeSet<Ipv4Net> = self
            .installed
            .keys()
            .chain(self.initial.keys())
            .copied()
            .collect();
        for s in subnets {
            let then = self.initial.get(&s).cloned();
            if self.installed.get(&s) == then.as_ref() {
                continue;
            }
            self.remove(s).await;
            if let Some(then) = then {
                self.install(s, then).await;
            }
        }
    }

    /// Applies the leases as the store holds them now (what the watch has not delivered yet),
    /// for the end of a run: the kernel is then left in line with the store. Nothing is done
    /// when the store cannot be read or no longer holds this host's lease.
    async fn settle(&mut self, registry: &Registry) {
        match registry.leases().await {
            Ok(leases) if leases.iter().any(|l| l.subnet == self.own) => self.resync(&leases).await,
            Ok(_) => {}
            Err(e) => say(&format!(
                "{}: cannot read the leases a last time ({e}); the overlay stops as it is",
                self.host
            )),
        }
    }

    /// Carries out an order to stop. `false`: the order is to go on running.
    async fn obey(&mut self, order: Order, registry: &Registry) -> bool {
        match order {
            Order::Run => return false,
            Order::Withdraw => self.withdraw().await,
            Order::PutBack => self.put_back().await,
            Order::Settle => self.settle(registry).await,
        }
        true
    }

    /// Applies one change. `false`: the host's own lease went, and the overlay with it.
    async fn apply(&mut self, event: LeaseEvent) -> bool {
        match event {
            LeaseEvent::Added(l) => self.add(&l).await,
            LeaseEvent::Removed { subnet, .. } if subnet == self.own => {
                self.withdraw().await;
                say(&format!(
                    "{}: the lease on {subnet} is gone; the {} overlay withdrew its routes and stopped",
                    self.host,
                    self.kind.name()
                ));
                return false;
            }
            LeaseEvent::Removed { subnet, .. } => self.remove(subnet).await,
        }
        true
    }

    /// A fresh read of the leases and a new watch after the old one broke; `None` when the
    /// service ends instead. After a store reset this host's lease is missing until its renewal
    /// registers it again (flannel_runtime.rs), so the service waits for it rather than
    /// withdrawing, keeping the peers' entries in line with the store meanwhile; the renewal
    /// stops the service if it cannot.
    async fn reopen(
        &mut self,
        registry: &Registry,
        reset: bool,
        stop: &mut watch::Receiver<Order>,
    ) -> Option<LeaseEvents> {
        let mut waited = false;
        loop {
            tokio::time::sleep(Duration::from_millis(if waited { 200 } else { 500 })).await;
            match stop.has_changed() {
                Err(_) => return None,
                Ok(_) => {
                    let order = *stop.borrow_and_update();
                    if self.obey(order, registry).await {
                        return None;
                    }
                }
            }
            match registry.watch_leases().await {
                Ok((leases, fresh)) => {
                    if !leases.iter().any(|l| l.subnet == self.own) {
                        if reset {
                            self.resync(&leases).await;
                            waited = true;
                            continue;
                        }
                        self.apply(LeaseEvent::Removed {
                            subnet: self.own,
                            ipv6_subnet: None,
                        })
                        .await;
                        return None;
                    }
                    self.resync(&leases).await;
                    return Some(fresh);
                }
                Err(e) => say(&format!(
                    "{}: cannot watch the leases ({e}); retrying",
                    self.host
                )),
            }
        }
    }

    /// Follows the watch until stopped. A broken watch (store restarted, history compacted) is
    /// reopened from a fresh read of the leases, so nothing is missed.
    /// `reset_signal` tells the host's lease renewal that the store was reset, so it registers
    /// the lease again at once.
    pub async fn run(
        mut self,
        registry: Registry,
        mut events: LeaseEvents,
        mut stop: watch::Receiver<Order>,
        reset_signal: Arc<ResetSignal>,
    ) {
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    // the sender gone: the run is ending and the kernel state stays, as flanneld's does
                    if changed.is_err() {
                        return;
                    }
                    let order = *stop.borrow_and_update();
                    if self.obey(order, &registry).await {
                        return;
                    }
                }
                next = events.next() => match next {
                    Some(Ok(event)) => {
                        if !self.apply(event).await {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let reset = matches!(e, StoreError::Reset { .. });
                        if reset {
                            say(&format!("{}: {e}; following the leases afresh", self.host));
                            reset_signal.raise();
                        }
                        match self.reopen(&registry, reset, &mut stop).await {
                            Some(fresh) => events = fresh,
                            None => return,
                        }
                    }
                    None => match self.reopen(&registry, false, &mut stop).await {
                        Some(fresh) => events = fresh,
                        None => return,
                    },
                },
            }
        }
    }
}
