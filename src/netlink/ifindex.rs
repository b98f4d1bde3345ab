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
use crate::ops::{
    AddrOp, DockerOp, FlannelOp, LinkOp, NeighOp, NetnsOp, ProbeOp, ServiceOp, SysctlOp,
};
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
        Op::Link(LinkOp::Add { .. }) => true,
        Op::Link(LinkOp::Set { change, .. }) => change.rename.is_none() && change.netns.is_none(),
        Op::Addr(AddrOp::Add { .. })
        | Op::Addr(AddrOp::Del { .. })
        | Op::Route { .. }
        | Op::Neigh(NeighOp::Add { .. })
        | Op::Neigh(NeighOp::Del { .. })
        | Op::Neigh(NeighOp::ProxyAdd { .. })
        | Op::Neigh(NeighOp::ProxyDel { .. })
        | Op::Neigh(NeighOp::Fdb { .. })
        | Op::Sysctl(SysctlOp::Set { .. })
        | Op::Sysctl(SysctlOp::Show { .. })
        | Op::Netns(NetnsOp::Add { .. })
        | Op::Netns(NetnsOp::List)
        | Op::Probe(ProbeOp::Show { .. })
        | Op::Probe(ProbeOp::Echo(_))
        | Op::Probe(ProbeOp::Ping { .. })
        | Op::Probe(ProbeOp::Expect { .. })
        | Op::Probe(ProbeOp::State { .. })
        | Op::Probe(ProbeOp::Capture(_))
        | Op::Probe(ProbeOp::Dump { .. })
        | Op::Probe(ProbeOp::Topology { .. }) => true,
        // they delete namespaces or links, run programs, or another runtime carries them out
        Op::Netns(NetnsOp::Del { .. })
        | Op::Link(LinkOp::Del { .. })
        | Op::Probe(ProbeOp::Exec { .. })
        | Op::Service(ServiceOp::Http { .. })
        | Op::Service(ServiceOp::Ndp { .. })
        | Op::Service(ServiceOp::Wait)
        | Op::Flannel(FlannelOp::Store(_))
        | Op::Flannel(FlannelOp::Config { .. })
        | Op::Flannel(FlannelOp::Lease { .. })
        | Op::Flannel(FlannelOp::Release { .. })
        | Op::Flannel(FlannelOp::Overlay { .. })
        | Op::Flannel(FlannelOp::DockerOpts { .. })
        | Op::Docker(DockerOp::NetworkCreate { .. })
        | Op::Docker(DockerOp::NetworkRm { .. })
        | Op::Docker(DockerOp::Container { .. })
        | Op::Docker(DockerOp::Bridge { .. }) => false,
    }
}
