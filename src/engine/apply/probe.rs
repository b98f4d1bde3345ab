//! Applying probe Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::ops::Op;
use crate::ops::ProbeOp;
use crate::sys::exec;

impl RealWorld {
    /// Carries out a probe Op, recording nothing (`record_probe` records around it).
    pub(in crate::engine) fn dispatch_probe(&mut self, op: &ProbeOp) -> Result<(), RunError> {
        match op {
            ProbeOp::Exec { ns, argv } => exec::run(ns.as_deref(), argv, self.hosts.as_deref()),
            ProbeOp::Show { ns, what, json } => self.show(ns, what, *json),
            ProbeOp::Echo(text) => {
                self.print(text);
                Ok(())
            }
            ProbeOp::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => self.ping(from, target, *src, *count, *timeout),
            ProbeOp::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => self.expect(from, target, *src, *timeout, check),
            ProbeOp::Dump { ns } => {
                let text = self.dump_script(ns)?;
                self.print(&text);
                Ok(())
            }
        }
    }

    /// Applies a probe Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_probe(
        &mut self,
        whole: &Op,
        op: &ProbeOp,
    ) -> Result<Applied, RunError> {
        match op {
            ProbeOp::Exec { argv, .. } => {
                self.dispatch(whole)?;
                Ok(Applied {
                    changed: false,
                    undo: vec![Undo::Kept(format!("whatever `{}` changed", argv.join(" ")))],
                })
            }
            // they show or check, and change nothing
            ProbeOp::Show { .. }
            | ProbeOp::Echo(_)
            | ProbeOp::Ping { .. }
            | ProbeOp::Expect { .. }
            | ProbeOp::Dump { .. } => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
