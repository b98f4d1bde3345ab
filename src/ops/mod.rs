//! Ops: the typed operations a script evaluates to. An Op says *what* to do; the runtime does it (and
//! records how to undo it), and `--dry-run` prints it as the equivalent iproute2, bridge, sysctl or
//! etcdctl command (render.rs). Keeping the two apart is what makes dry runs, rollback and `dump` cheap.

mod addr;
mod capture;
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
mod state;
mod sysctl;

pub use addr::AddrOp;
pub use capture::{Capture, End, FILTER_HELP, Filter, FilterError, Proto};
pub use docker::{Container, DockerBridge, DockerOp, Network};
pub use flannel::{BackendType, DockerOpts, EtcdSpec, FlannelOp, Lease, Overlay, StoreSpec};
pub use link::{IpvlanMode, LinkChange, LinkKind, LinkOp, MacvlanMode, ParentIn, Vxlan};
pub use neigh::{FdbAction, NeighOp};
pub use netns::NetnsOp;
pub use probe::{Check, ObjectKind, Picture, ProbeOp};
pub use render::{Mac, format_mac, shell_quote};
pub use route::{Dest, Family, Route, RouteAction};
pub use service::ServiceOp;
pub use state::{LinkWant, NeighWant, RouteTo, StateCheck};
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

    /// Is this Op a check (an `expect` of any form)? The one place that decides it: a run reports
    /// each check it makes (pass or fail, how long), and `--keep-going` goes on after a failed one.
    pub fn is_check(&self) -> bool {
        match self {
            Op::Probe(op) => op.is_check(),
            Op::Netns(_)
            | Op::Link(_)
            | Op::Addr(_)
            | Op::Route { .. }
            | Op::Neigh(_)
            | Op::Sysctl(_)
            | Op::Flannel(_)
            | Op::Docker(_)
            | Op::Service(_) => false,
        }
    }

    /// Where a check looks from and at what (`expect reach TARGET from NS`), for its JSON record.
    pub fn check_subject(&self) -> Option<(&Ns, String)> {
        match self {
            Op::Probe(op) => op.check_subject(),
            Op::Netns(_)
            | Op::Link(_)
            | Op::Addr(_)
            | Op::Route { .. }
            | Op::Neigh(_)
            | Op::Sysctl(_)
            | Op::Flannel(_)
            | Op::Docker(_)
            | Op::Service(_) => None,
        }
    }

    /// Does this Op create a namespace or a link (what `--max-objects` counts)?
    pub fn creates_object(&self) -> bool {
        matches!(
            self,
            Op::Netns(NetnsOp::Add { .. }) | Op::Link(LinkOp::Add { .. })
        )
    }

    /// Is this a check of kernel or file state (`expect link`, `expect route`, ...), as opposed to
    /// a probe sent from somewhere (`expect reach`, `expect http`)?
    pub fn is_state_check(&self) -> bool {
        matches!(self, Op::Probe(probe::ProbeOp::State { .. }))
    }

    /// Does this Op change anything (as opposed to showing or checking)?
    pub fn changes_state(&self) -> bool {
        match self {
            Op::Netns(op) => op.changes_state(),
            Op::Sysctl(op) => op.changes_state(),
            Op::Probe(op) => op.changes_state(),
            Op::Service(op) => op.changes_state(),
            Op::Flannel(op) => op.changes_state(),
            Op::Link(op) => op.changes_state(),
            Op::Addr(op) => op.changes_state(),
            Op::Route { .. } => true,
            Op::Neigh(op) => op.changes_state(),
            Op::Docker(op) => op.changes_state(),
        }
    }

    /// The Op that takes away what this one built, when it adds one object: its inverse, written
    /// once for rollback, pipelined requests and state diffs alike.
    pub fn removal(&self) -> Option<Op> {
        match self {
            Op::Netns(op) => op.removal(),
            Op::Link(op) => op.removal(),
            Op::Addr(op) => op.removal(),
            Op::Route {
                ns,
                action: RouteAction::Add | RouteAction::Replace,
                route,
            } => Some(Op::Route {
                ns: ns.clone(),
                action: RouteAction::Del,
                route: route.clone(),
            }),
            Op::Route {
                action: RouteAction::Del,
                ..
            } => None,
            Op::Neigh(op) => op.removal(),
            // a setting's inverse is its old value, read from the kernel when it is applied
            Op::Sysctl(_) => None,
            // services stop with netsh; leases, overlays and networks are undone by their runtimes
            Op::Probe(_) | Op::Service(_) | Op::Flannel(_) | Op::Docker(_) => None,
        }
    }

    /// The link the Op acts on (for an address, route, entry or per-link sysctl: the link it is on).
    pub fn link(&self) -> Option<(&Ns, String)> {
        match self {
            Op::Link(op) => op.link(),
            Op::Addr(op) => op.link(),
            Op::Route { ns, route, .. } => route.dev.as_ref().map(|d| (ns, d.to_string())),
            Op::Neigh(op) => op.link(),
            Op::Sysctl(op) => op.link(),
            // namespaces, services, checks and the runtimes' Ops sit on no one link
            Op::Netns(_) | Op::Probe(_) | Op::Service(_) | Op::Flannel(_) | Op::Docker(_) => None,
        }
    }
}
