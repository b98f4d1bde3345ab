//! Ops: the typed operations a script evaluates to. An Op says *what* to do; the runtime does it (and
//! records how to undo it), and `--dry-run` prints it as the equivalent iproute2, bridge, sysctl or
//! etcdctl command (render.rs). Keeping the two apart is what makes dry runs, rollback and `dump` cheap.

mod render;
pub mod script;

pub use render::{Mac, format_mac, shell_quote};

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// A namespace, link or sysctl name in an Op. Names are short (a link's at most 15 bytes), so they
/// are kept inline: building an Op for the usual statement allocates nothing for its names.
pub type Name = compact_str::CompactString;

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// The namespace an Op acts in: `None` is the one netsh runs in.
pub type Ns = Option<Name>;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteAction {
    Add,
    Replace,
    Del,
}

impl RouteAction {
    /// The word `ip route` and netsh's `route` statement use for it.
    pub fn word(self) -> &'static str {
        match self {
            RouteAction::Add => "add",
            RouteAction::Replace => "replace",
            RouteAction::Del => "del",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dest {
    Default(Family),
    Net(IpNet),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub dest: Dest,
    pub via: Option<IpAddr>,
    pub dev: Option<Name>,
    pub onlink: bool,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub src: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdbAction {
    Add,
    Append,
    Del,
}

impl FdbAction {
    /// The word `bridge fdb` and netsh's `fdb` statement use for it.
    pub fn word(self) -> &'static str {
        match self {
            FdbAction::Add => "add",
            FdbAction::Append => "append",
            FdbAction::Del => "del",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Reach,
    NoReach,
    /// Holds when the answer's status is `status` (any 2xx when `None`) and its body contains
    /// `contains`.
    Http {
        url: String,
        contains: String,
        status: Option<u16>,
    },
}

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

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Network {
    pub name: String,
    pub driver: String,
    pub parent: Option<String>,
    pub mode: Option<String>,
    pub subnets: Vec<IpNet>,
    pub ip_ranges: Vec<IpNet>,
    pub gateways: Vec<IpAddr>,
    /// `NAME=IP` reservations.
    pub aux: Vec<(String, IpAddr)>,
    pub internal: bool,
    pub ipv6: bool,
    pub ndp_proxy: bool,
    pub global: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Container {
    pub name: String,
    /// `None`: the host's default bridge, docker0.
    pub network: Option<String>,
    pub ip: Option<IpAddr>,
    pub ip6: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct DockerBridge {
    pub bip: Option<IpNet>,
    pub fixed_cidr_v6: Option<IpNet>,
    pub mtu: Option<u32>,
}

/// The kinds of object `exists KIND TARGET` asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Link,
    Netns,
    Addr,
    Route,
}

impl ObjectKind {
    /// The words the language uses for them.
    pub const WORDS: &'static [&'static str] = &["link", "netns", "addr", "route"];

    pub fn from_word(word: &str) -> Option<ObjectKind> {
        Some(match word {
            "link" => ObjectKind::Link,
            "netns" => ObjectKind::Netns,
            "addr" => ObjectKind::Addr,
            "route" => ObjectKind::Route,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Link => "link",
            ObjectKind::Netns => "netns",
            ObjectKind::Addr => "addr",
            ObjectKind::Route => "route",
        }
    }
}

/// One operation. `ns` is where it acts (for lab statements: the host).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    NetnsAdd {
        name: Name,
    },
    NetnsDel {
        name: Name,
    },
    NetnsList,
    LinkAdd {
        ns: Ns,
        name: Name,
        kind: LinkKind,
    },
    LinkSet {
        ns: Ns,
        name: Name,
        change: Box<LinkChange>,
    },
    LinkDel {
        ns: Ns,
        name: Name,
    },
    AddrAdd {
        ns: Ns,
        dev: Name,
        addr: IpNet,
        nodad: bool,
    },
    AddrDel {
        ns: Ns,
        dev: Name,
        addr: IpNet,
    },
    Route {
        ns: Ns,
        action: RouteAction,
        route: Box<Route>,
    },
    NeighAdd {
        ns: Ns,
        addr: IpAddr,
        lladdr: [u8; 6],
        dev: Name,
        permanent: bool,
        router: bool,
    },
    NeighDel {
        ns: Ns,
        addr: IpAddr,
        dev: Name,
    },
    /// A kernel proxy-NDP entry (NTF_PROXY) for one address.
    NeighProxyAdd {
        ns: Ns,
        addr: Ipv6Addr,
        dev: Name,
    },
    NeighProxyDel {
        ns: Ns,
        addr: Ipv6Addr,
        dev: Name,
    },
    Fdb {
        ns: Ns,
        action: FdbAction,
        mac: [u8; 6],
        dev: Name,
        dst: Option<IpAddr>,
    },
    SysctlSet {
        ns: Ns,
        key: Name,
        value: Name,
    },
    SysctlShow {
        ns: Ns,
        key: Name,
    },
    /// Run a program; `capture` keeps its output as the statement's value (`let x = exec ...`).
    Exec {
        ns: Ns,
        argv: Vec<String>,
    },
    Show {
        ns: Ns,
        what: String,
        json: bool,
    },
    Echo(String),
    Ping {
        from: Ns,
        target: String,
        src: Option<IpAddr>,
        count: u32,
        timeout: f64,
    },
    Expect {
        from: Ns,
        target: String,
        src: Option<IpAddr>,
        timeout: f64,
        check: Check,
    },
    ServeHttp {
        ns: Ns,
        port: u16,
        text: String,
    },
    /// Answer Neighbour Solicitations for a whole prefix on `dev` (a running service).
    NdpResponder {
        ns: Ns,
        prefix: IpNet,
        dev: Name,
    },
    Dump {
        ns: Ns,
    },
    Wait,
    StoreSelect(StoreSpec),
    /// Store flannel's network config (JSON as flannel writes it) under `<prefix>/config`.
    NetworkConfig {
        prefix: String,
        json: String,
    },
    LeaseAcquire {
        host: Ns,
        lease: Box<Lease>,
    },
    LeaseRelease {
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
    NetworkCreate {
        host: Ns,
        network: Box<Network>,
    },
    NetworkRm {
        host: Ns,
        name: Name,
    },
    ContainerAdd {
        host: Ns,
        container: Box<Container>,
    },
    DockerBridge {
        host: Ns,
        bridge: Box<DockerBridge>,
    },
}

impl Op {
    /// `ip link set NAME up`: what every link a statement makes needs last.
    pub fn link_up(ns: &Ns, name: &str) -> Op {
        Op::LinkSet {
            ns: ns.clone(),
            name: name.into(),
            change: Box::new(LinkChange {
                up: Some(true),
                ..Default::default()
            }),
        }
    }

    /// Does this Op change anything (as opposed to showing or checking)?
    pub fn changes_state(&self) -> bool {
        match self {
            Op::NetnsList
            | Op::SysctlShow { .. }
            | Op::Show { .. }
            | Op::Echo(_)
            | Op::Ping { .. }
            | Op::Expect { .. }
            | Op::Dump { .. }
            | Op::Wait
            | Op::DockerOpts { .. } => false,
            Op::NetnsAdd { .. }
            | Op::NetnsDel { .. }
            | Op::LinkAdd { .. }
            | Op::LinkSet { .. }
            | Op::LinkDel { .. }
            | Op::AddrAdd { .. }
            | Op::AddrDel { .. }
            | Op::Route { .. }
            | Op::NeighAdd { .. }
            | Op::NeighDel { .. }
            | Op::NeighProxyAdd { .. }
            | Op::NeighProxyDel { .. }
            | Op::Fdb { .. }
            | Op::SysctlSet { .. }
            | Op::Exec { .. }
            | Op::ServeHttp { .. }
            | Op::NdpResponder { .. }
            | Op::StoreSelect(_)
            | Op::NetworkConfig { .. }
            | Op::LeaseAcquire { .. }
            | Op::LeaseRelease { .. }
            | Op::Overlay { .. }
            | Op::NetworkCreate { .. }
            | Op::NetworkRm { .. }
            | Op::ContainerAdd { .. }
            | Op::DockerBridge { .. } => true,
        }
    }
}
