//! Neighbours: ARP/NDP entries, proxy-NDP entries and the bridge forwarding database.

use super::{Name, Ns};
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
