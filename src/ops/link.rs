//! Links: making, changing and deleting them.

use super::format_mac;
use super::render::{Addr, IpCmd, Mac, Quoted, opt, put};
use super::script::{in_ns, word};
use super::{Name, Ns, Op};
use std::net::IpAddr;

/// The four macvlan modes the book uses (the kernel's `source` mode has no statement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacvlanMode {
    Vepa,
    Bridge,
    Private,
    Passthru,
}

impl MacvlanMode {
    pub const WORDS: &'static [&'static str] = &["vepa", "bridge", "private", "passthru"];

    pub fn from_word(word: &str) -> Option<MacvlanMode> {
        Some(match word {
            "vepa" => MacvlanMode::Vepa,
            "bridge" => MacvlanMode::Bridge,
            "private" => MacvlanMode::Private,
            "passthru" => MacvlanMode::Passthru,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Private => "private",
            MacvlanMode::Passthru => "passthru",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpvlanMode {
    L2,
    L3,
    L3s,
}

impl IpvlanMode {
    pub const WORDS: &'static [&'static str] = &["l2", "l3", "l3s"];

    pub fn from_word(word: &str) -> Option<IpvlanMode> {
        Some(match word {
            "l2" => IpvlanMode::L2,
            "l3" => IpvlanMode::L3,
            "l3s" => IpvlanMode::L3s,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            IpvlanMode::L2 => "l2",
            IpvlanMode::L3 => "l3",
            IpvlanMode::L3s => "l3s",
        }
    }
}

/// Where a link made on a parent (macvlan, ipvlan, vlan) finds it: beside the link, or in another
/// namespace (`Elsewhere(None)`: the one netsh runs in). In the second case the link is made on the
/// parent there and placed in the Op's namespace by the same request (`ip -n net1 link add m1
/// link eth0 netns ns1 type macvlan`), so making it again is "there already" (EEXIST), as any add.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum ParentIn {
    #[default]
    Beside,
    Elsewhere(Ns),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LinkKind {
    /// The peer is created directly in `peer_ns` (or beside the link when `None`).
    Veth {
        peer: Name,
        peer_ns: Ns,
    },
    Bridge,
    Dummy,
    Tun,
    Macvlan {
        parent: Name,
        mode: MacvlanMode,
        parent_in: ParentIn,
    },
    Ipvlan {
        parent: Name,
        mode: IpvlanMode,
        parent_in: ParentIn,
    },
    Vlan {
        parent: Name,
        id: u16,
        parent_in: ParentIn,
    },
    Vxlan(Box<Vxlan>),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Vxlan {
    pub vni: u32,
    pub port: Option<u16>,
    pub dev: Option<Name>,
    pub local: Option<IpAddr>,
    pub remote: Option<IpAddr>,
    pub group: Option<IpAddr>,
    pub learning: Option<bool>,
}

impl LinkKind {
    /// The namespace the parent is in, when it is not the link's.
    pub fn parent_elsewhere(&self) -> Option<&Ns> {
        match self {
            LinkKind::Macvlan { parent_in, .. }
            | LinkKind::Ipvlan { parent_in, .. }
            | LinkKind::Vlan { parent_in, .. } => match parent_in {
                ParentIn::Elsewhere(ns) => Some(ns),
                ParentIn::Beside => None,
            },
            LinkKind::Veth { .. }
            | LinkKind::Bridge
            | LinkKind::Dummy
            | LinkKind::Tun
            | LinkKind::Vxlan(_) => None,
        }
    }

    /// The same kind with its parent in namespace `ns` (kinds without a parent are left alone).
    pub fn with_parent_in(mut self, ns: Ns) -> LinkKind {
        if let LinkKind::Macvlan { parent_in, .. }
        | LinkKind::Ipvlan { parent_in, .. }
        | LinkKind::Vlan { parent_in, .. } = &mut self
        {
            *parent_in = ParentIn::Elsewhere(ns);
        }
        self
    }

    /// The kernel's name for the kind (IFLA_INFO_KIND), and the config option that provides it.
    pub fn kernel_kind(&self) -> (&'static str, &'static str) {
        match self {
            LinkKind::Veth { .. } => ("veth", "CONFIG_VETH"),
            LinkKind::Bridge => ("bridge", "CONFIG_BRIDGE"),
            LinkKind::Dummy => ("dummy", "CONFIG_DUMMY"),
            LinkKind::Tun => ("tun", "CONFIG_TUN"),
            LinkKind::Macvlan { .. } => ("macvlan", "CONFIG_MACVLAN"),
            LinkKind::Ipvlan { .. } => ("ipvlan", "CONFIG_IPVLAN"),
            LinkKind::Vlan { .. } => ("vlan", "CONFIG_VLAN_8021Q"),
            LinkKind::Vxlan(_) => ("vxlan", "CONFIG_VXLAN"),
        }
    }
}

/// Changes to an existing link; `None` leaves a setting alone.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LinkChange {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    /// `Some(None)` takes the link out of its bridge.
    pub master: Option<Option<Name>>,
    pub address: Option<[u8; 6]>,
    pub netns: Option<Name>,
    pub rename: Option<Name>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LinkOp {
    Add {
        ns: Ns,
        name: Name,
        kind: LinkKind,
    },
    Set {
        ns: Ns,
        name: Name,
        change: Box<LinkChange>,
    },
    Del {
        ns: Ns,
        name: Name,
    },
}

impl LinkOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            LinkOp::Add { ns, name, kind } => render_add(out, ns, name, kind),
            LinkOp::Set { ns, name, change } => render_set(out, ns, name, change),
            LinkOp::Del { ns, name } => put!(out, IpCmd(ns), " link del ", name),
        }
    }

    /// The statement that performs the Op, when the language has one (see script.rs).
    pub(super) fn statement(&self) -> Option<String> {
        Some(match self {
            LinkOp::Add { ns, name, kind } => statement_add(ns, name, kind),
            LinkOp::Set { ns, name, change } => format!(
                "link set {}{}{}",
                word(name),
                change_words(change),
                in_ns(ns)
            ),
            LinkOp::Del { ns, name } => format!("link del {}{}", word(name), in_ns(ns)),
        })
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            LinkOp::Add { .. } | LinkOp::Set { .. } | LinkOp::Del { .. } => true,
        }
    }

    /// The Op that takes away what this one built, if it adds one object: its inverse for rollback, pipelined requests and state diffs alike.
    pub(super) fn removal(&self) -> Option<Op> {
        Some(match self {
            LinkOp::Add { ns, name, .. } => Op::Link(LinkOp::Del {
                ns: ns.clone(),
                name: name.clone(),
            }),
            // deletions, settings and the rest: their inverse is not a removal
            LinkOp::Set { .. } | LinkOp::Del { .. } => return None,
        })
    }

    /// The link the Op acts on (for an address, route, entry or per-link sysctl: the link it is on).
    pub(super) fn link(&self) -> Option<(&Ns, String)> {
        match self {
            LinkOp::Add { ns, name, .. } | LinkOp::Set { ns, name, .. } => {
                Some((ns, name.to_string()))
            }
            // namespaces, services, checks and the runtimes' Ops sit on no one link
            LinkOp::Del { .. } => None,
        }
    }
}

/// `ip link add NAME link PARENT type `: the start of a link made on a parent; one whose parent
/// is in another namespace is made there and placed in `ns` (`netns NS`).
fn child_of(out: &mut String, ns: &Ns, name: &str, parent: &str, kind: &LinkKind) {
    match kind.parent_elsewhere() {
        Some(home) => {
            put!(
                out,
                IpCmd(home),
                " link add ",
                Quoted(name),
                " link ",
                Quoted(parent)
            );
            opt(out, "netns", ns.as_ref());
            out.push_str(" type ");
        }
        None => put!(
            out,
            IpCmd(ns),
            " link add ",
            Quoted(name),
            " link ",
            Quoted(parent),
            " type "
        ),
    }
}

fn render_add(out: &mut String, ns: &Ns, name: &str, kind: &LinkKind) {
    let ip = IpCmd(ns);
    match kind {
        LinkKind::Veth { peer, peer_ns } => {
            put!(
                out,
                ip,
                " link add ",
                Quoted(name),
                " type veth peer name ",
                peer
            );
            opt(out, "netns", peer_ns.as_ref());
        }
        LinkKind::Bridge => put!(out, ip, " link add ", Quoted(name), " type bridge"),
        LinkKind::Dummy => put!(out, ip, " link add ", Quoted(name), " type dummy"),
        LinkKind::Tun => put!(out, ip, " tuntap add dev ", Quoted(name), " mode tun"),
        LinkKind::Macvlan { parent, mode, .. } => {
            child_of(out, ns, name, parent, kind);
            put!(out, kind.kernel_kind().0, " mode ", mode.word())
        }
        LinkKind::Ipvlan { parent, mode, .. } => {
            child_of(out, ns, name, parent, kind);
            put!(out, kind.kernel_kind().0, " mode ", mode.word())
        }
        LinkKind::Vlan { parent, id, .. } => {
            child_of(out, ns, name, parent, kind);
            put!(out, "vlan id ", id)
        }
        LinkKind::Vxlan(v) => {
            put!(
                out,
                ip,
                " link add ",
                Quoted(name),
                " type vxlan id ",
                v.vni
            );
            opt(out, "dstport", v.port);
            opt(out, "dev", v.dev.as_ref());
            opt(out, "local", v.local.as_ref().map(Addr));
            opt(out, "remote", v.remote.as_ref().map(Addr));
            opt(out, "group", v.group.as_ref().map(Addr));
            match v.learning {
                Some(true) => out.push_str(" learning"),
                Some(false) => out.push_str(" nolearning"),
                None => {}
            }
        }
    }
}

fn render_set(out: &mut String, ns: &Ns, name: &str, c: &LinkChange) {
    put!(out, IpCmd(ns), " link set ", Quoted(name));
    match c.up {
        Some(true) => out.push_str(" up"),
        Some(false) => out.push_str(" down"),
        None => {}
    }
    opt(out, "mtu", c.mtu);
    match &c.master {
        Some(Some(m)) => put!(out, " master ", m),
        Some(None) => out.push_str(" nomaster"),
        None => {}
    }
    opt(out, "address", c.address.as_ref().map(Mac));
    opt(out, "netns", c.netns.as_ref());
    opt(out, "name", c.rename.as_ref());
}

fn statement_add(ns: &Ns, name: &str, kind: &LinkKind) -> String {
    let n = word(name);
    let body = match kind {
        LinkKind::Veth { peer, peer_ns } => {
            let mut s = format!("veth {n} peer {}", word(peer));
            if let Some(p) = peer_ns {
                s += &format!(" peer-in {}", word(p));
            }
            s
        }
        LinkKind::Bridge => format!("bridge {n}"),
        LinkKind::Dummy => format!("dummy {n}"),
        LinkKind::Tun => format!("tun {n}"),
        LinkKind::Macvlan { parent, mode, .. } => {
            format!("macvlan {} on {} name {n}", mode.word(), word(parent))
        }
        LinkKind::Ipvlan { parent, mode, .. } => {
            format!("ipvlan {} on {} name {n}", mode.word(), word(parent))
        }
        LinkKind::Vlan { parent, id, .. } => format!("vlan {id} on {} name {n}", word(parent)),
        LinkKind::Vxlan(v) => {
            let mut s = format!("vxlan {n} vni {}", v.vni);
            if let Some(p) = v.port {
                s += &format!(" port {p}");
            }
            if let Some(d) = &v.dev {
                s += &format!(" dev {}", word(d));
            }
            if let Some(ip) = v.local {
                s += &format!(" local {ip}");
            }
            if let Some(ip) = v.remote {
                s += &format!(" remote {ip}");
            }
            if let Some(ip) = v.group {
                s += &format!(" group {ip}");
            }
            match v.learning {
                Some(true) => s += " learning",
                Some(false) => s += " nolearning",
                None => {}
            }
            s
        }
    };
    // a parent in another namespace: the statement made inside `in PARENT_NS { ... }` (or at the
    // top, for the namespace netsh runs in) with `in NS` placing the link
    match kind.parent_elsewhere() {
        Some(Some(home)) => format!("in {} {{ {body}{} }}", word(home), in_ns(ns)),
        Some(None) | None => body + &in_ns(ns),
    }
}

fn change_words(c: &LinkChange) -> String {
    let mut s = String::new();
    match c.up {
        Some(true) => s += " up",
        Some(false) => s += " down",
        None => {}
    }
    if let Some(m) = c.mtu {
        s += &format!(" mtu {m}");
    }
    match &c.master {
        Some(Some(m)) => s += &format!(" master {}", word(m)),
        Some(None) => s += " nomaster",
        None => {}
    }
    if let Some(a) = &c.address {
        s += &format!(" address {}", format_mac(a));
    }
    if let Some(n) = &c.netns {
        s += &format!(" netns {}", word(n));
    }
    if let Some(n) = &c.rename {
        s += &format!(" name {}", word(n));
    }
    s
}
