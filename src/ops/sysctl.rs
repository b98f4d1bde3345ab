//! Kernel settings (sysctls), per namespace.

use super::render::{InNs, Put, Quoted, put, shell_safe};
use super::script::{in_ns, word};
use super::{Name, Ns};

#[derive(Clone, Debug, PartialEq)]
pub enum SysctlOp {
    Set { ns: Ns, key: Name, value: Name },
    Show { ns: Ns, key: Name },
}

impl SysctlOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            SysctlOp::Set { ns, key, value } => {
                put!(out, InNs(ns), "sysctl -w ");
                if shell_safe(key) && shell_safe(value) {
                    put!(out, key, "=", value);
                } else {
                    Quoted(&format!("{key}={value}")).put(out);
                }
            }
            SysctlOp::Show { ns, key } => put!(out, InNs(ns), "sysctl ", key),
        }
    }

    /// The statement that performs the Op, when the language has one (see script.rs).
    pub(super) fn statement(&self) -> Option<String> {
        Some(match self {
            SysctlOp::Set { ns, key, value } => {
                format!("sysctl {} = {}{}", word(key), word(value), in_ns(ns))
            }
            // undo steps and `dump` never hold these: they are not kernel state a statement rebuilds
            SysctlOp::Show { .. } => return None,
        })
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            SysctlOp::Show { .. } => false,
            SysctlOp::Set { .. } => true,
        }
    }

    /// The link the Op acts on (for an address, route, entry or per-link sysctl: the link it is on).
    pub(super) fn link(&self) -> Option<(&Ns, String)> {
        match self {
            // net.ipv6.conf.<link>.proxy_ndp, the link's dots written as slashes
            SysctlOp::Set { ns, key, .. } => key
                .strip_prefix("net.ipv6.conf.")
                .and_then(|k| k.strip_suffix(".proxy_ndp"))
                .filter(|l| !matches!(*l, "all" | "default"))
                .map(|l| (ns, l.replace('/', "."))),
            // namespaces, services, checks and the runtimes' Ops sit on no one link
            SysctlOp::Show { .. } => None,
        }
    }
}
