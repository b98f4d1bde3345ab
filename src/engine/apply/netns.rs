//! Applying namespace Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::base::json_stream;
use crate::engine::real::RealWorld;
use crate::engine::restore;
use crate::engine::undo::{Applied, Undo};
use crate::ops::NetnsOp;
use crate::ops::Op;
use crate::sys::netns;

impl RealWorld {
    /// Carries out a namespace Op, recording nothing (`record_netns` records around it).
    pub(in crate::engine) fn dispatch_netns(&mut self, op: &NetnsOp) -> Result<(), RunError> {
        let strict = self.opts.strict;
        match op {
            NetnsOp::Add { name } => netns::add(name, strict).map(drop),
            NetnsOp::Del { name } => {
                self.handles.forget(name);
                // a container deleted by hand gives its network addresses back
                let _ = self.docker.container_gone(name);
                if let Some(f) = self.flannel.as_mut() {
                    f.forget(name);
                }
                netns::del(name)
            }
            NetnsOp::List => {
                let rows = netns::list()
                    .into_iter()
                    .map(|n| serde_json::json!({"name": n}))
                    .collect();
                json_stream::show("netns", None, false, rows, |rows| {
                    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
                    names.join("\n")
                });
                Ok(())
            }
        }
    }

    /// Applies a namespace Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_netns(
        &mut self,
        whole: &Op,
        op: &NetnsOp,
    ) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        match op {
            NetnsOp::Add { name } => {
                // there already: no change, and nothing to journal
                if !strict && netns::exists(name) {
                    return Ok(Applied::none());
                }
                // journaled before it is made: a namespace made by a run killed right after is
                // still taken away by `netsh down`
                let undo: Vec<_> = restore::removal(whole).into_iter().collect();
                self.intend(&undo);
                match netns::add(name, strict) {
                    Ok(true) => Ok(Applied::intended(undo)),
                    made => {
                        self.retract();
                        made.map(|_| Applied::none())
                    }
                }
            }
            NetnsOp::Del { name } => {
                // a container of an `ndp-proxy` network takes its host's proxy entries with it,
                // as `network rm` does (a rollback puts them back)
                let proxies = self.docker.proxy_dels(name);
                self.take_proxy_entries(&proxies)?;
                let was = self.docker.memberships(name);
                let ns = Some(name.clone());
                let spaces = self.reach(&ns);
                let lead = Op::Netns(NetnsOp::Add { name: name.clone() });
                let mut applied = self.deletion(whole, spaces, Some(lead))?;
                // a container's addresses went back to its networks' pools: a rollback takes
                // them again once its namespace is back (steps run newest first)
                if !was.is_empty() {
                    applied.undo.insert(
                        0,
                        Undo::Rejoin {
                            container: name.to_string(),
                            was,
                        },
                    );
                }
                Ok(applied)
            }
            // they show or check, and change nothing
            NetnsOp::List => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
