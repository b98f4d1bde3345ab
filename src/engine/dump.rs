//! `dump [in NS]`: the live state as a netsh script that rebuilds it. Without `in`, every named
//! namespace and the one netsh runs in; with it, that namespace alone. Written as Ops, rendered by
//! ops/script.rs, in an order that rebuilds: namespaces, links without a parent, links with one,
//! link settings (MAC, MTU, master, up), sysctls, addresses, routes (device routes first), neighbour,
//! proxy and FDB entries. What the kernel makes by itself (lo's addresses, link-local addresses,
//! connected and local routes, learned entries) is left out.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::netlink::addrs;
use crate::netlink::errors;
use crate::netlink::links;
use crate::netlink::neigh;
use crate::netlink::routes;
use crate::ops::script::statement;
use crate::ops::{AddrOp, LinkOp, NeighOp, NetnsOp, SysctlOp};
use crate::ops::{
    Family, FdbAction, IpvlanMode, LinkChange, LinkKind, MacvlanMode, Name, Ns, Op, ParentIn,
    RouteAction, Vxlan,
};
use crate::sys::netns;
use crate::sys::sysctl;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoVlan, InfoVxlan, IpVlanMode, LinkAttribute,
    LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::{RouteProtocol, RouteType};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Live state as Ops that rebuild it, in build order, and what they cannot rebuild (in words).
#[derive(Debug, Default, Clone)]
pub(super) struct State {
    pub ops: Vec<Op>,
    pub notes: Vec<String>,
}

/// One namespace's links, read once.
struct Space {
    ns: Ns,
    links: Vec<LinkMessage>,
}

impl Space {
    fn name(&self, index: u32) -> Option<String> {
        self.links
            .iter()
            .find(|l| l.header.index == index)
            .and_then(links::name_of)
            .map(str::to_string)
    }
}

fn attr<T>(l: &LinkMessage, f: impl Fn(&LinkAttribute) -> Option<T>) -> Option<T> {
    l.attributes.iter().find_map(f)
}

fn info(l: &LinkMessage) -> (Option<InfoKind>, Option<InfoData>) {
    let infos = attr(l, |a| match a {
        LinkAttribute::LinkInfo(i) => Some(i.clone()),
        _ => None,
    })
    .unwrap_or_default();
    let kind = infos.iter().find_map(|i| match i {
        LinkInfo::Kind(k) => Some(k.clone()),
        _ => None,
    });
    let data = infos.iter().find_map(|i| match i {
        LinkInfo::Data(d) => Some(d.clone()),
        _ => None,
    });
    (kind, data)
}

fn parent_index(l: &LinkMessage) -> Option<u32> {
    attr(l, |a| match a {
        LinkAttribute::Link(i) => Some(*i),
        _ => None,
    })
}

fn link_netnsid(l: &LinkMessage) -> Option<i32> {
    attr(l, |a| match a {
        LinkAttribute::LinkNetNsId(i) => Some(*i),
        _ => None,
    })
}

fn in_other_ns(l: &LinkMessage) -> bool {
    attr(l, |a| match a {
        LinkAttribute::LinkNetNsId(_) => Some(()),
        _ => None,
    })
    .is_some()
}

fn mac(b: &[u8]) -> Option<[u8; 6]> {
    <[u8; 6]>::try_from(b).ok()
}

fn neigh_ip(m: &NeighbourMessage) -> Option<IpAddr> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => match b.len() {
            4 => <[u8; 4]>::try_from(&b[..]).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(&b[..]).ok().map(IpAddr::from),
            _ => None,
        },
        _ => None,
    })
}

fn neigh_mac(m: &NeighbourMessage) -> Option<[u8; 6]> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(b) => mac(b),
        _ => None,
    })
}

/// How a link is made, when netsh can make it; `Err`: why not (a comment in the dump).
/// `parent_space`: the dumped namespace the link's parent is in (`sp` itself, or the one its
/// netnsid names), when it is one of them.
fn kind_of(
    l: &LinkMessage,
    sp: &Space,
    parent_space: Option<&Space>,
) -> Result<Option<LinkKind>, String> {
    let name = links::name_of(l).unwrap_or("?");
    let (kind, data) = info(l);
    // the parent's name, and where it is when that is not beside the link
    let parent = || -> Result<(Name, ParentIn), String> {
        let home = parent_space
            .ok_or_else(|| format!("{name}: its parent is in a namespace outside the dump"))?;
        let parent = parent_index(l)
            .and_then(|i| home.name(i))
            .ok_or_else(|| format!("{name}: its parent is not found"))?;
        if !in_other_ns(l) {
            return Ok((parent.into(), ParentIn::Beside));
        }
        // made on the parent in its namespace and placed by name: a link in the namespace netsh
        // runs in has no name to be placed by
        if sp.ns.is_none() {
            return Err(format!(
                "{name}: its parent is in another namespace and it is in this one"
            ));
        }
        Ok((parent.into(), ParentIn::Elsewhere(home.ns.clone())))
    };
    Ok(Some(match kind {
        None => return Ok(None),
        Some(InfoKind::Bridge) => LinkKind::Bridge,
        Some(InfoKind::Dummy) => LinkKind::Dummy,
        Some(InfoKind::Tun) => LinkKind::Tun,
        Some(InfoKind::Veth) => return Ok(None), // paired up by the caller
        Some(InfoKind::MacVlan) => {
            let mode = match data {
                Some(InfoData::MacVlan(d)) => d.iter().find_map(|x| match x {
                    InfoMacVlan::Mode(m) => Some(*m),
                    _ => None,
                }),
                _ => None,
            };
            let mode = match mode {
                Some(MacVlanMode::Private) => MacvlanMode::Private,
                Some(MacVlanMode::Bridge) => MacvlanMode::Bridge,
                Some(MacVlanMode::Passthrough) => MacvlanMode::Passthru,
                _ => MacvlanMode::Vepa,
            };
            let (parent, parent_in) = parent()?;
            LinkKind::Macvlan {
                parent,
                mode,
                parent_in,
            }
        }
        Some(InfoKind::IpVlan) => {
            let mode = match data {
                Some(InfoData::IpVlan(d)) => d.iter().find_map(|x| match x {
                    InfoIpVlan::Mode(IpVlanMode::L2) => Some(IpvlanMode::L2),
                    InfoIpVlan::Mode(IpVlanMode::L3S) => Some(IpvlanMode::L3s),
                    InfoIpVlan::Mode(_) => Some(IpvlanMode::L3),
                    _ => None,
                }),
                _ => None,
            };
            let (parent, parent_in) = parent()?;
            LinkKind::Ipvlan {
                parent,
                mode: mode.unwrap_or(IpvlanMode::L3),
                parent_in,
            }
        }
        Some(InfoKind::Vlan) => {
            let id = match data {
                Some(InfoData::Vlan(d)) => d.iter().find_map(|x| match x {
                    InfoVlan::Id(i) => Some(*i),
                    _ => None,
                }),
                _ => None,
            };
            let (parent, parent_in) = parent()?;
            LinkKind::Vlan {
                parent,
                id: id.ok_or_else(|| format!("{name}: a VLAN without an id"))?,
                parent_in,
            }
        }
        Some(InfoKind::Vxlan) => {
            let mut v = Vxlan::default();
            if let Some(InfoData::Vxlan(d)) = data {
                for x in d {
                    match x {
                        InfoVxlan::Id(i) => v.vni = i,
                        InfoVxlan::Port(p) => v.port = Some(p),
                        InfoVxlan::Local(ip) => v.local = Some(IpAddr::V4(ip)),
                        InfoVxlan::Local6(ip) => v.local = Some(IpAddr::V6(ip)),
                        InfoVxlan::Group(ip) if ip.is_multicast() => v.group = Some(IpAddr::V4(ip)),
                        InfoVxlan::Group(ip) => v.remote = Some(IpAddr::V4(ip)),
                        InfoVxlan::Group6(ip) if ip.is_multicast() => {
                            v.group = Some(IpAddr::V6(ip))
                        }
                        InfoVxlan::Group6(ip) => v.remote = Some(IpAddr::V6(ip)),
                        InfoVxlan::Link(i) => v.dev = sp.name(i).map(Into::into),
                        InfoVxlan::Learning(b) => v.learning = Some(b),
                        _ => {}
                    }
                }
            }
            LinkKind::Vxlan(Box::new(v))
        }
        Some(other) => {
            return Err(format!(
                "{name}: links of kind {other} are not made by netsh"
            ));
        }
    }))
}

impl RealWorld {
    fn space(&mut self, ns: Ns) -> Result<Space, RunError> {
        let nl = self.nl(&ns)?;
        let links = self
            .rt
            .block_on(links::dump(&nl))
            .map_err(|e| errors::kernel("cannot read the links", &e))?;
        Ok(Space { ns, links })
    }

    /// For each dumped namespace, the ids it gives the others (a veth names its peer's namespace
    /// by such an id): (space, id) → the space it names.
    fn nsids(&mut self, spaces: &[Space]) -> HashMap<(usize, i32), usize> {
        use rtnetlink::packet_route::RouteNetlinkMessage;
        use rtnetlink::packet_route::nsid::{NsidAttribute, NsidMessage};
        use std::os::fd::AsRawFd;
        let mut map = HashMap::new();
        for (si, sp) in spaces.iter().enumerate() {
            let Ok(nl) = self.nl(&sp.ns) else { continue };
            for (sj, other) in spaces.iter().enumerate() {
                if si == sj {
                    continue;
                }
                let path = match &other.ns {
                    Some(n) => netns::path(n),
                    // /proc/self is the main thread, which stays in the namespace netsh started in
                    None => "/proc/self/ns/net".into(),
                };
                let Ok(file) = std::fs::File::open(path) else {
                    continue;
                };
                let mut m = NsidMessage::default();
                m.attributes
                    .push(NsidAttribute::Fd(file.as_raw_fd() as u32));
                let Ok(replies) = self
                    .rt
                    .block_on(nl.query(RouteNetlinkMessage::GetNsId(m), false))
                else {
                    continue;
                };
                for r in replies {
                    if let RouteNetlinkMessage::NewNsId(m) = r {
                        for a in m.attributes {
                            if let NsidAttribute::Id(id) = a
                                && id >= 0
                            {
                                map.insert((si, id), sj);
                            }
                        }
                    }
                }
            }
        }
        map
    }

    /// The script for `dump [in NS]`.
    pub(super) fn dump_script(&mut self, only: &Ns) -> Result<String, RunError> {
        let mut names: Vec<Ns> = Vec::new();
        let mut out = vec![match only {
            Some(n) => format!("# netsh dump of namespace {n}"),
            None => "# netsh dump of this namespace and every named one".to_string(),
        }];
        if only.is_none() {
            names.push(None);
            for n in netns::list() {
                out.push(
                    statement(&Op::Netns(NetnsOp::Add {
                        name: n.as_str().into(),
                    }))
                    .unwrap_or_default(),
                );
                names.push(Some(n.into()));
            }
        } else {
            // a namespace that is not there is an error here, not an empty dump
            self.nl(only)?;
            names.push(only.clone());
        }
        let state = self.state(names)?;
        out.extend(state.ops.iter().filter_map(statement));
        out.extend(state.notes.iter().map(|n| format!("# {n}")));
        Ok(out.join("\n"))
    }

    /// The state of the namespaces `names` (the one netsh runs in first, when it is among them) as
    /// Ops that rebuild it. A named namespace that does not exist has no state. Used by `dump` and
    /// by rollback, which rebuilds what a deletion took (restore.rs).
    pub(super) fn state(&mut self, names: Vec<Ns>) -> Result<State, RunError> {
        let spaces = names
            .into_iter()
            .filter(|ns| ns.as_deref().is_none_or(netns::exists))
            .map(|ns| self.space(ns))
            .collect::<Result<Vec<_>, _>>()?;
        let nsids = self.nsids(&spaces);
        let mut ops: Vec<Op> = Vec::new();
        let mut comments = Vec::new();
        // links without a parent first (veth pairs once, with the peer where it lives)
        let mut paired: HashSet<(usize, u32)> = HashSet::new();
        let mut later = Vec::new();
        for (si, sp) in spaces.iter().enumerate() {
            for l in &sp.links {
                let Some(name) = links::name_of(l) else {
                    continue;
                };
                if info(l).0 == Some(InfoKind::Veth) {
                    if paired.contains(&(si, l.header.index)) {
                        continue;
                    }
                    let peer = parent_index(l);
                    // the peer's namespace: this one, or the one the link's netnsid names
                    let sj = match link_netnsid(l) {
                        None => Some(si),
                        Some(id) => nsids.get(&(si, id)).copied(),
                    };
                    let found = sj.and_then(|sj| {
                        spaces[sj]
                            .links
                            .iter()
                            .find(|m| Some(m.header.index) == peer)
                            .map(|m| (sj, m))
                    });
                    match found {
                        Some((sj, m)) => {
                            paired.insert((si, l.header.index));
                            paired.insert((sj, m.header.index));
                            ops.push(Op::Link(LinkOp::Add {
                                ns: sp.ns.clone(),
                                name: name.into(),
                                kind: LinkKind::Veth {
                                    peer: links::name_of(m).unwrap_or("?").into(),
                                    peer_ns: if sj == si {
                                        None
                                    } else {
                                        spaces[sj].ns.clone()
                                    },
                                },
                            }));
                        }
                        None => comments.push(format!(
                            "{name}: a veth whose peer is outside the dumped namespaces"
                        )),
                    }
                    continue;
                }
                // the parent's namespace: this one, or the one the link's netnsid names
                let parent_space = match link_netnsid(l) {
                    None => Some(sp),
                    Some(id) => nsids.get(&(si, id)).map(|&sj| &spaces[sj]),
                };
                match kind_of(l, sp, parent_space) {
                    Ok(Some(kind @ (LinkKind::Bridge | LinkKind::Dummy | LinkKind::Tun))) => ops
                        .push(Op::Link(LinkOp::Add {
                            ns: sp.ns.clone(),
                            name: name.into(),
                            kind,
                        })),
                    Ok(Some(kind)) => later.push(Op::Link(LinkOp::Add {
                        ns: sp.ns.clone(),
                        name: name.into(),
                        kind,
                    })),
                    Ok(None) if name == "lo" => {}
                    Ok(None) => comments.push(format!(
                        "{name}: a device netsh cannot make (it has no link kind)"
                    )),
                    Err(why) => comments.push(why),
                }
            }
        }
        ops.extend(later);
        // settings: MAC and MTU, master, then up
        for sp in &spaces {
            for l in &sp.links {
                let Some(name) = links::name_of(l) else {
                    continue;
                };
                let lo = name == "lo";
                let change = LinkChange {
                    up: links::is_up(l).then_some(true),
                    mtu: if lo {
                        None
                    } else {
                        attr(l, |a| match a {
                            LinkAttribute::Mtu(m) => Some(*m),
                            _ => None,
                        })
                    },
                    master: attr(l, |a| match a {
                        LinkAttribute::Controller(i) => sp.name(*i).map(Into::into),
                        _ => None,
                    })
                    .map(Some),
                    address: if lo {
                        None
                    } else {
                        attr(l, |a| match a {
                            LinkAttribute::Address(b) => mac(b),
                            _ => None,
                        })
                    },
                    ..LinkChange::default()
                };
                if change != LinkChange::default() {
                    ops.push(Op::Link(LinkOp::Set {
                        ns: sp.ns.clone(),
                        name: name.into(),
                        change: Box::new(change),
                    }));
                }
            }
        }
        for sp in &spaces {
            self.dump_space(sp, &mut ops)?;
        }
        Ok(State {
            ops,
            notes: comments,
        })
    }

    /// Sysctls, addresses, routes, neighbour, proxy and FDB entries of one namespace.
    fn dump_space(&mut self, sp: &Space, ops: &mut Vec<Op>) -> Result<(), RunError> {
        let ns = &sp.ns;
        let nl = self.nl(ns)?;
        let kernel = |e| errors::kernel("cannot read the kernel's tables", &e);
        // the sysctls netsh sets, where they differ from a new namespace's
        let mut keys = vec![
            "net.ipv4.ip_forward".to_string(),
            "net.ipv6.conf.all.forwarding".to_string(),
        ];
        for l in &sp.links {
            if let Some(n) = links::name_of(l) {
                keys.push(format!("net.ipv6.conf.{}.proxy_ndp", n.replace('.', "/")));
            }
        }
        for key in keys {
            if let Ok(v) = sysctl::get(ns.as_deref(), &key)
                && v.trim() != "0"
            {
                ops.push(Op::Sysctl(SysctlOp::Set {
                    ns: ns.clone(),
                    key: key.into(),
                    value: v.trim().into(),
                }));
            }
        }
        for a in self.rt.block_on(addrs::dump(&nl)).map_err(kernel)? {
            let Some(net) = addrs::net_of(&a) else {
                continue;
            };
            let Some(dev) = sp.name(a.header.index) else {
                continue;
            };
            let auto = dev == "lo" && net.addr().is_loopback();
            let link_local =
                matches!(net.addr(), IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
            if auto || link_local {
                continue;
            }
            let nodad = a.attributes.iter().any(|x| match x {
                AddressAttribute::Flags(f) => f.contains(AddressFlags::Nodad),
                _ => false,
            });
            ops.push(Op::Addr(AddrOp::Add {
                ns: ns.clone(),
                dev: dev.into(),
                addr: net,
                nodad,
            }));
        }
        let names: HashMap<u32, String> = sp
            .links
            .iter()
            .filter_map(|l| links::name_of(l).map(|n| (l.header.index, n.to_string())))
            .collect();
        let mut via = Vec::new();
        for fam in [Family::V4, Family::V6] {
            for m in self.rt.block_on(routes::dump(&nl, fam)).map_err(kernel)? {
                let made_by_kernel =
                    matches!(m.header.protocol, RouteProtocol::Kernel | RouteProtocol::Ra);
                if made_by_kernel
                    || m.header.kind != RouteType::Unicast
                    || routes::table_of(&m) == 255
                {
                    continue;
                }
                let r = crate::engine::undo::route_of(&m, &names, fam);
                let op = Op::Route {
                    ns: ns.clone(),
                    action: RouteAction::Add,
                    route: Box::new(r.clone()),
                };
                if r.via.is_some() {
                    via.push(op)
                } else {
                    ops.push(op)
                }
            }
        }
        ops.extend(via);
        for fam in [AddressFamily::Inet, AddressFamily::Inet6] {
            for m in self
                .rt
                .block_on(neigh::dump(&nl, fam, false))
                .map_err(kernel)?
            {
                let (Some(ip), Some(ll), Some(dev)) =
                    (neigh_ip(&m), neigh_mac(&m), sp.name(m.header.ifindex))
                else {
                    continue;
                };
                if m.header.state != NeighbourState::Permanent {
                    continue;
                }
                ops.push(Op::Neigh(NeighOp::Add {
                    ns: ns.clone(),
                    addr: ip,
                    lladdr: ll,
                    dev: dev.into(),
                    permanent: true,
                    router: m.header.flags.contains(NeighbourFlags::Router),
                }));
            }
        }
        for m in self
            .rt
            .block_on(neigh::dump(&nl, AddressFamily::Inet6, true))
            .map_err(kernel)?
        {
            if let (Some(IpAddr::V6(ip)), Some(dev)) = (neigh_ip(&m), sp.name(m.header.ifindex)) {
                ops.push(Op::Neigh(NeighOp::ProxyAdd {
                    ns: ns.clone(),
                    addr: ip,
                    dev: dev.into(),
                }));
            }
        }
        let mut seen = HashSet::new();
        for m in self
            .rt
            .block_on(neigh::dump(&nl, AddressFamily::Bridge, false))
            .map_err(kernel)?
        {
            let (Some(ll), Some(dst), Some(dev)) =
                (neigh_mac(&m), neigh_ip(&m), sp.name(m.header.ifindex))
            else {
                continue;
            };
            if !m.header.flags.contains(NeighbourFlags::Own) {
                continue;
            }
            let action = if seen.insert((dev.clone(), ll)) {
                FdbAction::Add
            } else {
                FdbAction::Append
            };
            ops.push(Op::Neigh(NeighOp::Fdb {
                ns: ns.clone(),
                action,
                mac: ll,
                dev: dev.into(),
                dst: Some(dst),
            }));
        }
        Ok(())
    }
}
