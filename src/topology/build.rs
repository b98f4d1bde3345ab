//! Building the model from Ops, one at a time: the Ops a dry run evaluates, or those `dump` reads
//! back from the kernel. Ops that make nothing a picture shows (routes, sysctls, checks) pass by.

use super::{End, Link, Topology};
use crate::docker::naming::veth_name;
use crate::docker::network::{short_id, vlan_of};
use crate::ops::{
    AddrOp, BackendType, DockerOp, FlannelOp, IpvlanMode, LinkChange, LinkKind, LinkOp,
    MacvlanMode, Name, NeighOp, NetnsOp, Ns, Op, ParentIn, ProbeOp, ServiceOp, SysctlOp,
};
use ipnet::{IpNet, Ipv4Net};
use std::net::Ipv4Addr;

/// Where a parent lives: beside the link, or in the namespace given.
fn parent_end(ns: &Ns, parent: &Name, parent_in: &ParentIn) -> End {
    End {
        ns: match parent_in {
            ParentIn::Beside => ns.clone(),
            ParentIn::Elsewhere(p) => p.clone(),
        },
        link: parent.clone(),
    }
}

impl Topology {
    /// The model of what `ops` make, applied in order.
    pub fn from_ops<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Topology {
        let mut t = Topology::new();
        for op in ops {
            t.apply(op);
        }
        t
    }

    /// Adds what one Op makes (or takes away what it removes).
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Netns(NetnsOp::Add { name }) => {
                self.spaces.entry(Some(name.clone())).or_default();
            }
            Op::Netns(NetnsOp::Del { name }) => {
                self.spaces.remove(&Some(name.clone()));
            }
            Op::Netns(NetnsOp::List) => {}
            Op::Link(LinkOp::Add { ns, name, kind }) => self.add_link(ns, name, kind),
            Op::Link(LinkOp::Set { ns, name, change }) => self.set_link(ns, name, change),
            Op::Link(LinkOp::Del { ns, name }) => self.del_link(ns, name),
            Op::Addr(AddrOp::Add { ns, dev, addr, .. }) => {
                self.touch(ns, dev).addresses.insert(*addr);
            }
            Op::Addr(AddrOp::Del { ns, dev, addr }) => {
                if let Some(l) = self.get_mut(ns, dev) {
                    l.addresses.remove(addr);
                }
            }
            Op::Docker(d) => self.docker(d),
            Op::Flannel(f) => self.flannel(f),
            Op::Route { .. }
            | Op::Neigh(NeighOp::Add { .. })
            | Op::Neigh(NeighOp::Del { .. })
            | Op::Neigh(NeighOp::ProxyAdd { .. })
            | Op::Neigh(NeighOp::ProxyDel { .. })
            | Op::Neigh(NeighOp::Fdb { .. })
            | Op::Sysctl(SysctlOp::Set { .. })
            | Op::Sysctl(SysctlOp::Show { .. })
            | Op::Service(ServiceOp::Http { .. })
            | Op::Service(ServiceOp::Ndp { .. })
            | Op::Service(ServiceOp::Wait)
            | Op::Probe(ProbeOp::Exec { .. })
            | Op::Probe(ProbeOp::Show { .. })
            | Op::Probe(ProbeOp::Topology { .. })
            | Op::Probe(ProbeOp::Echo(_))
            | Op::Probe(ProbeOp::Ping { .. })
            | Op::Probe(ProbeOp::Expect { .. })
            | Op::Probe(ProbeOp::Dump { .. })
            | Op::Probe(ProbeOp::State { .. })
            | Op::Probe(ProbeOp::Capture(_)) => {}
        }
    }

    fn get_mut(&mut self, ns: &Ns, name: &str) -> Option<&mut Link> {
        self.spaces.get_mut(ns)?.links.get_mut(name)
    }

    /// The link, made as a `device` when the script uses one it did not make (a host's eth0).
    fn touch(&mut self, ns: &Ns, name: &str) -> &mut Link {
        self.spaces
            .entry(ns.clone())
            .or_default()
            .links
            .entry(name.into())
            .or_insert_with(|| Link {
                kind: "device",
                ..Link::default()
            })
    }

    fn put(&mut self, ns: &Ns, name: &str, link: Link) {
        self.spaces
            .entry(ns.clone())
            .or_default()
            .links
            .insert(name.into(), link);
    }

    fn add_link(&mut self, ns: &Ns, name: &Name, kind: &LinkKind) {
        let here = End {
            ns: ns.clone(),
            link: name.clone(),
        };
        let link = match kind {
            LinkKind::Veth { peer, peer_ns } => {
                let there = End {
                    ns: peer_ns.clone().or_else(|| ns.clone()),
                    link: peer.clone(),
                };
                self.put(
                    &there.ns,
                    &there.link,
                    Link {
                        kind: "veth",
                        peer: Some(here.clone()),
                        ..Link::default()
                    },
                );
                Link {
                    kind: "veth",
                    peer: Some(there),
                    ..Link::default()
                }
            }
            LinkKind::Bridge => plain("bridge"),
            LinkKind::Dummy => plain("dummy"),
            LinkKind::Tun => plain("tun"),
            LinkKind::Macvlan {
                parent,
                mode,
                parent_in,
            } => self.child("macvlan", Some(mode.word()), None, ns, parent, parent_in),
            LinkKind::Ipvlan {
                parent,
                mode,
                parent_in,
            } => self.child("ipvlan", Some(mode.word()), None, ns, parent, parent_in),
            LinkKind::Vlan {
                parent,
                id,
                parent_in,
            } => self.child("vlan", None, Some(u32::from(*id)), ns, parent, parent_in),
            LinkKind::Vxlan(v) => Link {
                kind: "vxlan",
                id: Some(v.vni),
                port: v.port,
                parent: v.dev.as_ref().map(|d| End {
                    ns: ns.clone(),
                    link: d.clone(),
                }),
                ..Link::default()
            },
        };
        self.put(ns, name, link);
    }

    /// A link made on a parent; a parent the script did not make is a `device`.
    fn child(
        &mut self,
        kind: &'static str,
        mode: Option<&'static str>,
        id: Option<u32>,
        ns: &Ns,
        parent: &Name,
        parent_in: &ParentIn,
    ) -> Link {
        let p = parent_end(ns, parent, parent_in);
        self.touch(&p.ns, &p.link);
        Link {
            kind,
            mode,
            id,
            parent: Some(p),
            ..Link::default()
        }
    }

    fn set_link(&mut self, ns: &Ns, name: &Name, change: &LinkChange) {
        if let Some(master) = &change.master {
            self.touch(ns, name).master = master.clone();
            if let Some(m) = master {
                self.touch(ns, m);
            }
        }
        if let Some(up) = change.up
            && let Some(l) = self.get_mut(ns, name)
        {
            l.up = up;
        }
        if change.netns.is_some() || change.rename.is_some() {
            let to = End {
                ns: change.netns.clone().or_else(|| ns.clone()),
                link: change.rename.clone().unwrap_or_else(|| name.clone()),
            };
            self.move_link(ns, name, to);
        }
    }

    /// A link moved to another namespace or renamed: what named it follows it; a link moved
    /// leaves its bridge.
    fn move_link(&mut self, ns: &Ns, name: &Name, to: End) {
        let Some(mut link) = self.spaces.get_mut(ns).and_then(|s| s.links.remove(name)) else {
            return;
        };
        let from = End {
            ns: ns.clone(),
            link: name.clone(),
        };
        if to.ns != *ns {
            link.master = None;
        }
        for space in self.spaces.values_mut() {
            for l in space.links.values_mut() {
                for r in [&mut l.peer, &mut l.parent].into_iter().flatten() {
                    if *r == from {
                        *r = to.clone();
                    }
                }
            }
        }
        self.put(&to.ns, &to.link, link);
    }

    fn del_link(&mut self, ns: &Ns, name: &Name) {
        let Some(link) = self.spaces.get_mut(ns).and_then(|s| s.links.remove(name)) else {
            return;
        };
        // a veth goes with its peer
        if let Some(peer) = link.peer
            && let Some(s) = self.spaces.get_mut(&peer.ns)
        {
            s.links.remove(&peer.link);
        }
    }

    /// Docker's default bridge, user networks and containers, as the runtime attaches them.
    fn docker(&mut self, op: &DockerOp) {
        match op {
            DockerOp::Bridge { host, bridge } => {
                // Docker's default address unless a flannel lease gives it one (known only at
                // run time), and the IPv6 prefix's first address as its gateway
                let v4 = match bridge.bip {
                    Some(bip) => Some(bip),
                    None if self.leased.contains(host) => None,
                    None => Ipv4Net::new(Ipv4Addr::new(172, 17, 0, 1), 16)
                        .ok()
                        .map(IpNet::V4),
                };
                let l = self.touch(host, "docker0");
                l.kind = "bridge";
                l.up = true;
                l.addresses.extend(v4);
                if let Some(p) = bridge.fixed_cidr_v6.filter(|p| p.addr().is_ipv6()) {
                    l.addresses.extend(first_host(&p));
                }
            }
            DockerOp::NetworkCreate { host, network } => {
                self.networks
                    .insert((host.clone(), network.name.clone()), (**network).clone());
                self.docker_network(host, network);
            }

            DockerOp::NetworkRm { host, name } => {
                self.networks.remove(&(host.clone(), name.to_string()));
                let bridge = format!("br-{}", short_id(host, name));
                self.del_link(host, &bridge.into());
            }
            DockerOp::Container { host, container } => {
                let inside: Ns = Some(container.name.as_str().into());
                self.spaces.entry(inside.clone()).or_default();
                let network = container
                    .network
                    .as_ref()
                    .and_then(|n| self.networks.get(&(host.clone(), n.clone())).cloned());
                match network.clone() {
                    Some(n) if matches!(n.driver.as_str(), "macvlan" | "ipvlan") => {
                        let parent: Name = n.parent.clone().unwrap_or_default().into();
                        // Docker's defaults: macvlan bridge, ipvlan l2
                        let word = n.mode.as_deref();
                        let (kind, mode) = if n.driver == "macvlan" {
                            let m = word.and_then(MacvlanMode::from_word);
                            ("macvlan", m.unwrap_or(MacvlanMode::Bridge).word())
                        } else {
                            let m = word.and_then(IpvlanMode::from_word);
                            ("ipvlan", m.unwrap_or(IpvlanMode::L2).word())
                        };
                        let link = self.child(
                            kind,
                            Some(mode),
                            None,
                            &inside,
                            &parent,
                            &ParentIn::Elsewhere(host.clone()),
                        );
                        self.put(&inside, "eth0", link);
                    }
                    other => {
                        let bridge = match (&container.network, other) {
                            (Some(name), Some(_)) => format!("br-{}", short_id(host, name)),
                            _ => "docker0".to_string(),
                        };
                        let outside: Name = veth_name(host, &container.name).into();
                        self.add_link(
                            &inside,
                            &"eth0".into(),
                            &LinkKind::Veth {
                                peer: outside.clone(),
                                peer_ns: host.clone(),
                            },
                        );
                        let port = self.touch(host, &outside);
                        port.master = Some(bridge.as_str().into());
                        port.up = true;
                        self.touch(host, &bridge).kind = "bridge";
                    }
                }
                // addresses Docker hands out are known only at run time; pinned ones are shown,
                // with their network's prefix length
                let subnets = network.map(|n| n.subnets).unwrap_or_default();
                let pinned = [container.ip, container.ip6]
                    .into_iter()
                    .flatten()
                    .map(|ip| {
                        let len = subnets
                            .iter()
                            .find(|s| s.contains(&ip))
                            .map(|s| s.prefix_len());
                        len.and_then(|l| IpNet::new(ip, l).ok())
                            .unwrap_or_else(|| IpNet::from(ip))
                    });
                let eth0 = self.touch(&inside, "eth0");
                eth0.up = true;
                eth0.addresses.extend(pinned);
            }
        }
    }

    /// A user network's own links: the bridge driver's `br-<id>` on the subnets' gateways, or the
    /// 802.1Q link a macvlan/ipvlan network makes when its parent is `eth1.19` and not there.
    fn docker_network(&mut self, host: &Ns, network: &crate::ops::Network) {
        if network.driver == "bridge" {
            let name = format!("br-{}", short_id(host, &network.name));
            // Docker's gateway: the one given for the subnet, or its first address
            let gateways: Vec<IpNet> = network
                .subnets
                .iter()
                .filter_map(|s| match network.gateways.iter().find(|g| s.contains(*g)) {
                    Some(g) => IpNet::new(*g, s.prefix_len()).ok(),
                    None => first_host(s),
                })
                .collect();
            let l = self.touch(host, &name);
            l.kind = "bridge";
            l.up = true;
            l.addresses.extend(gateways);
            return;
        }
        if let Some(parent) = &network.parent
            && let Ok(Some((base, id))) = vlan_of(parent)
            && self.get_mut(host, parent).is_none()
        {
            let mut link = self.child(
                "vlan",
                None,
                Some(u32::from(id)),
                host,
                &base.into(),
                &ParentIn::Beside,
            );
            link.up = true;
            self.put(host, parent, link);
        }
    }

    /// Flannel's overlays: `overlay in HOST` makes flannel0 (udp) or flannel.VNI (vxlan) there.
    fn flannel(&mut self, op: &FlannelOp) {
        match op {
            FlannelOp::Config { json, .. } => {
                if let Ok(c) = crate::flannel::config::NetworkConfig::parse(json) {
                    self.flannel = Some(c.backend);
                }
            }
            FlannelOp::Overlay { host, overlay } => {
                let backend = overlay
                    .backend
                    .or(self.flannel.as_ref().map(|b| b.kind))
                    .unwrap_or(BackendType::Udp);
                let from_config = self.flannel.as_ref().filter(|b| b.kind == backend).cloned();
                // a host that moves to another backend loses the old one's device
                if let Some(space) = self.spaces.get_mut(host) {
                    space
                        .links
                        .retain(|name, _| name != "flannel0" && !name.starts_with("flannel."));
                }
                // the device sits on the interface the lease names, when the script names one
                let parent = overlay.iface.as_ref().map(|i| End {
                    ns: host.clone(),
                    link: i.as_str().into(),
                });
                match backend {
                    BackendType::Udp => self.put(
                        host,
                        "flannel0",
                        Link {
                            kind: "tun",
                            up: true,
                            ..Link::default()
                        },
                    ),
                    BackendType::Vxlan => {
                        let vni = overlay
                            .vni
                            .or(from_config.as_ref().map(|b| b.vni))
                            .unwrap_or(1);
                        let port = overlay
                            .port
                            .or(from_config.as_ref().map(|b| b.port))
                            .unwrap_or(BackendType::Vxlan.default_port());
                        // the device flannel names after the VNI
                        let name = format!("flannel.{vni}");
                        self.put(
                            host,
                            &name,
                            Link {
                                kind: "vxlan",
                                id: Some(vni),
                                port: Some(port),
                                parent,
                                up: true,
                                ..Link::default()
                            },
                        );
                    }
                    BackendType::HostGw => {}
                }
            }
            FlannelOp::Lease { host, .. } => {
                self.leased.insert(host.clone());
            }
            FlannelOp::Store(_) | FlannelOp::Release { .. } | FlannelOp::DockerOpts { .. } => {}
        }
    }
}

/// The subnet's first address after the network's, with the subnet's length.
fn first_host(subnet: &IpNet) -> Option<IpNet> {
    let addr = match subnet.network() {
        std::net::IpAddr::V4(a) => {
            std::net::IpAddr::V4(Ipv4Addr::from(u32::from(a).checked_add(1)?))
        }
        std::net::IpAddr::V6(a) => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a).checked_add(1)?))
        }
    };
    IpNet::new(addr, subnet.prefix_len()).ok()
}

fn plain(kind: &'static str) -> Link {
    Link {
        kind,
        ..Link::default()
    }
}
