//! Flannel: the store, the network config, leases, overlays and Docker's options from a lease.

use super::Ns;
use std::net::IpAddr;

/// Where leases and networks are kept.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreSpec {
    Embedded { path: Option<String> },
    Etcd(Box<EtcdSpec>),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct EtcdSpec {
    pub endpoints: Vec<String>,
    pub prefix: Option<String>,
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Lease {
    pub iface: Option<String>,
    pub public_ip: Option<IpAddr>,
    pub subnet_file: Option<String>,
}

/// The overlay backends netsh runs. Flannel has more; netsh refuses those at config time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendType {
    Udp,
    Vxlan,
    HostGw,
}

impl BackendType {
    /// The words the language and flannel's config use for them.
    pub const NAMES: &'static [&'static str] = &["udp", "vxlan", "host-gw"];

    pub fn from_name(name: &str) -> Option<BackendType> {
        Some(match name {
            "udp" => BackendType::Udp,
            "vxlan" => BackendType::Vxlan,
            "host-gw" => BackendType::HostGw,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendType::Udp => "udp",
            BackendType::Vxlan => "vxlan",
            BackendType::HostGw => "host-gw",
        }
    }

    /// The UDP port flannel uses for the backend when the config names none.
    pub fn default_port(self) -> u16 {
        match self {
            BackendType::Udp => 8285,
            BackendType::Vxlan => 8472,
            BackendType::HostGw => 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Overlay {
    /// `None` takes the network config's.
    pub backend: Option<BackendType>,
    pub vni: Option<u32>,
    pub port: Option<u16>,
    pub direct_routing: bool,
    pub iface: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct DockerOpts {
    pub combined: bool,
    pub file: Option<String>,
    pub key: Option<String>,
    pub no_masq: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FlannelOp {
    Store(StoreSpec),
    /// Store flannel's network config (JSON as flannel writes it) under `<prefix>/config`.
    Config {
        prefix: String,
        json: String,
    },
    Lease {
        host: Ns,
        lease: Box<Lease>,
    },
    Release {
        host: Ns,
    },
    Overlay {
        host: Ns,
        overlay: Box<Overlay>,
    },
    DockerOpts {
        host: Ns,
        opts: Box<DockerOpts>,
    },
}
