//! Ops: the typed operations a script evaluates to. An Op says *what* to do; the runtime does it (and
//! records how to undo it), and `--dry-run` prints it as the equivalent iproute2, bridge, sysctl or
//! etcdctl command (render.rs). Keeping the two apart is what makes dry runs, rollback and `dump` cheap.

mod addr;
mod docker;
mod flannel;
mod link;
mod neigh;
mod netns;
mod probe;
mod render;
mod route;
pub mod script;
mod service;
mod sysctl;

pub use addr::AddrOp;
pub use docker::{Container, DockerBridge, DockerOp, Network};
pub use flannel::{BackendType, DockerOpts, EtcdSpec, FlannelOp, Lease, Overlay, StoreSpec};
pub use link::{IpvlanMode, LinkChange, LinkKind, LinkOp, MacvlanMode, Vxlan};
pub use neigh::{FdbAction, NeighOp};
pub use netns::NetnsOp;
pub use probe::{Check, ObjectKind, ProbeOp};
pub use render::{Mac, format_mac, shell_quote};
pub use route::{Dest, Family, Route, RouteAction};
pub use service::ServiceOp;
pub use sysctl::SysctlOp;

/// A namespace, link or sysctl name in an Op. Names are short (a link's at most 15 bytes), so they
/// are kept inline: building an Op for the usual statement allocates nothing for its names.
pub type Name = compact_str::CompactString;

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// The namespace an Op acts in: `None` is the one netsh runs in.
pub type Ns = Option<Name>;

/// One operation, by family. `ns` is where it acts (for lab statements: the host). Each family's
/// file holds its data; matches over a family are exhaustive, so a new Op cannot compile without
/// its rendering, its application and its undo.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Netns(NetnsOp),
    Link(LinkOp),
    Addr(AddrOp),
    Route {
        ns: Ns,
        action: RouteAction,
        route: Box<Route>,
    },
    Neigh(NeighOp),
    Sysctl(SysctlOp),
    Flannel(FlannelOp),
    Docker(DockerOp),
    Service(ServiceOp),
    Probe(ProbeOp),
}

impl Op {
    /// `ip link set NAME up`: what every link a statement makes needs last.
    pub fn link_up(ns: &Ns, name: &str) -> Op {
        Op::Link(LinkOp::Set {
            ns: ns.clone(),
            name: name.into(),
            change: Box::new(LinkChange {
                up: Some(true),
                ..Default::default()
            }),
        })
    }

    /// Does this Op change anything (as opposed to showing or checking)?
    pub fn changes_state(&self) -> bool {
        match self {
            Op::Netns(NetnsOp::List)
            | Op::Sysctl(SysctlOp::Show { .. })
            | Op::Probe(ProbeOp::Show { .. })
            | Op::Probe(ProbeOp::Echo(_))
            | Op::Probe(ProbeOp::Ping { .. })
            | Op::Probe(ProbeOp::Expect { .. })
            | Op::Probe(ProbeOp::Dump { .. })
            | Op::Service(ServiceOp::Wait)
            | Op::Flannel(FlannelOp::DockerOpts { .. }) => false,
            Op::Netns(NetnsOp::Add { .. })
            | Op::Netns(NetnsOp::Del { .. })
            | Op::Link(LinkOp::Add { .. })
            | Op::Link(LinkOp::Set { .. })
            | Op::Link(LinkOp::Del { .. })
            | Op::Addr(AddrOp::Add { .. })
            | Op::Addr(AddrOp::Del { .. })
            | Op::Route { .. }
            | Op::Neigh(NeighOp::Add { .. })
            | Op::Neigh(NeighOp::Del { .. })
            | Op::Neigh(NeighOp::ProxyAdd { .. })
            | Op::Neigh(NeighOp::ProxyDel { .. })
            | Op::Neigh(NeighOp::Fdb { .. })
            | Op::Sysctl(SysctlOp::Set { .. })
            | Op::Probe(ProbeOp::Exec { .. })
            | Op::Service(ServiceOp::Http { .. })
            | Op::Service(ServiceOp::Ndp { .. })
            | Op::Flannel(FlannelOp::Store(_))
            | Op::Flannel(FlannelOp::Config { .. })
            | Op::Flannel(FlannelOp::Lease { .. })
            | Op::Flannel(FlannelOp::Release { .. })
            | Op::Flannel(FlannelOp::Overlay { .. })
            | Op::Docker(DockerOp::NetworkCreate { .. })
            | Op::Docker(DockerOp::NetworkRm { .. })
            | Op::Docker(DockerOp::Container { .. })
            | Op::Docker(DockerOp::Bridge { .. }) => true,
        }
    }
}
