//! Applying link Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::Applied;
use crate::netlink::links;
use crate::ops::LinkOp;
use crate::ops::{LinkKind, Op};

impl RealWorld {
    /// Carries out a link Op, recording nothing (`record_link` records around it).
    pub(in crate::engine) fn dispatch_link(&mut self, op: &LinkOp) -> Result<(), RunError> {
        match op {
            LinkOp::Add { ns, name, kind } => self.link_add(ns, name, kind),
            LinkOp::Set { ns, name, change } => {
                let nl = self.nl(ns)?;
                let target = match &change.netns {
                    Some(t) => Some(self.nl(&Some(t.clone()))?),
                    None => None,
                };
                self.rt
                    .block_on(links::set(&nl, name, change, target.as_ref()))
            }
            LinkOp::Del { ns, name } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(links::del(&nl, name))
            }
        }
    }

    /// Applies a link Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_link(
        &mut self,
        whole: &Op,
        op: &LinkOp,
    ) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        match op {
            LinkOp::Add { ns, name, kind } => {
                let created = if *kind == LinkKind::Tun {
                    // a TUN device is made through /dev/net/tun, which does not say whether it existed
                    let existed = self.link_kind(ns, name).is_some();
                    if !existed {
                        crate::sys::tun::add(ns.as_deref(), name)?;
                    }
                    !existed
                } else {
                    let nl = self.nl(ns)?;
                    self.rt.block_on(links::add(&nl, name, kind, &nl, strict))?
                };
                self.link_added(ns, name, kind, created)
            }
            LinkOp::Set { ns, name, change } => self.link_set(ns, name, change, whole),
            LinkOp::Del { ns, .. } => {
                let spaces = self.reach(ns);
                self.deletion(whole, spaces, None)
            }
        }
    }
}
