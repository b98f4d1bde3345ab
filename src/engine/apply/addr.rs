//! Applying address Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::Applied;
use crate::netlink::addrs;
use crate::ops::AddrOp;
use crate::ops::Op;

impl RealWorld {
    /// Carries out a address Op, recording nothing (`record_address` records around it).
    pub(in crate::engine) fn dispatch_addr(&mut self, op: &AddrOp) -> Result<(), RunError> {
        let strict = self.opts.strict;
        match op {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(addrs::add(&nl, dev, *addr, *nodad, strict))
                    .map(drop)
            }
            AddrOp::Del { ns, dev, addr } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(addrs::del(&nl, dev, *addr))
            }
        }
    }

    /// Applies a address Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_addr(
        &mut self,
        whole: &Op,
        op: &AddrOp,
    ) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        match op {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => {
                let nl = self.nl(ns)?;
                if self
                    .rt
                    .block_on(addrs::add(&nl, dev, *addr, *nodad, strict))?
                {
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
