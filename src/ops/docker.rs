//! Docker: networks, containers and the default bridge, as Docker's drivers would make them.

use super::{Name, Ns};
use ipnet::IpNet;
use std::net::IpAddr;

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

#[derive(Clone, Debug, PartialEq)]
pub enum DockerOp {
    NetworkCreate { host: Ns, network: Box<Network> },
    NetworkRm { host: Ns, name: Name },
    Container { host: Ns, container: Box<Container> },
    Bridge { host: Ns, bridge: Box<DockerBridge> },
}
