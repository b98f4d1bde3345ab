//! Neighbours: ARP/NDP entries, proxy-NDP entries and the bridge forwarding database.

use super::format_mac;
use super::render::{Addr, IpCmd, Mac, Quoted, Shown, flag, opt, put};
use super::script::{in_ns, word};
use super::{Name, Ns, Op};
use std::net::{IpAddr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdbAction {
    Add,
    Append,
    Del,
}

impl FdbAction {
    /// The word `bridge fdb` and netsh's `fdb` statement use for it.
    pub fn word(self) -> &'static str {
        match self {
            FdbAction::Add => "add",
            FdbAction::Append => "append",
            FdbAction::Del => "del",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum NeighOp {
    Add {
        ns: Ns,
        addr: IpAddr,
        lladdr: [u8; 6],
        dev: Name,
        permanent: bool,
        router: bool,
    },
    Del {
        ns: Ns,
        addr: IpAddr,
        dev: Name,
    },
    /// A kernel proxy-NDP entry (NTF_PROXY) for one address.
    ProxyAdd {
        ns: Ns,
        addr: Ipv6Addr,
        dev: Name,
    },
    ProxyDel {
        ns: Ns,
        addr: Ipv6Addr,
        dev: Name,
    },
    Fdb {
        ns: Ns,
        action: FdbAction,
        mac: [u8; 6],
        dev: Name,
        dst: Option<IpAddr>,
    },
}

impl NeighOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            NeighOp::Add {
                ns,
                addr,
                lladdr,
                dev,
                permanent,
                router,
            } => {
                put!(
                    out,
                    IpCmd(ns),
                    " neigh add ",
                    Addr(addr),
                    " lladdr ",
                    Mac(lladdr),
                    " dev ",
                    dev
                );
                flag(out, " nud permanent", *permanent);
                flag(out, " router", *router);
            }
            NeighOp::Del { ns, addr, dev } => {
                put!(out, IpCmd(ns), " neigh del ", Shown(addr), " dev ", dev)
            }
            NeighOp::ProxyAdd { ns, addr, dev } => {
                put!(
                    out,
                    IpCmd(ns),
                    " -6 neigh add proxy ",
                    Shown(addr),
                    " dev ",
                    dev
                )
            }
            NeighOp::ProxyDel { ns, addr, dev } => {
                put!(
                    out,
                    IpCmd(ns),
                    " -6 neigh del proxy ",
                    Shown(addr),
                    " dev ",
                    dev
                )
            }
            NeighOp::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                match ns {
                    Some(n) => put!(out, "bridge -n ", Quoted(n), " fdb"),
                    None => out.push_str("bridge fdb"),
                }
                put!(out, " ", action.word(), " ", Mac(mac), " dev ", dev);
                opt(out, "dst", dst.as_ref().map(Addr));
            }
        }
    }

    /// The statement that performs the Op, when the language has one (see script.rs).
    pub(super) fn statement(&self) -> Option<String> {
        Some(match self {
            NeighOp::Add {
                ns,
                addr,
                lladdr,
                dev,
                permanent,
                router,
            } => format!(
                "neigh add {addr} lladdr {} dev {}{}{}{}",
                format_mac(lladdr),
                word(dev),
                if *permanent { " permanent" } else { "" },
                if *router { " router" } else { "" },
                in_ns(ns)
            ),
            NeighOp::Del { ns, addr, dev } => {
                format!("neigh del {addr} dev {}{}", word(dev), in_ns(ns))
            }
            NeighOp::ProxyAdd { ns, addr, dev } => {
                format!("proxy-ndp {addr} on {}{}", word(dev), in_ns(ns))
            }
            NeighOp::ProxyDel { ns, addr, dev } => {
                format!("neigh del {addr} dev {} proxy{}", word(dev), in_ns(ns))
            }
            NeighOp::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let verb = action.word();
                let dst = dst.map(|d| format!(" dst {d}")).unwrap_or_default();
                format!(
                    "fdb {verb} {} dev {}{dst}{}",
                    format_mac(mac),
                    word(dev),
                    in_ns(ns)
                )
            }
        })
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            NeighOp::Add { .. }
            | NeighOp::Del { .. }
            | NeighOp::ProxyAdd { .. }
            | NeighOp::ProxyDel { .. }
            | NeighOp::Fdb { .. } => true,
        }
    }

    /// The Op that takes away what this one built, if it adds one object: its inverse for rollback, pipelined requests and state diffs alike.
    pub(super) fn removal(&self) -> Option<Op> {
        Some(match self {
            NeighOp::Add { ns, addr, dev, .. } => Op::Neigh(NeighOp::Del {
                ns: ns.clone(),
                addr: *addr,
                dev: dev.clone(),
            }),
            NeighOp::Fdb {
                ns,
                action: FdbAction::Add | FdbAction::Append,
                mac,
                dev,
                dst,
            } => Op::Neigh(NeighOp::Fdb {
                ns: ns.clone(),
                action: FdbAction::Del,
                mac: *mac,
                dev: dev.clone(),
                dst: *dst,
            }),
            NeighOp::ProxyAdd { ns, addr, dev } => Op::Neigh(NeighOp::ProxyDel {
                ns: ns.clone(),
                addr: *addr,
                dev: dev.clone(),
            }),
            // deletions, settings and the rest: their inverse is not a removal
            NeighOp::Del { .. }
            | NeighOp::ProxyDel { .. }
            | NeighOp::Fdb {
                action: FdbAction::Del,
                ..
            } => return None,
        })
    }

    /// The link the Op acts on (for an address, route, entry or per-link sysctl: the link it is on).
    pub(super) fn link(&self) -> Option<(&Ns, String)> {
        match self {
            NeighOp::Add { ns, dev, .. }
            | NeighOp::Del { ns, dev, .. }
            | NeighOp::ProxyAdd { ns, dev, .. }
            | NeighOp::ProxyDel { ns, dev, .. }
            | NeighOp::Fdb { ns, dev, .. } => Some((ns, dev.to_string())),
        }
    }
}
