//! From a typed statement to the Ops that carry it out, one file per family of statements.

pub mod check_ops;
pub mod flannel_ops;
mod lab_ops;
mod link_ops;
mod net_ops;

use crate::base::error::RunError;
use crate::check::signatures::Id;
use crate::interp::args::Args;
use crate::ops::{Name, Ns, Op};
use std::collections::HashMap;

/// Names netsh picks when a script does not (`macvlan1`, `macvlan2`, ...), numbered per run.
#[derive(Default)]
pub struct Names {
    counters: HashMap<&'static str, u32>,
}

impl Names {
    pub fn next(&mut self, stem: &'static str) -> Name {
        let n = self.counters.entry(stem).or_insert(0);
        *n += 1;
        compact_str::format_compact!("{stem}{n}")
    }
}

/// What building Ops needs besides the arguments.
pub struct Ctx<'a> {
    /// Where the statement acts: its `in NS`, else the enclosing `in NS { }` block's namespace.
    pub ns: Ns,
    /// The enclosing block's namespace, ignoring the statement's own `in` (where a parent link lives).
    pub outer: Ns,
    pub names: &'a mut Names,
    /// The store's key prefix (`/coreos.com/network` unless `store etcd ... prefix P`).
    pub prefix: &'a mut String,
}

/// Builds the Ops of statement `id` onto `out`, a buffer the caller reuses from statement to statement.
pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    use Id::*;
    match id {
        NetnsAdd | NetnsDel | NetnsList | Veth | Bridge | Dummy | Tun | Macvlan | Ipvlan | Vlan
        | Vxlan | LinkSet | LinkDel => link_ops::ops(id, a, cx, out),
        AddrAdd | AddrDel | RouteAdd | RouteReplace | RouteDel | NeighAdd | NeighDel | FdbAdd
        | FdbAppend | FdbDel | Sysctl | Forwarding | ProxyNdp => net_ops::ops(id, a, cx, out),
        Switch | Host | Router | Container | ServeHttp | DockerBridge => {
            lab_ops::ops(id, a, cx, out)
        }
        Ping | Capture | ExpectReach | ExpectNoReach | ExpectHttp | ExpectLink | ExpectRoute
        | ExpectNoRoute | ExpectNeigh | ExpectFile | Exec | Show | ShowTopology | Echo | Wait
        | Dump => check_ops::ops(id, a, cx, out),
        StoreEmbedded | StoreEtcd | NetworkConfig | Lease | LeaseRelease | Overlay | DockerOpts
        | NetworkCreate | NetworkRm => flannel_ops::ops(id, a, cx, out),
        Help | Source => Ok(()),
    }
}
