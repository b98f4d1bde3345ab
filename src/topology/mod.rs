//! A picture of the lab: its namespaces, their links (kind, mode, parent, peer, master, addresses)
//! and the overlays between hosts, as plain data. One model, two sources: the Ops a dry run
//! evaluates (`netsh graph FILE`) and the Ops `dump` reads from the kernel (`show topology`); both
//! go through `Topology::apply` (build.rs). The renderers (text.rs, dot.rs, json.rs, svg.rs) read it in
//! sorted order, so one lab always gives one picture.

mod build;
pub mod dot;
pub mod json;
pub mod svg;
pub mod text;

use crate::ops::{Name, Ns};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};

/// One link seen from elsewhere: the namespace it is in and its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct End {
    pub ns: Ns,
    pub link: Name,
}

/// A link of a namespace.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Link {
    /// `veth`, `bridge`, `dummy`, `tun`, `macvlan`, `ipvlan`, `vlan`, `vxlan`, or `device` for a
    /// link the script did not make (a host's eth0).
    pub kind: &'static str,
    /// A macvlan's or ipvlan's mode.
    pub mode: Option<&'static str>,
    /// A VLAN's id or a VXLAN's VNI.
    pub id: Option<u32>,
    /// A VXLAN's UDP port.
    pub port: Option<u16>,
    /// The link a macvlan, ipvlan, VLAN or VXLAN sits on.
    pub parent: Option<End>,
    /// A veth's other end.
    pub peer: Option<End>,
    /// The bridge it is a port of (in its own namespace).
    pub master: Option<Name>,
    pub addresses: BTreeSet<IpNet>,
    pub up: bool,
}

/// A namespace and its links, by name.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Space {
    pub links: BTreeMap<Name, Link>,
}

/// Links of one overlay on several hosts: VXLAN links with one VNI and port, or TUN devices of one
/// name (flannel0 of the udp backend).
#[derive(Clone, Debug, PartialEq)]
pub struct Overlay {
    /// `vxlan 1 port 8472`, `tun flannel0`.
    pub label: String,
    pub members: Vec<End>,
}

/// The lab. `None` is the namespace netsh runs in.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Topology {
    pub spaces: BTreeMap<Ns, Space>,
    /// The flannel backend a dry run's `overlay` takes when it names none (from `network config`).
    flannel: Option<crate::flannel::config::Backend>,
    /// A dry run's Docker networks, by host and name: how `container` attaches to them.
    networks: BTreeMap<(Ns, String), crate::ops::Network>,
    /// Hosts with a flannel lease: their docker0's address comes from it, at run time.
    leased: BTreeSet<Ns>,
}

/// How netsh's own namespace is named in pictures.
pub const OWN_NAMESPACE: &str = "(netsh's namespace)";

/// The name a picture gives a namespace.
pub fn ns_label(ns: &Ns) -> &str {
    ns.as_deref().unwrap_or(OWN_NAMESPACE)
}

/// How `show topology` and `netsh graph` write the lab.
pub fn render(t: &Topology, picture: crate::ops::Picture) -> String {
    use crate::ops::Picture;
    match picture {
        Picture::Text => text::render(t),
        Picture::Dot => dot::render(t),
        Picture::Svg => svg::render(t),
        Picture::Json => json::render(t).to_string() + "\n",
    }
}

impl Link {
    /// The link's kind with its mode or id: `macvlan bridge`, `vlan 19`, `vxlan 1`.
    pub fn kind_label(&self) -> String {
        let mut s = self.kind.to_string();
        if let Some(m) = self.mode {
            s += " ";
            s += m;
        }
        if let Some(id) = self.id {
            s += &format!(" {id}");
        }
        s
    }

    /// Loopback with only the kernel's addresses: left out of pictures.
    fn is_plain_loopback(&self, name: &str) -> bool {
        name == "lo" && self.addresses.iter().all(|a| a.addr().is_loopback())
    }
}

impl Topology {
    pub fn new() -> Topology {
        Topology::default()
    }

    /// Every link with its namespace and name, sorted.
    pub fn links(&self) -> impl Iterator<Item = (&Ns, &Name, &Link)> {
        self.spaces
            .iter()
            .flat_map(|(ns, s)| s.links.iter().map(move |(n, l)| (ns, n, l)))
    }

    pub fn link(&self, end: &End) -> Option<&Link> {
        self.spaces.get(&end.ns)?.links.get(&end.link)
    }

    /// The lab as pictures show it: loopback devices with no address of their own are dropped,
    /// and so is netsh's own namespace when nothing is left in it.
    pub fn pictured(mut self) -> Topology {
        for space in self.spaces.values_mut() {
            space.links.retain(|name, l| !l.is_plain_loopback(name));
        }
        if self.spaces.get(&None).is_some_and(|s| s.links.is_empty()) {
            self.spaces.remove(&None);
        }
        self
    }

    /// Only namespace `ns`: its links keep naming peers and parents elsewhere.
    pub fn only(mut self, ns: &Ns) -> Topology {
        self.spaces.retain(|k, _| k == ns);
        self
    }

    /// The overlays: VXLAN links grouped by VNI and port, TUN devices by name, each group on two
    /// namespaces or more.
    pub fn overlays(&self) -> Vec<Overlay> {
        let mut groups: BTreeMap<String, Vec<End>> = BTreeMap::new();
        for (ns, name, l) in self.links() {
            let label = match l.kind {
                "vxlan" => {
                    let mut s = format!("vxlan {}", l.id.unwrap_or(0));
                    if let Some(p) = l.port {
                        s += &format!(" port {p}");
                    }
                    s
                }
                "tun" => format!("tun {name}"),
                _ => continue,
            };
            groups.entry(label).or_default().push(End {
                ns: ns.clone(),
                link: name.clone(),
            });
        }
        groups
            .into_iter()
            .filter(|(_, m)| m.iter().map(|e| &e.ns).collect::<BTreeSet<_>>().len() > 1)
            .map(|(label, members)| Overlay { label, members })
            .collect()
    }
}

#[cfg(test)]
mod tests;
