//! Applying flannel Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::ops::FlannelOp;
use crate::ops::Op;

impl RealWorld {
    /// Carries out a flannel Op, recording nothing (`record_flannel` records around it).
    pub(in crate::engine) fn dispatch_flannel(&mut self, op: &FlannelOp) -> Result<(), RunError> {
        match op {
            FlannelOp::Store(spec) => self.flannel()?.select(spec),
            FlannelOp::Config { prefix, json } => {
                self.flannel()?.network_config(prefix, json).map(drop)
            }
            FlannelOp::Lease { host, lease } => self.flannel()?.lease(host, lease).map(drop),
            FlannelOp::Release { host } => self.flannel()?.release(host),
            FlannelOp::Overlay { host, overlay } => {
                self.flannel()?.overlay(host, overlay).map(drop)
            }
            FlannelOp::DockerOpts { host, opts } => self.flannel()?.docker_opts(host, opts),
        }
    }

    /// Applies a flannel Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_flannel(
        &mut self,
        whole: &Op,
        op: &FlannelOp,
    ) -> Result<Applied, RunError> {
        match op {
            FlannelOp::Store(_) => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
            FlannelOp::Config { prefix, json } => {
                let (key, old) = self.flannel()?.network_config(prefix, json)?;
                if old.as_ref().is_some_and(|kv| kv.value == json.as_bytes()) {
                    return Ok(Applied::none());
                }
                Ok(Applied::changed(vec![Undo::StoreKey { key, old }]))
            }
            FlannelOp::Lease { host, lease } => {
                let before = self.flannel()?.lease(host, lease)?;
                Ok(Applied::changed(vec![Undo::Lease {
                    host: host.clone(),
                    subnet: before.subnet.to_string(),
                    before: Box::new(before),
                }]))
            }
            FlannelOp::Release { host } => {
                self.dispatch(whole)?;
                Ok(Applied::changed(vec![Undo::Kept(format!(
                    "lease release{}: the subnet went back to the store, where another host may take it",
                    host.as_deref()
                        .map(|h| format!(" in {h}"))
                        .unwrap_or_default()
                ))]))
            }
            FlannelOp::Overlay { host, overlay } => {
                let mut published = None;
                let mut undo = self.with_inverse(whole, vec![host.clone()], None, |w| {
                    published = Some(w.flannel()?.overlay(host, overlay)?);
                    Ok(())
                })?;
                // run newest first: the service stops (and withdraws its routes), the lease's
                // value is put back, then the kernel state of the host is
                undo.extend(published.map(|(key, kv)| Undo::StoreKey { key, old: Some(kv) }));
                undo.push(Undo::OverlayStop { host: host.clone() });
                Ok(Applied::changed(undo))
            }
            // the options file is derived from subnet.env, which the lease's undo takes back
            FlannelOp::DockerOpts { .. } => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
