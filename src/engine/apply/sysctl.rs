//! Applying sysctl Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::base::json_stream::{self, Type};
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::ops::Op;
use crate::ops::SysctlOp;
use crate::sys::sysctl;

impl RealWorld {
    /// Carries out a sysctl Op, recording nothing (`record_sysctl` records around it).
    pub(in crate::engine) fn dispatch_sysctl(&mut self, op: &SysctlOp) -> Result<(), RunError> {
        match op {
            SysctlOp::Set { ns, key, value } => sysctl::set(ns.as_deref(), key, value),
            SysctlOp::Show { ns, key } => {
                let v = sysctl::get(ns.as_deref(), key)?;
                if json_stream::json() {
                    json_stream::record(
                        Type::Sysctl,
                        serde_json::json!({"ns": ns, "key": key.as_str(), "value": v.trim()}),
                    );
                } else {
                    self.print(Type::Sysctl, &format!("{key} = {v}"));
                }
                Ok(())
            }
        }
    }

    /// Applies a sysctl Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_sysctl(
        &mut self,
        whole: &Op,
        op: &SysctlOp,
    ) -> Result<Applied, RunError> {
        match op {
            SysctlOp::Set { ns, key, value } => {
                let old = sysctl::get(ns.as_deref(), key)?;
                if old.trim() == value.trim() {
                    return Ok(Applied::none());
                }
                sysctl::set(ns.as_deref(), key, value)?;
                Ok(Applied::changed(vec![Undo::Op(Op::Sysctl(
                    SysctlOp::Set {
                        ns: ns.clone(),
                        key: key.clone(),
                        value: old.trim().into(),
                    },
                ))]))
            }
            // they show or check, and change nothing
            SysctlOp::Show { .. } => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
