//! Applying neighbour Ops: carrying each out, and recording how to undo it.

use crate::base::error::{Kind, RunError};
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::interp::world::World;
use crate::netlink::handle::Netlink;
use crate::netlink::{errors, links, neigh};
use crate::ops::{FdbAction, NeighOp, Ns, Op};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr};

impl RealWorld {
    /// The addresses with a proxy entry on `dev` (one dump of the proxy table).
    fn proxy_entries(&mut self, nl: &Netlink, dev: &str) -> Result<HashSet<Ipv6Addr>, RunError> {
        let kernel = |e| errors::kernel("cannot read the proxy entries", &e);
        self.rt.block_on(async {
            let idx = links::index(nl, dev).await?;
            let all = neigh::dump(nl, AddressFamily::Inet6, true)
                .await
                .map_err(kernel)?;
            Ok(all
                .iter()
                .filter(|m| m.header.ifindex == idx)
                .flat_map(|m| &m.attributes)
                .filter_map(|a| match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => Some(*ip),
                    _ => None,
                })
                .collect())
        })
    }

    pub(in crate::engine) fn proxy_exists(
        &mut self,
        nl: &Netlink,
        addr: Ipv6Addr,
        dev: &str,
    ) -> Result<bool, RunError> {
        Ok(self.proxy_entries(nl, dev)?.contains(&addr))
    }

    /// Applies the `ProxyDel`s that go with containers (`network rm`, `netns del`), reading each
    /// device's proxy entries once: an entry someone took away already, or whose device is gone,
    /// is skipped.
    pub(in crate::engine) fn take_proxy_entries(&mut self, ops: &[Op]) -> Result<(), RunError> {
        let mut held: HashMap<(Ns, String), HashSet<Ipv6Addr>> = HashMap::new();
        for op in ops {
            let Op::Neigh(NeighOp::ProxyDel { ns, addr, dev }) = op else {
                self.apply(op)?;
                continue;
            };
            let key = (ns.clone(), dev.to_string());
            if !held.contains_key(&key) {
                let nl = self.nl(ns)?;
                let entries = match self.proxy_entries(&nl, dev) {
                    Err(e) if e.kind == Kind::Gone => HashSet::new(),
                    read => read?,
                };
                held.insert(key.clone(), entries);
            }
            if held.get(&key).is_some_and(|e| e.contains(addr)) {
                self.apply(op)?;
            }
        }
        Ok(())
    }

    pub(in crate::engine) fn fdb_exists(
        &mut self,
        nl: &Netlink,
        mac: [u8; 6],
        dev: &str,
        dst: Option<std::net::IpAddr>,
    ) -> Result<bool, RunError> {
        let kernel = |e| errors::kernel("cannot read the forwarding database", &e);
        self.rt.block_on(async {
            let idx = links::index(nl, dev).await?;
            let all = neigh::dump(nl, AddressFamily::Bridge, false)
                .await
                .map_err(kernel)?;
            Ok(all.iter().any(|m| {
                let has = |want: &NeighbourAttribute| m.attributes.contains(want);
                m.header.ifindex == idx
                    && has(&NeighbourAttribute::LinkLayerAddress(mac.to_vec()))
                    && dst.is_none_or(|d| {
                        m.attributes.iter().any(|a| match a {
                            NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                                std::net::IpAddr::V4(*v4) == d
                            }
                            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                                std::net::IpAddr::V6(*v6) == d
                            }
                            // in an AF_BRIDGE dump the destination may come as raw bytes
                            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => {
                                match d {
                                    std::net::IpAddr::V4(v4) => b[..] == v4.octets()[..],
                                    std::net::IpAddr::V6(v6) => b[..] == v6.octets()[..],
                                }
                            }
                            _ => false,
                        })
                    })
            }))
        })
    }

    /// `neigh add`: whether the kernel added the entry (one that is there is no change).
    fn add_neigh(
        &mut self,
        ns: &Ns,
        addr: IpAddr,
        lladdr: [u8; 6],
        dev: &str,
        router: bool,
    ) -> Result<bool, RunError> {
        let nl = self.nl(ns)?;
        let strict = self.opts.strict;
        self.rt
            .block_on(neigh::add(&nl, addr, lladdr, dev, router, strict))
    }

    /// `fdb add|append|del`: whether the kernel's forwarding database changed.
    fn fdb(
        &mut self,
        nl: &Netlink,
        action: FdbAction,
        mac: [u8; 6],
        dev: &str,
        dst: Option<IpAddr>,
    ) -> Result<bool, RunError> {
        let strict = self.opts.strict;
        self.rt
            .block_on(neigh::fdb(nl, action, mac, dev, dst, strict))
    }

    /// Carries out a neighbour Op, recording nothing (`record_neigh` records around it).
    pub(in crate::engine) fn dispatch_neigh(&mut self, op: &NeighOp) -> Result<(), RunError> {
        let strict = self.opts.strict;
        match op {
            NeighOp::Add {
                ns,
                addr,
                lladdr,
                dev,
                router,
                ..
            } => self.add_neigh(ns, *addr, *lladdr, dev, *router).map(drop),
            NeighOp::Del { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(neigh::del(&nl, *addr, dev))
            }
            NeighOp::ProxyAdd { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(neigh::proxy_add(&nl, *addr, dev, strict))
                    .map(drop)
            }
            NeighOp::ProxyDel { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(neigh::proxy_del(&nl, *addr, dev))
            }
            NeighOp::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let nl = self.nl(ns)?;
                self.fdb(&nl, *action, *mac, dev, *dst).map(drop)
            }
        }
    }

    /// Applies a neighbour Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_neigh(
        &mut self,
        whole: &Op,
        op: &NeighOp,
    ) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        match op {
            NeighOp::Add {
                ns,
                addr,
                lladdr,
                dev,
                router,
                ..
            } => {
                if self.add_neigh(ns, *addr, *lladdr, dev, *router)? {
                    Ok(Applied::removed_by(whole))
                } else {
                    Ok(Applied::none())
                }
            }
            NeighOp::ProxyAdd { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                // the kernel answers a proxy entry that exists with success, not EEXIST: look first
                let existed = self.proxy_exists(&nl, *addr, dev)?;
                if existed && strict {
                    return Err(RunError::new(format!(
                        "proxy entry {addr} on {dev} exists already"
                    )));
                }
                if !existed
                    && self
                        .rt
                        .block_on(neigh::proxy_add(&nl, *addr, dev, strict))?
                {
                    Ok(Applied::removed_by(whole))
                } else {
                    Ok(Applied::none())
                }
            }
            NeighOp::Fdb {
                ns,
                action: FdbAction::Del,
                ..
            } => self.deletion(whole, vec![ns.clone()], None),
            // the entry is not in any state dump reads back: its inverse is known from the Op
            NeighOp::ProxyDel { ns, addr, dev } => {
                self.dispatch(whole)?;
                Ok(Applied::changed(vec![Undo::Op(Op::Neigh(
                    NeighOp::ProxyAdd {
                        ns: ns.clone(),
                        addr: *addr,
                        dev: dev.clone(),
                    },
                ))]))
            }
            NeighOp::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let nl = self.nl(ns)?;
                // an append of an entry that is there succeeds again: look first
                if *action == FdbAction::Append && self.fdb_exists(&nl, *mac, dev, *dst)? {
                    return Ok(Applied::none());
                }
                if !self.fdb(&nl, *action, *mac, dev, *dst)? {
                    return Ok(Applied::none());
                }
                Ok(Applied::removed_by(whole))
            }
            NeighOp::Del { ns, .. } => self.deletion(whole, vec![ns.clone()], None),
        }
    }
}
