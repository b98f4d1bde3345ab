//! Flannel: the store, the network config, leases, overlays and Docker's options from a lease.

use super::Ns;
use super::render::{Commented, InNs, Quoted, Shown, flag, opt, put};
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
    /// The lease's TTL in whole seconds (flannel's is 24 hours); renewed every third of it.
    pub ttl_secs: Option<u32>,
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

impl FlannelOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            FlannelOp::Store(StoreSpec::Embedded { path }) => put!(
                out,
                "# netsh: store embedded ",
                Commented(path.as_deref().unwrap_or("(default path)"))
            ),
            FlannelOp::Store(StoreSpec::Etcd(e)) => put!(
                out,
                "export ETCDCTL_API=3 ",
                Quoted(&format!("ETCDCTL_ENDPOINTS={}", e.endpoints.join(",")))
            ),
            FlannelOp::Config { prefix, json } => {
                put!(
                    out,
                    "etcdctl put ",
                    Quoted(&format!("{prefix}/config")),
                    " ",
                    Quoted(json)
                )
            }
            FlannelOp::Lease { host, lease } => {
                put!(out, "# netsh: flanneld lease for ", host_or_this(host));
                opt(out, "iface", lease.iface.as_ref());
                opt(out, "public-ip", lease.public_ip.as_ref().map(Shown));
                opt(
                    out,
                    "subnet-file",
                    lease.subnet_file.as_deref().map(Commented),
                );
                opt(out, "ttl", lease.ttl_secs);
            }
            FlannelOp::Release { host } => {
                put!(out, "# netsh: release the lease of ", host_or_this(host))
            }
            FlannelOp::Overlay { host, overlay } => {
                put!(
                    out,
                    "# netsh: run the ",
                    overlay.backend.map_or("configured", BackendType::name),
                    " overlay for ",
                    host_or_this(host)
                );
                opt(out, "vni", overlay.vni);
                opt(out, "port", overlay.port);
                flag(out, " direct-routing", overlay.direct_routing);
            }
            FlannelOp::DockerOpts { host, opts } => {
                put!(out, InNs(host), "mk-docker-opts.sh");
                flag(out, " -c", opts.combined);
                opt(out, "-d", opts.file.as_deref().map(Quoted));
                opt(out, "-k", opts.key.as_deref().map(Quoted));
                flag(out, " -m", opts.no_masq);
            }
        }
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            FlannelOp::DockerOpts { .. } => false,
            FlannelOp::Store(_)
            | FlannelOp::Config { .. }
            | FlannelOp::Lease { .. }
            | FlannelOp::Release { .. }
            | FlannelOp::Overlay { .. } => true,
        }
    }
}

/// `this host` when an Op names no host.
fn host_or_this(host: &Ns) -> &str {
    host.as_deref().unwrap_or("this host")
}
