//! Links: making, changing and deleting them.

use super::{Name, Ns};
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
    },
    Ipvlan {
        parent: Name,
        mode: IpvlanMode,
    },
    Vlan {
        parent: Name,
        id: u16,
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
