//! Applying neighbour Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::netlink::neigh;
use crate::ops::NeighOp;
use crate::ops::{FdbAction, Op};

impl RealWorld {
    /// Carries out a neighbour Op, recording nothing (`record_neighbour` records around it).
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
            } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(neigh::add(&nl, *addr, *lladdr, dev, *router, strict))
                    .map(drop)
            }
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
                self.rt
                    .block_on(neigh::fdb(&nl, *action, *mac, dev, *dst, strict))
                    .map(drop)
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
                let nl = self.nl(ns)?;
                if self
                    .rt
                    .block_on(neigh::add(&nl, *addr, *lladdr, dev, *router, strict))?
                {
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
                let changed = self
                    .rt
                    .block_on(neigh::fdb(&nl, *action, *mac, dev, *dst, strict))?;
                if !changed {
                    return Ok(Applied::none());
                }
                Ok(Applied::removed_by(whole))
            }
            NeighOp::Del { ns, .. } => self.deletion(whole, vec![ns.clone()], None),
        }
    }
}
