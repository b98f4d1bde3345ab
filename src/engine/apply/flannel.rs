//! Applying flannel Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::flannel_runtime::Started;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::interp::world::World;
use crate::ops::{FlannelOp, LinkOp, Ns, Op};

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
                // this host's lease kept as it was, subnet.env as it was: renewing the TTL is
                // what flanneld does when it starts, not a change
                if before.changed_nothing() {
                    return Ok(Applied::none());
                }
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
                // a flannel.N the overlay would not keep is removed through the run's record,
                // so a rollback brings it back with its entries
                for name in self.flannel()?.misfit_devices(host, overlay)? {
                    self.apply(&Op::Link(LinkOp::Del {
                        ns: host.clone(),
                        name: name.into(),
                    }))?;
                }
                let mut started = None;
                let mut undo = self.with_inverse(whole, vec![host.clone()], None, |w| {
                    started = Some(w.flannel()?.overlay(host, overlay)?);
                    Ok(())
                })?;
                let Started { published, tunnel } =
                    started.ok_or_else(|| RunError::new("the overlay did not start"))?;
                // a service found in place (its device, entries and sysctl as it would make
                // them, the lease saying so): starting it again is no change, as `serve http`'s
                if published.is_none() && only_the_service(&undo, host, tunnel) {
                    return Ok(Applied {
                        changed: false,
                        undo: vec![Undo::Service(format!(
                            "the overlay of {} (stops when netsh exits)",
                            host.as_deref().unwrap_or("this host")
                        ))],
                        journaled: false,
                    });
                }
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

/// Whether the undo steps of an overlay's start take back nothing but the service's own device
/// (`tunnel`, the udp tunnel's TUN in `host`, which goes when netsh exits): then the kernel
/// holds what it held before.
fn only_the_service(undo: &[Undo], host: &Ns, tunnel: Option<&str>) -> bool {
    undo.iter().all(|u| match u {
        Undo::Restore { steps, .. } => steps.iter().all(|s| {
            let on = match s {
                Undo::Op(Op::Link(LinkOp::Del { ns, name })) => Some((ns, name.to_string())),
                Undo::Op(op) => op.link(),
                _ => None,
            };
            on.is_some_and(|(ns, name)| ns == host && tunnel == Some(name.as_str()))
        }),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(ns: &str, name: &str) -> Undo {
        Undo::Op(Op::Link(LinkOp::Del {
            ns: Some(ns.into()),
            name: name.into(),
        }))
    }

    fn restore(steps: Vec<Undo>) -> Undo {
        Undo::Restore {
            what: "overlay".into(),
            steps,
        }
    }

    #[test]
    fn only_the_tunnels_own_device_is_part_of_the_service() {
        let host: Ns = Some("docker1".into());
        assert!(only_the_service(&[], &host, None), "nothing to undo");
        let tun = [restore(vec![del("docker1", "flannel0")])];
        assert!(only_the_service(&tun, &host, Some("flannel0")));
        assert!(!only_the_service(&tun, &host, None), "not a udp overlay");
        let elsewhere = [restore(vec![del("docker2", "flannel0")])];
        assert!(!only_the_service(&elsewhere, &host, Some("flannel0")));
        let more = [restore(vec![
            del("docker1", "flannel0"),
            del("docker1", "flannel.1"),
        ])];
        assert!(!only_the_service(&more, &host, Some("flannel0")));
        let kept = [Undo::Kept("a device netsh cannot make".into())];
        assert!(!only_the_service(&kept, &host, Some("flannel0")));
    }
}
