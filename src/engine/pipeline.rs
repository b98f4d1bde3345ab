//! Pipelining: Ops that need no answer of the kernel before the next request goes out (`link add`,
//! `addr add`, `route add`, `link set up|down|mtu`) are sent without waiting for their ACK. The
//! kernel handles one socket's requests in order, so a later request (or lookup) on the same socket
//! sees what the earlier ones did; the answers are read later, in order, by `settle_flights`:
//! before any other Op, a query, a check, a transaction's start and end, the end of the script, and
//! every `WINDOW` requests. A window holds the requests of one namespace only (requests on two
//! sockets have no order between them).
//!
//! Guarantees kept (docs/RUNTIME.md, "Pipelining"):
//! - an error is the kernel's answer to one request, put in words as when waiting for it, and
//!   carries the statement that sent it (`RunError::at`), so it is reported on its line;
//! - the first failure of a window wins; requests of the window sent after it that the kernel
//!   applied are taken back at once (even with `--no-rollback`), so the kernel is left as if the
//!   script had stopped at the failing line, and nothing of them is counted or journaled. Only
//!   requests whose inverse is exact can come after another in a window (a link made and deleted,
//!   an address or route added and deleted); a `link set` starts a window of its own;
//! - an `add` of what exists and a `link set` to the values there are no change, as before.

use crate::base::error::RunError;
use crate::base::source::Span;
use crate::engine::real::RealWorld;
use crate::engine::undo::{self, Applied, Undo};
use crate::netlink::addrs;
use crate::netlink::batch::{self, Answer, Wire};
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::{CHANGE, CREATE, QUERY};
use crate::netlink::link_reply::{self, LinkBrief};
use crate::netlink::links;
use crate::netlink::routes;
use crate::ops::{
    AddrOp, DockerOp, FlannelOp, LinkOp, NeighOp, NetnsOp, ProbeOp, ServiceOp, SysctlOp,
};
use crate::ops::{LinkChange, LinkKind, Name, Ns, Op, Route, RouteAction};
use ipnet::IpNet;
use nix::errno::Errno;
use rtnetlink::packet_core::NLM_F_ECHO;
use rtnetlink::packet_route::RouteNetlinkMessage;

/// At most this many requests wait for their answers. The ACKs queue in the socket's receive
/// buffer; a few dozen small messages keep far below its size.
const WINDOW: usize = 64;

/// A request sent whose answer is still to be read.
pub(super) struct InFlight {
    /// The statement that sent it.
    at: Option<Span>,
    request: Request,
    /// The lookup of the link's state sent just before a `link set` (its settings before the change).
    before: Option<u32>,
    /// The request's sequence number on its namespace's socket (wire.rs).
    ack: u32,
    /// The lookup sent after a `link set ... up` (its answer is not needed, see `send`).
    after: Option<u32>,
    /// A veth peer's namespace: its fd must stay open until the kernel has read the request.
    _peer_ns: Option<std::fs::File>,
}

/// An Op that can go out without waiting for the answers before it.
enum Request {
    /// Not a TUN device (made through /dev/net/tun, not netlink).
    LinkAdd {
        ns: Ns,
        name: Name,
        kind: LinkKind,
    },
    AddrAdd {
        ns: Ns,
        dev: Name,
        addr: IpNet,
        nodad: bool,
    },
    RouteAdd {
        ns: Ns,
        route: Box<Route>,
    },
    /// A `simple` change.
    LinkSet {
        ns: Ns,
        name: Name,
        change: Box<LinkChange>,
    },
}

impl Request {
    /// The request of `op`, when it can be pipelined.
    fn of(op: &Op) -> Option<Request> {
        Some(match op {
            // a TUN device is not made over netlink; a link placed away from its parent's
            // namespace takes a request to another socket
            Op::Link(LinkOp::Add { ns, name, kind })
                if *kind != LinkKind::Tun && kind.parent_elsewhere().is_none() =>
            {
                Request::LinkAdd {
                    ns: ns.clone(),
                    name: name.clone(),
                    kind: kind.clone(),
                }
            }
            Op::Addr(AddrOp::Add {
                ns,
                dev,
                addr,
                nodad,
            }) => Request::AddrAdd {
                ns: ns.clone(),
                dev: dev.clone(),
                addr: *addr,
                nodad: *nodad,
            },
            Op::Route {
                ns,
                action: RouteAction::Add,
                route,
            } => Request::RouteAdd {
                ns: ns.clone(),
                route: route.clone(),
            },
            Op::Link(LinkOp::Set { ns, name, change }) if simple(change) => Request::LinkSet {
                ns: ns.clone(),
                name: name.clone(),
                change: change.clone(),
            },
            // they need an answer (or a state read) first, or are not kernel requests
            Op::Link(LinkOp::Add { .. })
            | Op::Link(LinkOp::Set { .. })
            | Op::Route { .. }
            | Op::Netns(NetnsOp::Add { .. })
            | Op::Netns(NetnsOp::Del { .. })
            | Op::Netns(NetnsOp::List)
            | Op::Link(LinkOp::Del { .. })
            | Op::Addr(AddrOp::Del { .. })
            | Op::Neigh(NeighOp::Add { .. })
            | Op::Neigh(NeighOp::Del { .. })
            | Op::Neigh(NeighOp::ProxyAdd { .. })
            | Op::Neigh(NeighOp::ProxyDel { .. })
            | Op::Neigh(NeighOp::Fdb { .. })
            | Op::Sysctl(SysctlOp::Set { .. })
            | Op::Sysctl(SysctlOp::Show { .. })
            | Op::Probe(ProbeOp::Exec { .. })
            | Op::Probe(ProbeOp::Show { .. })
            | Op::Probe(ProbeOp::Echo(_))
            | Op::Probe(ProbeOp::Ping { .. })
            | Op::Probe(ProbeOp::Expect { .. })
            | Op::Probe(ProbeOp::State { .. })
            | Op::Service(ServiceOp::Http { .. })
            | Op::Service(ServiceOp::Ndp { .. })
            | Op::Probe(ProbeOp::Dump { .. })
            | Op::Probe(ProbeOp::Topology { .. })
            | Op::Probe(ProbeOp::Capture(_))
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
            | Op::Docker(DockerOp::Bridge { .. }) => return None,
        })
    }

    fn ns(&self) -> &Ns {
        match self {
            Request::LinkAdd { ns, .. }
            | Request::AddrAdd { ns, .. }
            | Request::RouteAdd { ns, .. }
            | Request::LinkSet { ns, .. } => ns,
        }
    }
}

/// A `link set` of flags and MTU only: no name, namespace or master that later lookups depend on,
/// and setting them to the value they have changes nothing in the kernel.
fn simple(c: &LinkChange) -> bool {
    c.netns.is_none()
        && c.rename.is_none()
        && c.master.is_none()
        && c.address.is_none()
        && (c.up.is_some() || c.mtu.is_some())
        && !crate::engine::apply::link::takes_state(c)
}

impl RealWorld {
    /// Sends `op` without waiting, when it can be (`None`: it cannot; nothing was done).
    pub(super) fn pipelined(&mut self, op: &Op) -> Option<Result<(), RunError>> {
        let request = Request::of(op)?;
        let ns = request.ns().clone();
        // a `link set` goes out only when nothing before it can have failed: one sent after a
        // failure could not be taken back exactly (bringing a link up attaches its qdisc; the
        // changes that drop state, down or a small MTU, are never pipelined: see `takes_state`)
        let first = matches!(request, Request::LinkSet { .. });
        if !self.flights.is_empty()
            && (first || self.flight_ns != ns)
            && let Err(e) = self.settle_flights()
        {
            return Some(Err(e));
        }
        self.flight_ns = ns;
        let sent = self.send(request);
        Some(match sent {
            Ok(f) => {
                self.flights.push(f);
                if self.flights.len() >= WINDOW {
                    self.settle_flights()
                } else {
                    Ok(())
                }
            }
            // an earlier statement's failure comes first
            Err(e) => self.settle_flights().and(Err(e)),
        })
    }

    /// Puts the request of a pipelinable Op on its namespace's socket (queued: it goes out with
    /// the window, or when an answer is needed). Lookups it needs (an interface index) go out
    /// after every request before them, so they see their effects.
    fn send(&mut self, request: Request) -> Result<InFlight, RunError> {
        let wire = self.handles.wire(request.ns().as_deref())?;
        let mut before = None;
        let mut after = None;
        let mut peer_ns = None;
        let ack = match &request {
            Request::LinkAdd { name, kind, .. } => {
                let parent = match links::parent_of(kind) {
                    Some(p) => Some(index_of(wire, p)?),
                    None => None,
                };
                peer_ns = links::peer_ns_file(kind)?;
                let msg = links::add_request_with(name, kind, parent, peer_ns.as_ref())?;
                // the kernel sends the new link back: its index, for the statements on it
                wire.queue(msg, CREATE | NLM_F_ECHO, Some(name))
            }
            Request::AddrAdd {
                dev, addr, nodad, ..
            } => {
                let idx = index_of(wire, dev)?;
                let msg = addrs::message(idx, *addr, *nodad);
                wire.queue(RouteNetlinkMessage::NewAddress(msg), CREATE, None)
            }
            Request::RouteAdd { route, .. } => {
                let oif = match &route.dev {
                    Some(d) => Some(index_of(wire, d)?),
                    None => None,
                };
                let (msg, flags) = routes::request_with(RouteAction::Add, route, oif);
                wire.queue(msg, flags, None)
            }
            Request::LinkSet { name, change, .. } => {
                // the link's settings before the change come back ahead of the change's ACK
                if let Some(find) = links::find_message(name) {
                    before = Some(wire.queue(find, QUERY, Some(name)));
                }
                let msg = links::set_message(links::Target::Name(name), change, None);
                let ack = wire.queue(RouteNetlinkMessage::SetLink(msg), CHANGE, None);
                // the kernel applies the link's new operational state (carrier, IPv6 readiness)
                // from a deferred work item, up to a second later; a lookup of the link applies it
                // at once, so the run ends with the link's state settled (as ip's lookups did)
                if change.up == Some(true)
                    && let Some(find) = links::find_message(name)
                {
                    after = Some(wire.queue(find, QUERY, None));
                }
                ack
            }
        };
        Ok(InFlight {
            at: self.at,
            request,
            before,
            ack,
            after,
            _peer_ns: peer_ns,
        })
    }

    /// Reads every answer still due, in order, and records what each request changed. Returns
    /// the first failure, with its statement; what the kernel applied after it is taken back.
    pub(super) fn settle_flights(&mut self) -> Result<(), RunError> {
        if self.flights.is_empty() {
            return Ok(());
        }
        let flights = std::mem::take(&mut self.flights);
        let mut first: Option<RunError> = None;
        let mut late: Vec<Undo> = Vec::new();
        let mut done = Vec::with_capacity(flights.len());
        for f in flights {
            let at = f.at;
            match (self.land(f), &first) {
                (Ok(a), None) => done.push(a),
                (Ok(a), Some(_)) => late.extend(a.undo),
                (Err(mut e), None) => {
                    e.stmt = e.stmt.or(at);
                    first = Some(e);
                }
                // a later request failing after the first failure is its consequence, or moot
                (Err(_), Some(_)) => {}
            }
        }
        self.record_all(done);
        // the script stopped at the failing line: what came after it is taken back now, newest
        // first; a step that cannot be run stays in the journal for the rollback (or `down`)
        for step in late.into_iter().rev() {
            if self.run_step(&step).is_err() {
                self.record(Applied::changed(vec![step]));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// What one request did, from its answers.
    fn land(&mut self, f: InFlight) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        let wire = self.handles.wire(f.request.ns().as_deref())?;
        let before = f.before.map(|seq| wire.answer(seq));
        let ack = wire.answer(f.ack).map(drop);
        if let Some(seq) = f.after {
            let _ = wire.answer(seq);
        }
        match f.request {
            Request::LinkAdd { ns, name, kind } => {
                let created = links::add_outcome(&name, &kind, strict, ack)?;
                self.link_added(&ns, &name, &kind, created)
            }
            Request::AddrAdd {
                ns,
                dev,
                addr,
                nodad,
            } => {
                if !addrs::add_outcome(&dev, addr, strict, ack)? {
                    return Ok(Applied::none());
                }
                Ok(Applied::removed_by(&Op::Addr(AddrOp::Add {
                    ns,
                    dev,
                    addr,
                    nodad,
                })))
            }
            Request::RouteAdd { ns, route } => {
                if !routes::outcome(RouteAction::Add, &route, strict, ack)? {
                    return Ok(Applied::none());
                }
                Ok(Applied::changed(vec![
                    crate::engine::apply::route::route_undo(&ns, RouteAction::Add, &route, None),
                ]))
            }
            Request::LinkSet { ns, name, change } => {
                links::set_outcome(&name, ack)?;
                let link = before
                    .map(link_in)
                    .transpose()
                    .map_err(|e| errors::kernel(format!("cannot look up link {name}"), &e))?
                    .flatten()
                    .ok_or_else(|| links::missing(&name))?;
                let before = undo::state_of_brief(&link);
                if crate::engine::apply::link::unchanged(&change, &before) {
                    return Ok(Applied::none());
                }
                Ok(crate::engine::apply::link::set_undo(
                    &ns, &name, &change, &before,
                ))
            }
        }
    }
}

/// The link in the answer to a lookup (a missing link is no error).
fn link_in(answer: Answer) -> Result<Option<LinkBrief>, KernelError> {
    match answer {
        Ok(replies) => Ok(replies
            .iter()
            .filter(|r| r.kind == batch::RTM_NEWLINK)
            .find_map(|r| link_reply::parse(&r.body))),
        Err(e) if e.is(Errno::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A link's index: learned from an earlier answer, from the answer of a request in flight that
/// makes it, or asked for (after the requests before it, so it sees what they did).
fn index_of(wire: &mut Wire, name: &str) -> Result<u32, RunError> {
    if let Some(i) = wire.names.get(name) {
        return Ok(i);
    }
    if let Some(i) = wire.learn_pending(name) {
        return Ok(i);
    }
    let Some(find) = links::find_message(name) else {
        return Err(links::missing(name));
    };
    let seq = wire.queue(find, QUERY, Some(name));
    match link_in(wire.answer(seq)) {
        Ok(Some(link)) => Ok(link.index),
        Ok(None) => Err(links::missing(name)),
        Err(e) => Err(errors::kernel(format!("cannot look up link {name}"), &e)),
    }
}
