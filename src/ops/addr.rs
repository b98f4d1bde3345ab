//! Addresses on links.

use super::render::{IpCmd, Net, Shown, flag, put};
use super::script::{in_ns, word};
use super::{Name, Ns, Op};
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq)]
pub enum AddrOp {
    Add {
        ns: Ns,
        dev: Name,
        addr: IpNet,
        nodad: bool,
    },
    Del {
        ns: Ns,
        dev: Name,
        addr: IpNet,
    },
}

impl AddrOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => {
                put!(out, IpCmd(ns), " addr add ", Net(addr), " dev ", dev);
                flag(out, " nodad", *nodad);
            }
            AddrOp::Del { ns, dev, addr } => {
                put!(out, IpCmd(ns), " addr del ", Shown(addr), " dev ", dev)
            }
        }
    }

    /// The statement that performs the Op, when the language has one (see script.rs).
    pub(super) fn statement(&self) -> Option<String> {
        Some(match self {
            AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            } => format!(
                "addr add {addr} dev {}{}{}",
                word(dev),
                if *nodad { " nodad" } else { "" },
                in_ns(ns)
            ),
            AddrOp::Del { ns, dev, addr } => {
                format!("addr del {addr} dev {}{}", word(dev), in_ns(ns))
            }
        })
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            AddrOp::Add { .. } | AddrOp::Del { .. } => true,
        }
    }

    /// The Op that takes away what this one built, if it adds one object: its inverse for rollback, pipelined requests and state diffs alike.
    pub(super) fn removal(&self) -> Option<Op> {
        Some(match self {
            AddrOp::Add { ns, dev, addr, .. } => Op::Addr(AddrOp::Del {
                ns: ns.clone(),
                dev: dev.clone(),
                addr: *addr,
            }),
            // deletions, settings and the rest: their inverse is not a removal
            AddrOp::Del { .. } => return None,
        })
    }

    /// The link the Op acts on (for an address, route, entry or per-link sysctl: the link it is on).
    pub(super) fn link(&self) -> Option<(&Ns, String)> {
        match self {
            AddrOp::Add { ns, dev, .. } | AddrOp::Del { ns, dev, .. } => {
                Some((ns, dev.to_string()))
            }
        }
    }
}
