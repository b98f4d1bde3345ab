//! Interface indexes by name, per namespace, learned from the kernel's answers to pipelined
//! requests (a `link add`'s echo, a lookup), so that an `addr add` or `route ... dev` on a link
//! this run made or looked up sends no lookup of its own. ip -batch keeps such a cache too.
//!
//! A name keeps its index until the link is deleted, renamed or moved to another namespace. The
//! Ops that cannot do that (`keeps_names`) keep the cache; any other Op, an undo step, the end of
//! a window that failed, and the end of a script, REPL line or transaction block empty it (their
//! effects on names are not tracked one by one). The index of a link deleted by something outside
//! netsh while the cache holds it is not given out again soon (the kernel allocates indexes
//! cyclically), so a request with it fails with ENODEV rather than reaching another link.

use crate::ops::Op;
use rustc_hash::FxHashMap;

#[derive(Debug, Default)]
pub struct IfIndexes {
    by_name: FxHashMap<String, u32>,
}

impl IfIndexes {
    pub fn get(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    pub fn insert(&mut self, name: &str, index: u32) {
        self.by_name.insert(name.to_string(), index);
    }

    pub fn clear(&mut self) {
        self.by_name.clear();
    }
}

/// Whether the names of links stay with their indexes across `op`: it cannot delete, rename or
/// move a link, and netsh carries it out itself (no program, service or other runtime runs).
pub fn keeps_names(op: &Op) -> bool {
    match op {
        Op::LinkAdd { .. } => true,
        Op::LinkSet { change, .. } => change.rename.is_none() && change.netns.is_none(),
        Op::AddrAdd { .. }
        | Op::AddrDel { .. }
        | Op::Route { .. }
        | Op::NeighAdd { .. }
        | Op::NeighDel { .. }
        | Op::NeighProxyAdd { .. }
        | Op::NeighProxyDel { .. }
        | Op::Fdb { .. }
        | Op::SysctlSet { .. }
        | Op::SysctlShow { .. }
        | Op::NetnsAdd { .. }
        | Op::NetnsList
        | Op::Show { .. }
        | Op::Echo(_)
        | Op::Ping { .. }
        | Op::Expect { .. }
        | Op::Dump { .. } => true,
        // they delete namespaces or links, run programs, or another runtime carries them out
        Op::NetnsDel { .. }
        | Op::LinkDel { .. }
        | Op::Exec { .. }
        | Op::ServeHttp { .. }
        | Op::NdpResponder { .. }
        | Op::Wait
        | Op::StoreSelect(_)
        | Op::NetworkConfig { .. }
        | Op::LeaseAcquire { .. }
        | Op::LeaseRelease { .. }
        | Op::Overlay { .. }
        | Op::DockerOpts { .. }
        | Op::NetworkCreate { .. }
        | Op::NetworkRm { .. }
        | Op::ContainerAdd { .. }
        | Op::DockerBridge { .. } => false,
    }
}
