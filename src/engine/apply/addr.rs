//! Applying address Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::Applied;
use crate::netlink::addrs;
use crate::ops::AddrOp;
use crate::ops::{Ns, Op};
use ipnet::IpNet;

impl RealWorld {
    /// `addr add`: whether the kernel added it (an address that is there is no change).
    fn add_addr(&mut self, ns: &Ns, dev: &str, addr: IpNet, nodad: bool) -> Result<bool, RunError> {
        let nl = self.nl(ns)?;
        let strict = self.opts.strict;
        self.rt.block_on(addrs::add(&nl, dev, addr, nodad, strict))
    }

    /// Carries out an address Op, recording nothing (`record_addr` records around it).
    pub(in crate::engine) fn dispatch_addr(&mut self, op: &AddrOp) -> Result<(), RunError> {
        match op {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => self.add_addr(ns, dev, *addr, *nodad).map(drop),
            AddrOp::Del { ns, dev, addr } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(addrs::del(&nl, dev, *addr))
            }
        }
    }

    /// Applies an address Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_addr(
        &mut self,
        whole: &Op,
        op: &AddrOp,
    ) -> Result<Applied, RunError> {
        match op {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => {
                if self.add_addr(ns, dev, *addr, *nodad)? {
                    Ok(Applied::removed_by(whole))
                } else {
                    Ok(Applied::none())
                }
            }
            // routes through the address go with it: rebuilt from the state read before
            AddrOp::Del { ns, .. } => self.deletion(whole, vec![ns.clone()], None),
        }
    }
}
